"""The stricter verifiers (error-free, no-padding, fails-before, wording, diverse), value
normalisation in matching, the environment's reward for a needed setup, the quality report
and the optional LLM judge. For each verifier a task that fails it and one that passes it."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from firefly.env import FireflyEnv
from firefly.events import DagSampled, DagTool, ExplorationFinished, ExplorationStarted, ToolCalled
from firefly.ids import content_hash
from firefly.llm import LLM, LLMConfig
from firefly.match import matches, normalize
from firefly.report import status_json
from firefly.simulator import Simulator
from firefly.synth import assign_splits, synthesize
from firefly.synth.diversity import DiversityCap, masked_question
from firefly.synth.judge import CRITERIA, MalformedJudgement, TaskJudge, parse_judgement
from firefly.synth.model import Exploration, Step, Task, load_exploration
from firefly.store import Store
from firefly.synth.verify import check_error_free, check_fails_before, check_no_padding, check_wording, verify

from .openai_stub import ScriptedOpenAI
from .synth_fixtures import shop_world, text


@pytest.fixture
def world(store):
    return shop_world(store)


def step(n: int, server: str, tool: str, arguments: dict, content: list, *, ok: bool = True, read_only: bool = True,
         structured=None) -> Step:
    return Step(n, server, tool, arguments, content, structured, ok, read_only, [], "s")


def task(trajectory: list[Step], *, question: str = "q?", answer=1, provenance=None, probe=None,
         kind: str = "lookup", derivation=None, match=None) -> Task:
    return Task(task_id="t1", exploration_id="x1", dag_id="d1", kind=kind, question=question, answer=answer,
                match=match or {"rule": "number"}, trajectory=[s.call() for s in trajectory], probe=probe,
                provenance=provenance if provenance is not None else [{"step": trajectory[-1].step, "path": "$",
                                                                        "value": answer, "role": "answer"}],
                derivation=derivation or {"op": "value"})


def by_step(store, xid: str) -> dict[int, Step]:
    x = load_exploration(store, xid)
    assert x is not None
    return x.by_step()


# ------------------------------------------------------------------------------- error-free


def test_error_free_fails_an_error_taken_for_a_result_and_passes_a_clean_one():
    bad = step(0, "db", "read_query", {"query": "SELECT 1"}, text("Error: no such table: prices"))
    inner = step(1, "db", "read_query", {"query": "SELECT 2"}, text(json.dumps({"status": "error", "message": "x"})))
    good = step(2, "db", "read_query", {"query": "SELECT 3"}, text("[{'n': 3}]"))
    x = Exploration("x1", "d1", [bad, inner, good])
    ok, reasons = check_error_free(task([bad]), x)
    assert not ok and "no such table" in reasons[0]
    ok, reasons = check_error_free(task([inner, good]), x)
    assert not ok and "status: error" in reasons[0]
    ok, _ = check_error_free(task([good]), x)
    assert ok


# ------------------------------------------------------------------------------- no padding


def test_no_padding_fails_a_setup_the_label_does_not_need_and_passes_a_needed_one(world):
    sim = Simulator.open(world, mode="strict")
    git, mem, sql = by_step(world, "xgit"), by_step(world, "xmem"), by_step(world, "xsql")
    # a question about the sqlite tables asked after a git branch is made: the branch changes nothing
    padded = task([git[2], sql[0]], answer="products", match={"rule": "normalized"},
                  provenance=[{"step": 0, "path": "$.content[0].text#json=$[1].name", "value": "products",
                               "role": "answer"}])
    ok, reasons = check_no_padding(padded, sim, None)
    assert not ok and "git/git_create_branch is not needed" in reasons[0] and "reproduced" in reasons[0]
    # Ada Park is opened after she was created: the creation is needed (the label shows her)
    opened = task([mem[1], mem[2]], answer="person", question="q",
                  provenance=[{"step": 2, "path": "$.structured_content.entities[0].entityType", "value": "person",
                               "role": "answer"}], match={"rule": "normalized"})
    x = load_exploration(world, "xmem")
    ok, reasons = check_no_padding(opened, sim, x)
    assert ok and "is needed" in reasons[0]


def test_every_change_a_state_change_asks_for_must_be_checked(world):
    sim = Simulator.open(world, mode="strict")
    git, mem = by_step(world, "xgit"), by_step(world, "xmem")
    probe = {"server": "git", "tool": "git_branch", "arguments": git[3].arguments, "expected": "feature/spring"}
    prov = [{"step": 3, "path": "$", "value": "feature/spring", "role": "probe"}]
    both = task([git[2], mem[1]], kind="state-change", answer="feature/spring", probe=probe, provenance=prov,
                match={"rule": "json-subset"}, derivation={"op": "probe"})
    ok, reasons = check_no_padding(both, sim, None)
    assert not ok and any("memory/create_entities is not needed" in r for r in reasons)
    one = task([git[2]], kind="state-change", answer="feature/spring", probe=probe, provenance=prov,
               match={"rule": "json-subset"}, derivation={"op": "probe"})
    assert check_no_padding(one, sim, None)[0]


def _effect_then_read(store, xid: str, effect: tuple[str, str, dict, str], read: tuple[str, str, dict, str]) -> None:
    """An exploration of two calls: an effect (server, tool, arguments, result text), then a
    read recorded only in the world after it."""
    (es, et, ea, er), (rs, rt, ra, rr) = effect, read
    store.append(DagSampled(dag_id="d" + xid, tools=[DagTool(server=es, name=et, schema_hash="h"),
                                                      DagTool(server=rs, name=rt, schema_hash="h")],
                            edges=[(0, 1)], sampler="test", index=9))
    store.append(ExplorationStarted(exploration_id=xid, dag_id="d" + xid, policy="offline",
                                    tools=[f"{es}/{et}", f"{rs}/{rt}"]))
    store.append(ToolCalled(exploration_id=xid, step=0, server=es, tool=et, arguments=ea, arguments_hash=content_hash(ea),
                            content=text(er), read_only=False, state=content_hash([])))
    made = json.dumps([es, et, content_hash(ea)], separators=(",", ":"))
    store.append(ToolCalled(exploration_id=xid, step=1, server=rs, tool=rt, arguments=ra, arguments_hash=content_hash(ra),
                            read_only=True, state=content_hash([made]), content=text(rr)))
    store.append(ExplorationFinished(exploration_id=xid, calls=2, successes=2, errors=0))


def test_synthesis_leaves_out_a_setup_the_label_does_not_need(store):
    shop_world(store)
    _effect_then_read(store, "xmix", ("git", "git_create_branch", {"repo_path": "/workspace/repo", "branch_name": "feature/summer"},
                                      "Created branch 'feature/summer'"),
                      ("sqlite", "list_tables", {}, "[{'name': 'customers'}, {'name': 'products'}, {'name': 'orders'}]"))
    synthesize(store, max_tasks=50)
    _asked_without_setup(store, "xmix", "summer", "list_tables")


def _asked_without_setup(store, xid: str, setup_word: str, tool: str) -> None:
    """The questions of an exploration (not its state changes, nor an action: the effect
    itself asked for) exist, none names the setup, and each one's trajectory is the label's
    call alone."""
    asked = store.conn.execute("SELECT question, trajectory FROM tasks WHERE exploration_id = ?"
                               " AND kind NOT IN ('state-change', 'action')", (xid,)).fetchall()
    assert asked
    for question, trajectory in asked:
        assert setup_word not in question, question
        assert [c["tool"] for c in json.loads(trajectory)] == [tool]


def test_synthesis_leaves_out_a_setup_on_something_else_the_label_was_only_recorded_after(store):
    # the read was recorded only after an entity was made that it does not name: the
    # simulator answers it without that effect (unrelated), so the setup is left out
    shop_world(store)
    made = [{"name": "Exploration note 12", "entityType": "note", "observations": ["seen"]}]
    node = {"entities": [{"name": "Maya Okafor", "entityType": "person", "observations": ["Roasts the beans"]}],
            "relations": []}
    _effect_then_read(store, "xnode", ("memory", "create_entities", {"entities": made}, json.dumps(made)),
                      ("memory", "open_nodes", {"names": ["Maya Okafor"]}, json.dumps(node)))
    synthesize(store, max_tasks=50)
    _asked_without_setup(store, "xnode", "note 12", "open_nodes")

# ------------------------------------------------------------------------------- fails before


def test_a_label_that_holds_before_the_change_fails_and_one_that_does_not_passes(world):
    sim = Simulator.open(world, mode="strict")
    mem, git = by_step(world, "xmem"), by_step(world, "xgit")
    graph = {"server": "memory", "tool": "read_graph", "arguments": {}, "expected": {"entities": [{"name": "Maya Okafor"}]}}
    stale = task([mem[1]], kind="state-change", answer=graph["expected"], probe=graph,
                 provenance=[{"step": 0, "path": "$", "value": graph["expected"], "role": "probe"}],
                 match={"rule": "json-subset"}, derivation={"op": "probe"})
    ok, reasons = check_fails_before(stale, sim)
    assert not ok and "already holds before the change" in reasons[0]
    # a removal whose probe was never seen before it: a label of presence proves nothing
    nodes = {"server": "memory", "tool": "open_nodes", "arguments": {"names": ["Ada Park"]},
             "expected": {"entities": [{"name": "Ada Park"}]}}
    removal = Task(**{**stale.__dict__, "probe": nodes, "answer": nodes["expected"],
                      "trajectory": [dict(mem[1].call(), tool="delete_entities")]})
    ok, reasons = check_fails_before(removal, sim)
    assert not ok and "removes something" in reasons[0]
    branch = {"server": "git", "tool": "git_branch", "arguments": git[3].arguments, "expected": "feature/spring"}
    made = task([git[2]], kind="state-change", answer="feature/spring", probe=branch,
                provenance=[{"step": 3, "path": "$", "value": "feature/spring", "role": "probe"}],
                match={"rule": "json-subset"}, derivation={"op": "probe"})
    ok, reasons = check_fails_before(made, sim)
    assert ok and "introduced" in reasons[0]
    assert check_fails_before(task([git[0]]), sim) == (True, ["not a state change"])
    # the same label, when a result before the change already showed the branch: no proof
    from firefly.synth.necessity import before_change

    shown = {0: (text("* main\n  feature/spring"), None)}
    ok, why = before_change(made, _Unrecorded(), shown)
    assert not ok and "shows nothing the change stated" in why
    assert before_change(made, _Unrecorded(), {})[0]


# ------------------------------------------------------------------------------- wording


def test_a_folder_called_a_file_fails_the_wording_check():
    listing = step(0, "fs", "list_directory", {"path": "/workspace/files"},
                   text("[DIR] notes\n[FILE] todo.md"))
    info = step(1, "fs", "get_file_info", {"path": "/workspace/files/notes"}, text("size: 4096\ntype: directory"))
    x = Exploration("x1", "d1", [listing, info])
    ok, reasons = check_wording(task([info], question="How large is the file notes, in bytes?"), x)
    assert not ok and "'notes'" in reasons[0]
    assert check_wording(task([info], question='What size does the folder "notes" have?'), x)[0]
    assert check_wording(task([info], question="How large is the file todo.md?"), x)[0]


# ------------------------------------------------------------------------------- diversity


def test_masked_questions_and_the_diversity_caps():
    log = step(0, "git", "git_log", {"repo_path": "/workspace/repo", "max_count": 5}, text("..."))
    other = step(0, "git", "git_log", {"repo_path": "/workspace/repo", "max_count": 7}, text("..."))

    def ask(tid: str, s: Step, question: str, answer) -> Task:
        return Task(**{**task([s], question=question, answer=answer).__dict__, "task_id": tid})

    a = ask("a", log, 'Who authored the commit "Release 0.2.0" in the last 5 commits of /workspace/repo?', "Daniel")
    b = ask("b", other, 'Who authored the commit "Fix typo" in the last 7 commits of /workspace/repo?', "Maya")
    assert masked_question(a) == masked_question(b) == "who authored the commit <v> in the last <v> commits of <v>"
    cap = DiversityCap(per_template=2, per_tool_answer=5)
    for t in (a, b):
        assert cap.check(t)[0]
        cap.add(t)
    ok, reasons = cap.check(ask("c", log, 'Who authored the commit "Other" in the last 5 commits of /workspace/repo?', "Zoe"))
    assert not ok and "2 task(s) kept before" in reasons[0]
    twin = DiversityCap(per_template=9, per_tool_answer=9)
    twin.add(a)
    ok, reasons = twin.check(ask("d", log, 'Who authored the commit "Other" in the last 5 commits of /workspace/repo?', "Daniel"))
    assert not ok and "same masked question and answer" in reasons[0]
    pairs = DiversityCap(per_template=9, per_tool_answer=1)
    pairs.add(a)
    assert not pairs.check(ask("e", log, "Which author appears most often in the log of /workspace/repo?", "Daniel"))[0]
    assert pairs.check(ask("f", log, "Which author appears most often in the log of /workspace/repo?", "Maya"))[0]



def test_the_diverse_verifier_keeps_a_tool_no_kept_task_calls_before_a_third_task_of_a_tool():
    from firefly.synth.verify import EveryTask

    def ask(tid: str, tool: str, name: str, answer) -> Task:
        s = step(0, "db", tool, {"table": name}, text("..."))
        return Task(**{**task([s], question=f'How many rows does the table "{name}" have?', answer=answer).__dict__,
                       "task_id": tid})

    # one template; a1 and a2 rank before b (shorter questions) and call the same tool
    a1, a2, b = ask("a1", "count_rows", "t1", 4), ask("a2", "count_rows", "t2", 5), ask("b", "table_size", "orders2", 6)
    every = EveryTask(None, {}, 0.9, per_template=2, per_tool_answer=9)
    every.survivors = [a1, a2, b]
    passed, events = every.diverse()
    assert passed == {"a1": True, "a2": False, "b": True}
    fell = next(e for e in events if e.task_id == "a2")
    assert "2 task(s) kept before" in fell.reasons[0]

def test_verify_keeps_the_best_tasks_of_a_template_and_records_why_the_rest_fell(world):
    synthesize(world, max_tasks=50)
    report = verify(world, per_template=1, per_tool_answer=100)
    assert report.verified and report.rejected["diverse"]
    templates = [t for (t,) in world.conn.execute(
        "SELECT json_extract(params, '$.template') FROM verdicts WHERE verifier = 'diverse' AND passed = 1")]
    assert len(templates) == len(set(templates)) == report.verified
    again = verify(world, per_template=1, per_tool_answer=100)
    assert again.tasks == 0


def verified_and_global_verdicts(store) -> tuple[list, list]:
    return (store.conn.execute("SELECT task_id, verified FROM tasks ORDER BY task_id").fetchall(),
            store.conn.execute("SELECT task_id, verifier, passed, reasons, params FROM verdicts"
                               " ORDER BY task_id, verifier").fetchall())


def synthesized(path) -> Store:
    store = Store.open(path)
    shop_world(store)
    synthesize(store, max_tasks=50)
    return store


def without_corrects(verdicts: list[tuple]) -> list[tuple]:
    """Verdict rows with the verdict a correction replaced left out of their parameters."""
    return [row[:4] + ({k: v for k, v in json.loads(row[4]).items() if k != "corrects"},) for row in verdicts]


# a low threshold makes the similar questions of the shop world duplicates; one task per template
CAPS = {"threshold": 0.7, "per_template": 1, "per_tool_answer": 100}


def test_verifying_in_passes_gives_the_verdicts_of_one_pass(tmp_path):
    with synthesized(tmp_path / "one.db") as one, synthesized(tmp_path / "passes.db") as passes:
        whole = verify(one, **CAPS)
        assert whole.rejected["not-duplicate"] and whole.rejected["diverse"] and not whole.corrected
        ids = [t for (t,) in passes.conn.execute("SELECT task_id FROM tasks ORDER BY task_id")]
        corrected: Counter = Counter()
        for part in (set(ids[2::3]), set(ids[1::3]), None):  # the later tasks first: the earlier ones come after
            corrected += verify(passes, only=part, **CAPS).corrected
        assert corrected["not-duplicate"] and corrected["diverse"]  # earlier passes' verdicts were re-decided
        got, expected = verified_and_global_verdicts(passes), verified_and_global_verdicts(one)
        assert got[0] == expected[0]  # the same verified tasks
        assert without_corrects(got[1]) == without_corrects(expected[1])  # every verdict, reasons and parameters
        assert verify(passes, **CAPS).tasks == 0  # nothing left: nothing written
        assert passes.conn.execute("SELECT count(*) FROM events WHERE type = 'task-verdict'").fetchone()[0] == \
            one.conn.execute("SELECT count(*) FROM events WHERE type = 'task-verdict'").fetchone()[0] + sum(corrected.values())


def test_a_verdict_the_whole_set_changes_is_a_new_event_and_the_latest_is_shown(tmp_path):
    with synthesized(tmp_path / "w.db") as store:
        ids = [t for (t,) in store.conn.execute("SELECT task_id FROM tasks ORDER BY task_id")]
        verify(store, only=set(ids[len(ids) // 2:]), **CAPS)
        assign_splits(store, test_fraction=0.5)
        sides = dict(store.conn.execute("SELECT task_id, split FROM tasks WHERE split IS NOT NULL").fetchall())
        before = store.conn.execute("SELECT position, payload FROM events WHERE type = 'task-verdict'").fetchall()
        first = {(json.loads(p)["task_id"], json.loads(p)["verifier"]): json.loads(p) for _, p in before}
        report = verify(store, **CAPS)
        assert report.corrected["not-duplicate"]
        assert store.conn.execute("SELECT position, payload FROM events WHERE type = 'task-verdict'"
                                  f" AND position <= {before[-1][0]}").fetchall() == before  # nothing edited
        flipped = [json.loads(p) for (p,) in store.conn.execute(
            "SELECT payload FROM events WHERE type = 'task-verdict' AND json_extract(payload, '$.version') = 1")]
        assert sum(1 for e in flipped if e["verifier"] == "not-duplicate") == report.corrected["not-duplicate"]
        for e in flipped:
            was = first[(e["task_id"], e["verifier"])]
            assert e["params"]["corrects"] == {"passed": was["passed"], "reasons": was["reasons"]}
            assert (e["passed"], e["reasons"]) != (was["passed"], was["reasons"])
            shown = store.conn.execute("SELECT passed, reasons FROM verdicts WHERE task_id = ? AND verifier = ?",
                                       (e["task_id"], e["verifier"])).fetchone()
            assert (bool(shown[0]), json.loads(shown[1])) == (e["passed"], e["reasons"])  # the latest wins
        now_duplicate = next(e for e in flipped if e["verifier"] == "not-duplicate" and not e["passed"])
        assert "same label" in now_duplicate["reasons"][0] or "similar to" in now_duplicate["reasons"][0]
        assert store.conn.execute("SELECT verified FROM tasks WHERE task_id = ?",
                                  (now_duplicate["task_id"],)).fetchone() == (0,)  # no longer verified
        assert first[(now_duplicate["task_id"], "not-duplicate")]["passed"]
        now = {t: (v, side) for t, v, side in store.conn.execute("SELECT task_id, verified, split FROM tasks")}
        lost = [t for t in sides if now[t][0] == 0]
        assert sides and lost and all(now[t][1] is None for t in lost)  # a task no longer verified has no side
        shown = verified_and_global_verdicts(store)
        store.rebuild()
        assert verified_and_global_verdicts(store) == shown  # replaying the log gives the same


def test_a_verification_stopped_before_its_diverse_verdicts_is_finished_by_the_next_run(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from firefly.cli import app
    from firefly.synth.verify import EveryTask, lacking

    with synthesized(tmp_path / "one.db") as one:
        verify(one)
        expected = verified_and_global_verdicts(one)
    with synthesized(tmp_path / "stopped.db") as store:
        def stop(self):
            raise KeyboardInterrupt

        with monkeypatch.context() as m:
            m.setattr(EveryTask, "diverse", stop)
            with pytest.raises(KeyboardInterrupt):
                verify(store)
        store.catch_up()
        assert store.conn.execute("SELECT count(*) FROM tasks WHERE verified IS NULL").fetchone() == (0,)
        assert len(lacking(store)) == store.conn.execute("SELECT count(*) FROM tasks").fetchone()[0]  # no diverse
    result = CliRunner().invoke(app, ["verify", "--db", str(tmp_path / "stopped.db")])
    assert result.exit_code == 0 and "No tasks left" not in result.output, result.output
    with Store.open(tmp_path / "stopped.db") as store:
        assert verified_and_global_verdicts(store) == expected


# ------------------------------------------------------------------------------- normalisation


@pytest.mark.parametrize(("match", "expected", "got", "ok"), [
    ({"rule": "normalized"}, "34 B", "34", True),
    ({"rule": "normalized"}, "34 B", "34 bytes", True),
    ({"rule": "normalized"}, "34 B", "35", False),
    ({"rule": "normalized"}, "1.36 KB", "1393", True),
    ({"rule": "normalized"}, 36.447500000000005, "36.4475", True),
    ({"rule": "normalized"}, "Daniel  Brandt\n", "daniel brandt", True),
])
def test_values_are_normalised_before_matching(match, expected, got, ok):
    assert matches(match, expected, got) is ok


def test_float_noise_is_gone_from_the_normal_form():
    assert normalize(36.447500000000005) == "36.4475" and normalize(3.0) == "3"


# ------------------------------------------------------------------------------- the environment


def test_a_needed_setup_is_needed_for_the_reward(world):
    synthesize(world, max_tasks=50)
    verify(world, per_template=100, per_tool_answer=100)
    row = world.conn.execute(
        "SELECT task_id, answer, trajectory FROM tasks WHERE verified = 1 AND kind != 'state-change'"
        " AND template LIKE '%+setup' ORDER BY task_id").fetchone()
    assert row is not None
    tid, answer, trajectory = row[0], json.loads(row[1]), json.loads(row[2])
    with FireflyEnv(world.path) as env:
        env.reset(tid)
        out = env.step(final_answer=json.dumps(answer) if not isinstance(answer, str) else answer)
        assert out.reward == 0.0  # the right answer, but the change asked for first was never made
        env.reset(tid)
        calls = [{"id": f"c{i}", "name": env.function_name(c["server"], c["tool"]), "arguments": c["arguments"]}
                 for i, c in enumerate(trajectory)]
        env.step(tool_calls=calls)
        out = env.step(final_answer=json.dumps(answer) if not isinstance(answer, str) else answer)
        assert out.reward == 1.0


def test_a_setup_call_recorded_as_changing_nothing_is_done_when_the_episode_made_it():
    # a shell tool (not known to be read-only) ran `head`: recorded read-only, so the simulator
    # keeps no effect of it; the episode that made the call has made the task's setup
    from types import SimpleNamespace

    from firefly.env import setup_done
    from firefly.synth.model import Task

    setup = {"step": 0, "server": "sh", "tool": "shell_execute", "arguments": {"command": "head -n 5 a.md"}}
    read = {"step": 1, "server": "sh", "tool": "read_output", "arguments": {"output_id": "o1"}}
    task = Task("t", "x", "d", "lookup", "q", 141, {"rule": "number"}, [setup, read], None,
                [{"step": 1, "path": "$.size", "value": 141}], {"op": "value"})

    def episode(made: bool, read_only: bool, effects=()):
        result = SimpleNamespace(meta={"read_only": read_only, "arguments_hash": "sha256:recorded"})
        return SimpleNamespace(effects=list(effects), sim=SimpleNamespace(tools_of=lambda server: [
            SimpleNamespace(server="sh", name="shell_execute", read_only=False)]),
            returned=lambda server, tool, args: result if made and tool == "shell_execute" else None)

    assert setup_done(task, episode(made=True, read_only=True))
    assert not setup_done(task, episode(made=False, read_only=True))  # never made
    assert not setup_done(task, episode(made=True, read_only=False))  # a change the world does not show
    # a change answered from a record of the same call written otherwise (its defaults left out):
    # the episode's effect carries that record's hash
    assert setup_done(task, episode(made=True, read_only=False, effects=[("sh", "shell_execute", "sha256:recorded")]))


# ------------------------------------------------------------------------------- quality report


def test_status_reports_tools_needed_templates_and_rejections(world, db_path):
    synthesize(world, max_tasks=50)
    verify(world, per_template=2)
    q = status_json(world)["quality"]
    assert q["callable_tools"] == 10
    assert 0 < q["tools_needed"] <= 10 and q["tools_needed_share"] == round(q["tools_needed"] / 10, 4)
    needed = {f"{t['server']}/{t['tool']}": t["verified_tasks"] for t in q["per_tool"]}
    assert needed["git/git_log"] > 0 and set(q["tools_not_needed"]) == {k for k, n in needed.items() if not n}
    assert q["templates"] > 0 and all(t["verified_tasks"] <= 2 for t in q["top_templates"])
    assert q["rejections"]["diverse"] > 0
    from typer.testing import CliRunner

    from firefly.cli import app

    out = CliRunner().invoke(app, ["status", "--db", str(world.path)])
    assert out.exit_code == 0 and "callable tools needed by a verified task" in out.output


# ------------------------------------------------------------------------------- the LLM judge


def _verdict(passing: bool = True) -> str:
    return json.dumps({"criteria": [{"name": c, "pass": passing or c != "natural", "reason": f"{c} ok"}
                                    for c in CRITERIA]})


def test_judge_replies_are_read_leniently_and_checked_strictly():
    assert [c for c, _, _ in parse_judgement("Sure!\n```json\n" + _verdict() + "\n```")] == list(CRITERIA)
    for bad in ("", "Pair 21\nA: git/git_create_branch", '{"criteria": [{"name": "natural", "pass": "yes"}]}',
                json.dumps({"criteria": [{"name": "natural", "pass": True, "reason": "x"}]})):
        with pytest.raises(MalformedJudgement):
            parse_judgement(bad)


def test_the_llm_judge_records_verdicts_with_reasons_and_a_malformed_reply_as_a_failure(world):
    synthesize(world)
    n = world.conn.execute("SELECT count(*) FROM tasks").fetchone()[0]
    seen: list[str] = []

    def script(path: str, body: dict):
        seen.append(body["messages"][1]["content"])
        if len(seen) == 1:
            return "Pair 21\nA: this is not JSON"
        return _verdict(passing="knowledge graph" not in body["messages"][1]["content"])

    with ScriptedOpenAI(script) as srv:
        llm = LLM(LLMConfig(base_url=srv.base_url, model="judge", api_key="k", max_retries=0))
        verify(world, judge=TaskJudge(llm), per_template=100, per_tool_answer=100)
        judged = dict(world.conn.execute("SELECT task_id, reasons FROM verdicts WHERE verifier = 'judged'").fetchall())
        asked = len(srv.requests)
    assert asked == len(seen) and 0 < asked <= n
    reasons = [json.loads(r) for r in judged.values()]
    assert sum(1 for r in reasons if r[0].startswith("malformed judge reply")) == 1
    full = [r for r in reasons if len(r) == len(CRITERIA)]
    assert full and all(r[0].startswith("natural: ") for r in full)
    assert any("natural: fail" in r[0] for r in full) and any("natural: pass" in r[0] for r in full)
    head = world.head()
    verify(world, judge=TaskJudge(llm))
    assert world.head() == head  # judged once: a re-run asks nothing



def test_verify_judge_from_the_command_line_asks_the_model_with_a_bounded_reply(world):
    from typer.testing import CliRunner

    from firefly.cli import app
    from firefly.synth.judge import MAX_REPLY_TOKENS

    synthesize(world)
    world.close()
    with ScriptedOpenAI(lambda path, body: _verdict()) as srv:
        out = CliRunner().invoke(app, ["verify", "--judge", "--llm-base-url", srv.base_url, "--llm-model", "judge",
                                       "--db", str(world.path)])
        bodies = [r["json"] for r in srv.requests]
    assert out.exit_code == 0, out.output
    assert bodies and {b["max_tokens"] for b in bodies} == {MAX_REPLY_TOKENS}


class _Unrecorded:
    """A simulator that recorded nothing: every replay misses, so the label decides."""

    def episode(self):
        return self

    def call_sync(self, server, tool, arguments):
        from firefly.simulator.core import error_result

        return error_result("not recorded")


def test_a_setup_the_simulator_cannot_decide_is_needed_only_if_the_label_shows_it():
    read = step(2, "db", "read_query", {"query": "SELECT * FROM order_items WHERE id = 5"},
                text("[{'id': 5, 'quantity': 2}]"))
    update = step(1, "db", "write_query", {"query": "UPDATE order_items SET quantity = quantity + 1 WHERE id = 5"},
                  text("[{'affected_rows': 1}]"), read_only=False)
    other = step(1, "db", "create_table", {"query": "CREATE TABLE order_reviews_2 (id INTEGER)"}, text("ok"),
                 read_only=False)
    label = [{"step": 2, "path": "$", "value": 2, "role": "answer"}]
    recorded = {2: (read.content, None)}
    from firefly.synth.necessity import step_needs

    [need] = step_needs(task([update, read], answer=2, provenance=label), _Unrecorded(), recorded)
    assert need.needed and not need.removable
    [need] = step_needs(task([other, read], answer=2, provenance=label), _Unrecorded(), recorded)
    assert not need.needed and "shows nothing it did" in need.why


class _FailsWithout(_Unrecorded):
    """A simulator that recorded the read failing in the world without the slide (the
    server's in-band error: the slide did not exist yet)."""

    def call_sync(self, server, tool, arguments):
        from firefly.simulator.core import SimResult

        return SimResult(text('{"error": "Invalid slide index: 0"}'), None, True, {"source": "recorded", "position": 7})


def test_a_setup_is_needed_when_without_it_the_label_call_was_recorded_failing():
    from firefly.synth.necessity import before_change, step_needs

    add = step(1, "deck", "add_slide", {"presentation_id": "p1"},
               text('{"slide_index": 0, "layout_name": "Title and Content"}'), read_only=False)
    read = step(2, "deck", "get_slide_info", {"presentation_id": "p1", "slide_index": 0},
                text('{"layout_name": "Title and Content", "placeholder_count": 2}'))
    label = [{"step": 2, "path": "$.placeholder_count", "value": 2, "role": "answer"}]
    recorded = {2: (read.content, None)}
    [need] = step_needs(task([add, read], answer=2, provenance=label), _FailsWithout(), recorded)
    assert need.needed and need.removable and "fails there" in need.why
    # the simulator's miss decides nothing: the label (2) shows nothing add_slide did
    [need] = step_needs(task([add, read], answer=2, provenance=label), _Unrecorded(), recorded)
    assert not need.needed and "cannot be replayed" in need.why
    # a probe recorded failing before the change proves the change's label fails there
    probe = {"server": "deck", "tool": "get_slide_info", "arguments": {"presentation_id": "p1", "slide_index": 0},
             "expected": {"placeholder_count": 2}}
    change = task([add], answer={"placeholder_count": 2}, kind="state-change", probe=probe,
                  match={"rule": "json-subset"}, provenance=[{"step": 2, "path": "$", "value": 2, "role": "probe"}])
    assert before_change(change, _FailsWithout()) == (True, "before the change the probe fails there ('{\"error\": \"Invalid slide index: 0\"}'): the label fails")


class _Shifted(_Unrecorded):
    """A simulator that recorded the log in the world without the commit: five lines fewer
    above every older commit."""

    def call_sync(self, server, tool, arguments):
        from firefly.simulator.core import SimResult

        return SimResult(text("Commit: aaa\nAuthor: Ada\nDate: 2025-01-02\nMessage: Release 0.2.0\n"), None, False, {})


LOG = text("Commit: fff\nAuthor: firefly\nDate: 2025-03-01\nMessage: Exploration message\n\n"
           "Commit: aaa\nAuthor: Ada\nDate: 2025-01-02\nMessage: Release 0.2.0\n")


def test_a_setup_is_not_needed_when_without_it_the_item_the_label_names_is_only_listed_elsewhere():
    from firefly.synth.necessity import step_needs
    from firefly.synth.verify import check_replayable

    commit = step(1, "git", "git_commit", {"message": "Exploration message"}, text("ok"), read_only=False)
    log = step(2, "git", "git_log", {}, LOG)
    keyed = [{"step": 2, "path": "$.content[0].text#line=9", "value": "Release 0.2.0", "role": "key"},
             {"step": 2, "path": "$.content[0].text#line=8", "value": "2025-01-02", "role": "answer"}]
    dated = task([commit, log], answer="2025-01-02", provenance=keyed, match={"rule": "exact"})
    [need] = step_needs(dated, _Shifted(), {2: (LOG, None)})
    assert not need.needed and need.removable and "moved -5 places" in need.why
    # the task without the commit replays: its item is found where the world without it lists it
    ok, why = check_replayable(task([log], answer="2025-01-02", provenance=keyed, match={"rule": "exact"}),
                               _Shifted())
    assert ok and "moved -5 places" in why[0]
    # picked by position (the second commit listed), a moved item is another item
    placed = [dict(keyed[1], role="answer")]
    [need] = step_needs(task([commit, log], answer="2025-01-02", provenance=placed, match={"rule": "exact"}),
                        _Shifted(), {2: (LOG, None)})
    assert need.needed


class _Listed(_Unrecorded):
    """A simulator that recorded the folder's tree in the world without the written note."""

    def __init__(self, tree):
        self.tree = tree

    def call_sync(self, server, tool, arguments):
        from firefly.simulator.core import SimResult

        return SimResult(text(json.dumps(self.tree)), None, False, {})


def test_a_count_of_the_items_holding_one_value_is_counted_again_when_a_setup_moved_them_apart():
    from firefly.synth.necessity import step_needs

    before = [{"name": "assets", "type": "directory"}, {"name": "config", "type": "directory"},
              {"name": "src", "type": "directory"}]
    after = [{"name": "README.md", "type": "file"}, {"name": "assets", "type": "directory"},
             {"name": "config", "type": "directory"}, {"name": "notes-7.md", "type": "file"},
             {"name": "src", "type": "directory"}]
    write = step(1, "fs", "write_file", {"path": "/w/notes-7.md", "content": "# notes"}, text("ok"), read_only=False)
    tree = step(2, "fs", "directory_tree", {"path": "/w"}, text(json.dumps(after)))
    folders = [{"step": 2, "path": f"$.content[0].text#json=$[{i}].type", "value": "directory", "role": "item"}
               for i in (1, 2, 4)]
    counted = task([write, tree], answer=3, provenance=folders, derivation={"op": "count"})
    recorded = {2: (tree.content, None)}
    # "how many folders": the note moved the folders apart, not in or out: counted again, the same
    [need] = step_needs(counted, _Listed([{"name": "README.md", "type": "file"}] + before), recorded)
    assert not need.needed and "counted again" in need.why, need.why
    # a world without the step that lists a folder fewer: the count changes, the step is needed
    [need] = step_needs(counted, _Listed([{"name": "README.md", "type": "file"}] + before[:2]), recorded)
    assert need.needed and "becomes 2" in need.why, need.why
    # a listing of folders only, counted whole: nothing shows a filter, so the items must stay put
    only = [{"name": n, "type": "directory"} for n in ("assets", "config", "src")]
    whole = task([write, step(2, "fs", "directory_tree", {"path": "/w"}, text(json.dumps(only)))], answer=3,
                 provenance=[dict(p, path=f"$.content[0].text#json=$[{i}].type") for i, p in enumerate(folders)],
                 derivation={"op": "count"})
    [need] = step_needs(whole, _Listed([{"name": "x.md", "type": "file"}] + only), {2: (text(json.dumps(only)), None)})
    assert need.needed


def test_a_setup_is_needed_only_by_a_value_it_introduced_that_the_label_is_read_from():
    from firefly.synth.necessity import step_needs

    listing = step(0, "kg", "read_graph", {}, text('{"entities": [{"name": "Ada Park", "type": "person"}]}'))
    # the observation is new, and the entity's record shows it; the entity's type does not
    note = step(1, "kg", "add_observation", {"entity": "Ada Park", "text": "Noted during exploration 7"},
                text("added"), read_only=False)
    read = step(2, "kg", "open_nodes", {"names": ["Ada Park"]},
                text('{"name": "Ada Park", "type": "person", "observations": ["Noted during exploration 7"]}'))
    recorded = {s.step: (s.content, None) for s in (listing, note, read)}
    kind = [{"step": 2, "path": "$.type", "value": "person", "role": "answer"}]
    [need] = step_needs(task([note, read], answer="person", provenance=kind, match={"rule": "exact"}),
                        _Unrecorded(), recorded)
    assert not need.needed and not need.removable  # padding: the candidate is dropped
    # asked for the observations, the label is read from what the call added
    notes = [{"step": 2, "path": "$.observations", "value": ["Noted during exploration 7"], "role": "answer"}]
    [need] = step_needs(task([note, read], answer=["Noted during exploration 7"], provenance=notes,
                             match={"rule": "exact"}), _Unrecorded(), recorded)
    assert need.needed
    # a name the call was given from an earlier listing is in the label with or without it
    rename = step(1, "kg", "touch_entity", {"entity": "Ada Park"}, text("ok"), read_only=False)
    named = [{"step": 2, "path": "$.name", "value": "Ada Park", "role": "answer"}]
    [need] = step_needs(task([rename, read], answer="Ada Park", provenance=named, match={"rule": "exact"}),
                        _Unrecorded(), {0: (listing.content, None), 2: (read.content, None)})
    assert not need.needed
    # ... and so is a path whose name a listing showed
    files = step(0, "fs", "list_directory", {"path": "reports"}, text("[FILE] visit.txt"))
    edit = step(1, "fs", "edit_file", {"path": "reports/visit.txt", "new": "Date: 2025-01-09 (checked)"},
                text("ok"), read_only=False)
    line = step(2, "fs", "read_file", {"path": "reports/visit.txt"}, text("Date: 2025-01-09 (checked)\nBy: Ada"))
    by = [{"step": 2, "path": "$.content[0].text#line=2", "value": "Ada", "role": "answer"}]
    [need] = step_needs(task([edit, line], answer="Ada", provenance=by, match={"rule": "exact"}), _Unrecorded(),
                        {0: (files.content, None), 2: (line.content, None)})
    assert not need.needed

def test_a_computing_setup_is_not_needed_by_an_input_it_shares_with_the_label():
    from firefly.synth.necessity import step_needs

    data = "/workspace/econ/study_2025.csv"  # a file both analyses read: no trace of the first
    gmm = step(0, "econ", "estimate_gmm", {"file_path": data}, text('{"j_statistic": 0.42}'), read_only=False)
    ols = step(1, "econ", "estimate_ols", {"file_path": data}, text('{"r_squared": 0.954}'))
    label = [{"step": 1, "path": "$.r_squared", "value": 0.954, "role": "answer"}]
    padded = task([gmm, ols], answer=0.954, provenance=label)
    recorded = {0: (gmm.content, None), 1: (ols.content, None)}
    # as an effect (it might have written the file), the shared path is a trace: needed
    [need] = step_needs(padded, _Unrecorded(), recorded)
    assert need.needed
    # as a step that computes, it introduced nothing: not needed, and not removable (padding)
    [need] = step_needs(padded, _Unrecorded(), recorded, computed={0})
    assert not need.needed and not need.removable and "shows nothing it did" in need.why
    # a value it made that the label's call takes still makes it needed
    [need] = step_needs(padded, _Unrecorded(), recorded, made=lambda: {1: {0}}, computed={0})
    assert need.needed
    # a state change says its step changed something: computing or not, its trace counts
    saved = step(0, "econ", "estimate_gmm", {"file_path": data, "save_path": "/workspace/econ/gmm_fit.json"},
                 text("saved"), read_only=False)
    probe = {"server": "econ", "tool": "list_files", "arguments": {}, "expected": ["gmm_fit.json"]}
    change = task([saved], answer=["gmm_fit.json"], kind="state-change", probe=probe, match={"rule": "json-subset"},
                  provenance=[{"step": 1, "path": "$", "value": ["gmm_fit.json"], "role": "probe"}])
    [need] = step_needs(change, _Unrecorded(), {0: (saved.content, None)}, computed={0})
    assert need.needed


def test_a_seed_file_a_setup_names_is_no_value_it_introduced(tmp_path):
    from firefly.store import Store
    from firefly.synth.necessity import SEEDS, initial_texts, step_needs

    deck = "/workspace/data/deck.pptx"  # a file every sandbox starts with: both calls take it
    make = step(0, "slides", "create_presentation", {"template_path": deck}, text("created"), read_only=False)
    info = step(1, "slides", "template_info", {"template_path": deck}, text('{"author": "Ada"}'))
    label = [{"step": 1, "path": "$.author", "value": "Ada", "role": "answer"}]
    padded = task([make, info], answer="Ada", provenance=label, match={"rule": "exact"})
    recorded = {0: (make.content, None), 1: (info.content, None)}
    [need] = step_needs(padded, _Unrecorded(), recorded)
    assert need.needed  # nothing says the file was there before
    [need] = step_needs(padded, _Unrecorded(), recorded, initial={SEEDS: normalize(f"{deck} | /workspace/data")})
    assert not need.needed and "shows nothing it did" in need.why
    # the seed listing is built from the seed workspace (and the registered servers' fixtures)
    with Store.open(tmp_path / "f.db") as store:
        seeds = initial_texts(store)[SEEDS]
    assert "/workspace/files" in seeds and "/workspace/repo" in seeds and "/.git/" not in seeds


def test_a_call_that_filled_a_place_to_write_to_is_no_computing_step():
    from firefly.explore.policy import ToolRef
    from firefly.synth.model import Exploration
    from firefly.synth.necessity import computing_steps

    schema = {"type": "object", "properties": {"file_path": {"type": "string"}, "save_path": {"type": "string"}}}
    ref = ToolRef("econ", "estimate_gmm", "Generalized method of moments.", schema)
    plain = step(0, "econ", "estimate_gmm", {"file_path": "a.csv"}, text("{}"), read_only=False)
    saving = step(1, "econ", "estimate_gmm", {"file_path": "a.csv", "save_path": "fit.json"}, text("{}"),
                  read_only=False)
    x = Exploration("x1", "d1", [plain, saving], tools={("econ", "estimate_gmm"): ref})
    assert computing_steps(x) == {0}


class _AfterMake:
    """A simulator where ``a/tweak`` was recorded only after ``a/make``; every other call in
    any world (a label read on another server, say)."""

    def episode(self):
        return _AfterMakeEpisode()


class _AfterMakeEpisode:
    def __init__(self):
        self.made: list[str] = []

    def call_sync(self, server, tool, arguments):
        from firefly.simulator.core import SimResult, error_result

        if tool == "tweak" and "make" not in self.made:
            return error_result("not recorded")
        self.made.append(tool)
        return SimResult(text("[{'id': 5, 'quantity': 2}]") if tool == "read_query" else text("ok"))


def test_setup_calls_that_cannot_be_left_out_one_at_a_time_are_left_out_together():
    from firefly.synth.model import Candidate
    from firefly.synth.necessity import SetupNeeds, step_needs

    make = step(0, "a", "make", {"name": "scratch-1"}, text("ok"), read_only=False)
    tweak = step(1, "a", "tweak", {"name": "scratch-1"}, text("ok"), read_only=False)
    read = step(2, "db", "read_query", {"query": "SELECT * FROM order_items WHERE id = 5"},
                text("[{'id': 5, 'quantity': 2}]"))
    x = Exploration("x1", "d1", [make, tweak, read])
    label = [{"step": 2, "path": "$.content[0].text#json=$[0].quantity", "value": 2, "role": "answer"}]
    c = Candidate("lookup", "t", "q?", 2, {"rule": "number"}, {2}, label, {"op": "value"})
    # one at a time: without make, tweak misses (and the label shows nothing make did)
    needs = step_needs(task([make, tweak, read], answer=2, provenance=label), _AfterMake(), {2: (read.content, None)})
    assert [(n.needed, n.removable) for n in needs] == [(False, False), (False, True)]
    # together they go: the label's read holds without either
    assert SetupNeeds(_AfterMake())(x, c, [make, tweak]) == []
    # a setup that cannot go in any way: the label's read itself was recorded only after it
    stuck = step(2, "a", "tweak", {"name": "other-2"}, text("[{'id': 5, 'quantity': 2}]"))
    lone = Candidate("lookup", "t", "q?", 2, {"rule": "number"}, {2}, label, {"op": "value"})
    assert SetupNeeds(_AfterMake())(Exploration("x1", "d1", [make, stuck]), lone, [make]) is None


def test_a_whole_number_written_with_a_decimal_point_is_that_number_in_the_question():
    from firefly.synth.verify import check_leakage

    read = step(0, "m", "divide", {"numbers": [57.0, 10.0]}, text("5.7"))
    assert not check_leakage(task([read], question='Divide "57.0" by "10".', answer=57))[0]
    assert check_leakage(task([read], question='Divide "57.5" by "10".', answer=57))[0]
    assert check_leakage(task([read], question='Divide 1.57 by "10".', answer=57))[0]


def test_a_list_written_as_text_is_in_the_question_when_each_of_its_items_is():
    """test_regex answers a stored case's expected matches as "['weekend', 'weekend']", which the
    setup step of the question gave: the no-leakage verifier fails it; a list with an item the
    question does not show passes."""
    from firefly.synth.verify import check_leakage

    add = step(0, "rx", "add_test_case", {"expected_matches": ["weekend", "weekend"]}, text("Added."))
    run = step(1, "rx", "test_regex", {"pattern": "Harbor"}, text("Expected: ['weekend', 'weekend']"))
    q = 'First add a test case with expected matches "weekend" and "weekend". Then: what is "expected"?'
    assert not check_leakage(task([add, run], question=q, answer="['weekend', 'weekend']"))[0]
    assert check_leakage(task([add, run], question=q, answer="['weekend', 'holiday']"))[0]
    assert check_leakage(task([add, run], question="What does the test case expect?", answer='["weekend"]'))[0]


def test_a_number_only_inside_a_formula_the_question_quotes_is_worked_out_not_leaked():
    from firefly.synth.offline import _leaks_into
    from firefly.synth.verify import check_leakage

    degree = step(0, "sympy", "degree", {"expr": "x**3 - 2*x"}, text("3"))
    q = 'What is the degree of the polynomial "x**3 - 2*x"?'
    assert check_leakage(task([degree], question=q, answer=3))[0] and not _leaks_into(3, q)
    rank = step(0, "sympy", "matrix_rank", {"matrix": "Matrix([[2, 1], [1, 3]])"}, text("2"))
    assert check_leakage(task([rank], question='What is the rank of "Matrix([[2, 1], [1, 3]])"?', answer=2))[0]
    both = step(0, "sympy", "intersection", {"set1": "{1, 2, 3}", "set2": "{2, 3, 5}"}, text("{2, 3}"))
    assert check_leakage(task([both], question='Which numbers are in both "{1, 2, 3}" and "{2, 3, 5}"?',
                              answer=[2, 3]))[0]
    # a label written as text: "3", "{1}", the free symbols "{x}" of "sin(x) + x**2"
    assert check_leakage(task([degree], question=q, answer="3"))[0]
    assert check_leakage(task([both], question='What is "{1, 2, 3}" without "{2, 3, 5}"?', answer="{1}"))[0]
    assert check_leakage(task([degree], question='Which symbols are free in "sin(x) + x**2"?', answer="{x}"))[0]
    # one of three or more numbers an argument lists is picked out, not read off; one of two is read off
    top = step(0, "math", "max", {"numbers": [6, 7, 10, 14, 17]}, text("17.0"))
    assert check_leakage(task([top], question="What is the largest of 6, 7, 10, 14 and 17?", answer="17.0"))[0]
    assert not check_leakage(task([top], question="What is the largest of 6 and 17?", answer=17))[0]
    # the whole formula given back as asked is in the question
    assert not check_leakage(task([degree], question='Simplify "x**2 + 3*x + 2".', answer="x**2 + 3*x + 2"))[0]
    # the same number stated as a value, a date or a name is in the question
    assert not check_leakage(task([degree], question='Of the 3 terms of "x**3 - 2*x", how many ...?', answer=3))[0]
    assert not check_leakage(task([degree], question='What is in the note "3 - draft"?', answer=3))[0]
    assert _leaks_into(2025, 'what changed in "2025-03-04 standup"?')


def test_the_numbers_of_a_tasks_own_steps_are_not_an_answer_in_the_question():
    from firefly.synth.verify import check_leakage

    load = step(1, "csv", "load_csv", {"file_path": "/workspace/data/a.csv"}, text('{"session_id": "s-1"}'),
                read_only=False)
    fill = step(2, "csv", "fill_missing_values", {"session_id": "s-1"}, text('{"success": true}'), read_only=False)
    question = ("Do the following, in order:\n1. Load a CSV file into a session with file path \"/workspace/data/a.csv\".\n"
                "2. Remove missing values with the session id returned by step 1.")
    change = task([load, fill], question=question, answer={"data": {"operations_count": 2}}, kind="state-change",
                  match={"rule": "json-subset"})
    assert check_leakage(change)[0]
    lookup = task([load, fill], question=question + "\n\nThen answer: how many operations ran?", answer=1)
    assert check_leakage(lookup)[0]
    # a number the question states is still one
    stated = task([load, fill], question=question + "\n\nThen answer: of the 2 operations, how many filled values?",
                  answer=2)
    assert not check_leakage(stated)[0]


def test_a_setup_whose_made_value_a_later_call_takes_is_needed_when_the_simulator_cannot_decide():
    from firefly.synth.necessity import made_values, step_needs

    create = step(1, "deck", "create_deck", {}, text('{"deck_id": "deck_9"}'), read_only=False)
    info = Step(2, "deck", "deck_info", {"deck_id": "deck_9"}, text('{"slides": 3}'), None, True, True,
                [{"argument": "/deck_id", "step": 1, "path": "$.content[0].text#json=$.deck_id", "value": "deck_9"}], "s")
    label = [{"step": 2, "path": "$.content[0].text#json=$.slides", "value": 3, "role": "answer"}]
    t = task([create, info], answer=3, provenance=label)
    recorded = {2: (info.content, None)}
    assert made_values(Exploration("x1", "d1", [create, info])) == {2: {1}}
    [need] = step_needs(t, _Unrecorded(), recorded, lambda: made_values(Exploration("x1", "d1", [create, info])))
    assert need.needed and "step 2 takes a value it made" in need.why
    [need] = step_needs(t, _Unrecorded(), recorded)  # the label alone shows nothing create_deck did
    assert not need.needed
    # a value an earlier result showed already was read, not made: the create is not needed for it
    listed = step(0, "deck", "list_decks", {}, text('["deck_9"]'))
    assert made_values(Exploration("x1", "d1", [listed, create, info])) == {}
    # a value written into a text (a title mentioning it) is a mention, not a reference
    titled = Step(2, "deck", "add_note", {"title": "Seen deck_9."}, text("ok"), None, True, False,
                  [{"argument": "/title", "step": 1, "path": "$.content[0].text#json=$.deck_id", "value": "deck_9"}], "s")
    assert made_values(Exploration("x1", "d1", [create, titled])) == {}
    # a value the earlier call was given and says back ("operation": "sqrt") is nothing it made:
    # a second calculation taking "sqrt" does not need the first (it had been kept as a setup)
    calc = step(1, "m", "precision_calculator", {"numbers": [2], "operation": "sqrt"},
                text('{"result": "1.414", "operation": "sqrt"}'), read_only=False)
    again = Step(2, "m", "precision_calculator", {"numbers": [3, 4], "operation": "sqrt"}, text('{"result": "2.6"}'),
                 None, True, False,
                 [{"argument": "/operation", "step": 1, "path": "$.content[0].text#json=$.operation", "value": "sqrt"}],
                 "s")
    assert made_values(Exploration("x1", "d1", [calc, again])) == {}


def test_an_id_a_making_effect_showed_first_is_made_by_it_though_the_explorer_recorded_no_source():
    from firefly.synth.necessity import made_values

    create = step(1, "deck", "create_deck", {}, text('{"deck_id": "deck_9"}'), read_only=False)
    info = step(2, "deck", "deck_info", {"deck_id": "deck_9"}, text('{"slides": 3}'))
    assert made_values(Exploration("x1", "d1", [create, info])) == {2: {1}}
    # the initial world showed it already: read, not made
    assert made_values(Exploration("x1", "d1", [create, info]), {"deck": "decks: deck_9"}) == {}
    # an effect that says it makes nothing (a run, a query) only showed it; a word is no id; nor an argument it was given
    ran = step(1, "deck", "run_report", {}, text('{"deck_id": "deck_9"}'), read_only=False)
    assert made_values(Exploration("x1", "d1", [ran, info])) == {}
    named = step(2, "deck", "deck_info", {"deck_id": "agenda"}, text('{"slides": 3}'))
    assert made_values(Exploration("x1", "d1", [step(1, "deck", "create_deck", {}, text("agenda"), read_only=False),
                                                named])) == {}
    told = step(1, "deck", "create_deck", {"deck_id": "deck_9"}, text('{"deck_id": "deck_9"}'), read_only=False)
    assert made_values(Exploration("x1", "d1", [told, info])) == {}
    # but a place it was given to write to, it made: a second drawing on the first one's output
    # needs the first (its image is no file of the initial world), whether the explorer recorded
    # the path as the first's or as a read's that said it back
    from firefly.explore.policy import ToolRef

    place = {"type": "object", "properties": {"input_path": {"type": "string"}, "output_path": {"type": "string"}}}
    tools = {("img", n): ToolRef("img", n, "Draw on an image.", place) for n in ("draw_rectangle", "draw_circle")}
    first = step(1, "img", "draw_rectangle", {"input_path": "/w/logo.png", "output_path": "/w/out-1.png"},
                 text("Saved /w/out-1.png"), read_only=False)
    seen = Step(2, "img", "image_info", {"path": "/w/out-1.png"}, text('{"path": "/w/out-1.png", "width": 48}'), None,
                True, True, [], "s")
    second = Step(3, "img", "draw_circle", {"input_path": "/w/out-1.png", "output_path": "/w/out-2.png"},
                  text("Saved /w/out-2.png"), None, True, False,
                  [{"argument": "/input_path", "step": 2, "path": "$.content[0].text#json=$.path", "value": "/w/out-1.png"}],
                  "s")
    assert made_values(Exploration("x1", "d1", [first, seen, second], tools=tools))[3] == {1}
    assert 3 not in made_values(Exploration("x1", "d1", [first, seen, second]))  # no schema: no place to write to


def test_a_made_value_taken_only_by_another_setup_call_does_not_make_a_setup_needed():
    from firefly.synth.necessity import made_values, step_needs

    create = step(1, "deck", "create_deck", {}, text('{"deck_id": "deck_9"}'), read_only=False)
    slide = Step(2, "deck", "add_slide", {"deck_id": "deck_9"}, text("ok"), None, True, False,
                 [{"argument": "/deck_id", "step": 1, "path": "$.content[0].text#json=$.deck_id", "value": "deck_9"}], "s")
    info = step(3, "deck", "template_info", {"template": "agenda"}, text('{"elements": 3}'))
    label = [{"step": 3, "path": "$.content[0].text#json=$.elements", "value": 3, "role": "answer"}]
    x = Exploration("x1", "d1", [create, slide, info])
    needs = step_needs(task([create, slide, info], answer=3, provenance=label), _Unrecorded(), {3: (info.content, None)},
                       lambda: made_values(x))
    assert [n.needed for n in needs] == [False, False]


# ------------------------------------------------------------------------------- made-up ids a task makes

SESSION = "5bbfde4e-c772-4869-9238-95b7661ba875"


class _Always(_Unrecorded):
    """A simulator that answers every call as recorded: nothing a replay leaves out is missed."""

    def __init__(self, results):
        self.results = results

    def episode(self):
        return self

    def call_sync(self, server, tool, arguments):
        from firefly.simulator.core import SimResult

        return SimResult(self.results[tool], None, False, {})


def _session_steps():
    load = step(1, "csv", "load_csv", {"file_path": "/workspace/data/sales.csv"},
                text(json.dumps({"session_id": SESSION, "rows": 40})))
    stats = Step(2, "csv", "get_statistics", {"session_id": SESSION}, text('{"columns": 4}'), None, True, True,
                 [{"argument": "/session_id", "step": 1, "path": "$.content[0].text#json=$.session_id", "value": SESSION}], "s")
    return load, stats


def test_a_step_that_made_an_id_the_label_takes_is_needed_when_the_question_does_not_give_it():
    from firefly.synth.necessity import made_ids, step_needs

    load, stats = _session_steps()
    x = Exploration("x1", "d1", [load, stats])
    assert made_ids(x) == {2: {SESSION: 1}}
    # the id given by the step's own arguments was not made by it
    told = step(1, "csv", "load_csv", {"session_id": SESSION}, text(json.dumps({"session_id": SESSION})))
    assert made_ids(Exploration("x1", "d1", [told, stats])) == {}
    label = [{"step": 2, "path": "$.content[0].text#json=$.columns", "value": 4, "role": "answer"}]
    sim = _Always({"load_csv": load.content, "get_statistics": stats.content})
    asked = task([load, stats], question="Load data/sales.csv. How many columns has the session returned by step 1?",
                 answer=4, provenance=label)
    [need] = step_needs(asked, sim, {}, ids=made_ids(x))
    assert need.needed and "takes an id it made" in need.why
    # a question that quotes the id needs no step to make it (and is no task: self_contained drops it)
    quoted = task([load, stats], question=f'How many columns has session "{SESSION}"?', answer=4, provenance=label)
    [need] = step_needs(quoted, sim, {}, ids=made_ids(x))
    assert not need.needed


def test_a_made_up_id_a_hop_went_through_may_come_back_as_another():
    from firefly.synth.necessity import replay
    from firefly.synth.verify import check_replayable

    load, stats = _session_steps()
    prov = [{"step": 1, "path": "$.content[0].text#json=$.session_id", "value": SESSION, "role": "via"},
            {"step": 2, "path": "$.content[0].text#json=$.columns", "value": 4, "role": "answer"}]
    other = text(json.dumps({"session_id": "342a0238-d32b-4c30-b602-ae1d31816f72", "rows": 40}))
    t = task([load, stats], answer=4, provenance=prov)
    assert check_replayable(t, _Always({"load_csv": other, "get_statistics": stats.content}))[0]
    assert replay(t, _Always({"load_csv": other, "get_statistics": stats.content}), t.trajectory).reproduced
    # a value that is no made-up id must come back as it was
    words = text(json.dumps({"session_id": "sales", "rows": 40}))
    assert not check_replayable(t, _Always({"load_csv": words, "get_statistics": stats.content}))[0]


def test_a_question_takes_a_made_up_id_from_the_step_that_made_it():
    from firefly.synth.model import Candidate
    from firefly.synth.offline import OfflineSynthesizer
    from firefly.synth.verify import check_self_contained

    load, stats = _session_steps()
    x = Exploration("x1", "d1", [load, stats])
    label = [{"step": 2, "path": "$.content[0].text#json=$.columns", "value": 4, "role": "answer"}]
    c = Candidate("lookup", "t", f'How many columns are in the statistics for session id "{SESSION}"?', 4,
                  {"rule": "number"}, {2}, label, {"op": "value"})
    done = OfflineSynthesizer()._with_setup(x, c, Counter())
    assert done is not None and SESSION not in done.question
    assert done.trajectory_steps == {1, 2}
    assert "1. Load the csv with file path" in done.question and "for the session id returned by step 1" in done.question
    t = task([load, stats], question=done.question, answer=4, provenance=label)
    assert check_self_contained(t, x, {})[0]
    # without the step that made it, the id is no value the question gives
    assert not check_self_contained(task([stats], question=done.question, answer=4, provenance=label), x, {})[0]
    # the step that made the id shows the answer already (40 rows): the asked call would not be needed for it
    rows = Candidate("lookup", "t", f'How many rows are in the statistics for session id "{SESSION}"?', 40,
                     {"rule": "number"}, {2}, label, {"op": "value"})
    skipped = Counter()
    assert OfflineSynthesizer()._with_setup(x, rows, skipped) is None and skipped


def test_a_state_change_on_a_session_opens_it_first_and_checks_no_made_up_id():
    from types import SimpleNamespace

    from firefly.synth.model import Candidate
    from firefly.synth.necessity import before_change
    from firefly.synth.offline import OfflineSynthesizer

    load, _ = _session_steps()
    add = Step(2, "csv", "add_column", {"name": "margin", "session_id": SESSION}, text("ok"), None, True, False, [], "s")
    info = step(3, "csv", "get_info", {"session_id": SESSION}, text(json.dumps({"columns": ["a", "margin"]})))
    x = Exploration("x1", "d1", [load, add, info])
    expected = {"columns": ["margin"], "session_id": SESSION}
    probe = {"server": "csv", "tool": "get_info", "arguments": {"session_id": SESSION}, "expected": expected}
    c = Candidate("state-change", "state:add_column", f'Add a column named "margin" with session id "{SESSION}".',
                  expected, {"rule": "json-subset"}, {2}, [{"step": 3, "path": "$", "value": expected, "role": "probe"}],
                  {"op": "probe"}, probe=probe, trajectory_steps={2}, extra={"effect_step": 2, "probe_step": 3})
    done = OfflineSynthesizer()._with_setup(x, c, Counter())
    assert done is not None and done.trajectory_steps == {1, 2} and SESSION not in done.question
    assert "2. Add" in done.question and "the session id returned by step 1" in done.question
    assert done.answer == {"columns": ["margin"]} == done.probe["expected"]
    # the world before the change is the one after the read that opened the session
    before = text(json.dumps({"columns": ["a"]}))
    class _Opened(_Always):  # the session's info was recorded only after the read that opened it
        def episode(self):
            return _Opened(self.results)

        def call_sync(self, server, tool, arguments):
            from firefly.simulator.core import error_result

            if tool == "get_info" and not getattr(self, "opened", False):
                return error_result("not recorded")
            self.opened = getattr(self, "opened", False) or tool == "load_csv"
            return super().call_sync(server, tool, arguments)

    sim = _Opened({"load_csv": load.content, "get_info": before})
    sim.tools = {("csv", "load_csv"): SimpleNamespace(reads=lambda arguments: True)}
    t = task([load, add], kind="state-change", answer=done.answer, probe=done.probe, match={"rule": "json-subset"},
             provenance=done.provenance, derivation={"op": "probe"})
    ok, why = before_change(t, sim)
    assert ok and "the label fails" in why
