"""The executor against a real stdio server: reuse, timeouts, crashes, huge results, sandboxes."""

from __future__ import annotations

import sys

import anyio

from firefly.connect import Endpoint
from firefly.explore.executor import Executor
from firefly.explore.sandbox import Sandbox

from .conftest import SERVERS


def endpoint_for(server: str, sandbox: Sandbox | None) -> Endpoint:
    args = [str(SERVERS / "toy.py")]
    if server == "missing":
        return Endpoint(name=server, transport="stdio", command="firefly-no-such-command", args=[])
    if server == "secretive":  # as resolve() makes it: env values are secrets
        return Endpoint(name=server, transport="stdio", command=sys.executable, args=args,
                        env={"TOY_SECRET": "sekret-value-123"}, secret_values=["sekret-value-123"])
    return Endpoint(name=server, transport="stdio", command=sys.executable, args=args)


def run(coro_fn):
    return anyio.run(coro_fn)


def test_session_reuse_timeout_crash_restart_and_caps():
    async def main():
        async with Executor(endpoint_for, call_timeout=2, connect_timeout=20, max_result_bytes=1000) as ex:
            a = await ex.call("toy", "list_notes", {})
            b = await ex.call("toy", "list_notes", {})
            assert a.ok and b.ok and a.content[0]["text"] == b.content[0]["text"]  # same process (pid)
            note = await ex.call("toy", "read_note", {"title": "groceries"})
            assert note.structured == {"text": "eggs, milk"} and note.content == [{"type": "text", "text": "eggs, milk"}]
            missing = await ex.call("toy", "read_note", {"title": "nope"})
            assert missing.is_error and missing.error_class is None  # a tool-level error is a result
            slow = await ex.call("toy", "sleep", {"seconds": 30})
            assert slow.error_class == "timeout" and "2s" in slow.error
            after = await ex.call("toy", "list_notes", {})
            assert after.ok and after.content[0]["text"] != a.content[0]["text"]  # restarted: new pid
            crashed = await ex.call("toy", "crash", {})
            assert crashed.error_class in ("server-died", "timeout"), crashed
            again = await ex.call("toy", "list_notes", {})
            assert again.ok
            assert ex.restarts == 2
            big = await ex.call("toy", "big", {"n": 50_000})
            assert big.ok and big.truncated and big.result_bytes > 50_000
            assert len(big.content[0]["text"]) < 1200 and "result truncated" in big.content[0]["text"]
            unknown = await ex.call("toy", "no_such_tool", {})
            assert unknown.error_class is None and unknown.is_error or unknown.error_class == "protocol-error"
            down = await ex.call("missing", "x", {})
            assert down.error_class == "server-unavailable" and "not found" in down.error

    run(main)


def test_a_20_mb_result_is_capped_with_its_full_size_recorded():
    async def main():
        async with Executor(endpoint_for, call_timeout=280, connect_timeout=20, max_result_bytes=64_000) as ex:
            big = await ex.call("toy", "big", {"n": 20_000_000})
            assert big.ok and big.truncated and big.result_bytes > 20_000_000
            text = big.content[0]["text"]
            assert len(text) < 65_000 and text.endswith("more bytes]") and "19936" in text  # omitted bytes named

    run(main)


def test_concurrent_calls_share_one_session():
    async def main():
        async with Executor(endpoint_for, per_server=3, call_timeout=10, connect_timeout=20) as ex:
            results = []

            async def one(i):
                results.append(await ex.call("toy", "echo", {"text": f"hello {i}"}))

            async with anyio.create_task_group() as tg:
                for i in range(12):
                    tg.start_soon(one, i)
            assert sorted(r.content[0]["text"] for r in results) == sorted(f"hello {i}" for i in range(12))
            assert len(ex._sessions) == 1

    run(main)


def test_sandbox_paths_are_virtual_and_secrets_scrubbed(tmp_path):
    sandbox = Sandbox(tmp_path / "ws")
    (tmp_path / "ws").mkdir()

    async def main():
        async with Executor(endpoint_for, workspace_bound={"toy"}, connect_timeout=20) as ex:
            out = await ex.call("toy", "echo", {"text": "/workspace/files/a.md"}, sandbox=sandbox)
            assert out.content[0]["text"] == "/workspace/files/a.md"  # mapped to real and back
            secret = await ex.call("secretive", "echo", {"text": "value sekret-value-123 here"})
            assert secret.content[0]["text"] == "value [secret] here"

    run(main)
    assert sandbox.to_real({"p": ["/workspace/x"]}) == {"p": [f"{tmp_path}/ws/x"]}
    assert sandbox.to_virtual(f"see {tmp_path}/ws/x") == "see /workspace/x"
