"""Tools whose results were no facts before: a configuration value fed to the next call, a
media file summarised by its type, size and pixels."""

from __future__ import annotations

import base64
from typing import Any

from firefly.adapters.filesystem import ADAPTER as FILESYSTEM
from firefly.synth.model import Exploration, Step
from firefly.synth.offline import OfflineSynthesizer

from .test_facts import _png

ROOT = "/workspace/files"


def step(n: int, tool: str, arguments: dict[str, Any], content: list[dict[str, Any]],
         sources: list[dict[str, Any]] | None = None) -> Step:
    return Step(n, "fs", tool, arguments, content, None, True, True, sources or [], "s0")


def text(value: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": value}]


def explore(*steps: Step) -> Exploration:
    return Exploration("x1", "d1", list(steps), {"fs": FILESYSTEM})


def test_an_allowed_directory_fed_to_a_listing_is_a_hop():
    x = explore(
        step(0, "list_allowed_directories", {}, text(f"Allowed directories:\n{ROOT}")),
        step(1, "list_directory", {"path": ROOT}, text("[FILE] a.md\n[DIR] notes\n[FILE] b.csv\n[FILE] c.txt"),
             [{"argument": "/path", "step": 0, "path": "$.content[0].text#line=2", "value": ROOT}]),
    )
    found, _ = OfflineSynthesizer().candidates(x)
    hops = [c for c in found if c.kind == "multi-hop"]
    assert hops and all(c.label_steps == {0, 1} for c in hops)
    assert all("allowed directory shown by the list of folders the file server is allowed to access" in c.question
               for c in hops)
    assert any(c.answer == 4 for c in hops)  # how many entries


def test_a_listing_fed_with_a_value_made_from_the_allowed_directory_is_no_hop():
    x = explore(
        step(0, "list_allowed_directories", {}, text(f"Allowed directories:\n{ROOT}")),
        step(1, "list_directory", {"path": ROOT + "/notes"}, text("[FILE] a.md\n[FILE] b.md"),
             [{"argument": "/path", "step": 0, "path": "$.content[0].text#line=2", "value": ROOT + "/notes"}]),
    )
    found, skipped = OfflineSynthesizer().candidates(x)
    assert not [c for c in found if c.kind == "multi-hop"] and skipped["hop value not describable"] == 1


def test_a_value_a_call_was_given_and_gave_back_is_no_hop():
    info = "Template: /workspace/files/deck.pptx\nLayouts: 11"
    x = explore(
        step(0, "get_template_info", {"path": f"{ROOT}/deck.pptx"}, text(info)),
        step(1, "list_directory", {"path": f"{ROOT}/deck.pptx"}, text("[FILE] a.md\n[FILE] b.md"),
             [{"argument": "/path", "step": 0, "path": "$.content[0].text#line=1", "value": f"{ROOT}/deck.pptx"}]),
    )
    found, skipped = OfflineSynthesizer().candidates(x)
    assert not [c for c in found if c.kind == "multi-hop"] and skipped["hop through a value its source was given"] == 1


def test_a_media_file_gives_questions_on_its_size_and_pixels():
    data = base64.b64encode(_png(48, 16)).decode()
    x = explore(step(0, "read_media_file", {"path": f"{ROOT}/assets/logo.png"},
                     [{"type": "image", "data": data, "mimeType": "image/png"}]))
    found, _ = OfflineSynthesizer().candidates(x)
    answers = {str(c.answer) for c in found}
    assert {"48", "16"} <= answers
    assert all("assets/logo.png" in c.question for c in found)
    # a blob that does not decode says nothing
    broken = explore(step(0, "read_media_file", {"path": f"{ROOT}/assets/logo.png"},
                          [{"type": "image", "data": "%%%", "mimeType": "image/png"}]))
    assert OfflineSynthesizer().candidates(broken)[0] == []


def test_a_tool_that_computes_is_asked_about_though_not_known_to_be_read_only():
    from firefly.adapters.verbs import computes
    from firefly.explore.policy import ToolRef

    def ref(name: str, description: str, annotations: dict[str, Any] | None = None) -> ToolRef:
        return ToolRef("calc", name, description, {"type": "object", "properties": {"expression": {"type": "string"}}},
                       annotations or {})

    tools = {("calc", r.name): r for r in (
        ref("expression_evaluator", "Evaluate a mathematical expression and return its value."),
        ref("roll_dice", "Roll dice in standard notation and return the rolls."),
        ref("notebook", "Creates a new notebook with the given expression."),
        ref("tally", "Count the terms of an expression.", {"destructiveHint": True}),
    )}
    assert [computes(r.name, r.annotations, r.description) for r in tools.values()] == [True, False, False, False]
    assert computes("get_best_move", {}, "Get the best move for a chess position.")  # gets a move, makes none
    assert not computes("set_position", {}, "Set the board position.")
    assert computes("sympy_reals", {}, "The set of real numbers.")  # a noun after an article, not a verb
    assert not computes("permutation_test", {}, "Permutation test (nonparametric) of two samples.")  # chance
    from firefly.adapters.verbs import writes_by_arguments

    def props(*names):  # every parameter required
        return {"properties": {n: {"type": "string"} for n in names}, "required": list(names)}

    assert writes_by_arguments(props("input_path", "output_path")) and writes_by_arguments(props("save_as"))
    assert writes_by_arguments(props("destination")) and writes_by_arguments(props("outputDir"))
    assert not writes_by_arguments(props("output_format", "timeout", "targetTimezone", "include_outliers"))
    optional = {"properties": {"data": {"type": "string"}, "save_path": {"type": "string"}}}
    assert not writes_by_arguments(optional)  # may write; a call tells
    assert writes_by_arguments(optional, {"data": "a.csv", "save_path": "out.json"})
    assert not writes_by_arguments(optional, {"data": "a.csv", "save_path": ""})

    def run(tool: str) -> list[Any]:
        s = Step(0, "calc", tool, {"expression": "27 * 38 + 7"}, text('{"expression": "27 * 38 + 7", "value": 1033}'),
                 None, True, False, [], "s0")
        return OfflineSynthesizer().candidates(Exploration("x1", "d1", [s], {}, tools))[0]

    found = run("expression_evaluator")
    assert any(c.answer == 1033 and "27 * 38 + 7" in c.question for c in found)
    # chance: never a label of its own, not even as what an effect reports; only a reading bound
    # to the call that drew it (tests/test_synth_readings.py)
    assert all(c.match.get("returned") and c.template.startswith("reading:") for c in run("roll_dice"))
    # an effect's result is asked about only as what the effect reports, the effect made first
    for tool in ("notebook", "tally"):
        assert all(c.template.startswith("effect:") for c in run(tool))
    assert any(c.question.startswith(("Create a new notebook", "Please create a new notebook")) and c.answer == 1033
               for c in run("notebook"))


def test_every_tool_that_gave_a_fact_gets_a_task_before_a_second_one_for_another():
    listing = "\n".join(f"[FILE] f{i}.md" for i in range(6)) + "\n[DIR] d1\n[DIR] d2"
    x = explore(
        step(0, "list_directory", {"path": ROOT}, text(listing)),
        step(1, "list_allowed_directories", {}, text(f"Allowed directories:\n{ROOT}")),
    )
    synth = OfflineSynthesizer(max_tasks=2)
    found, _ = synth.candidates(x)
    assert sum(1 for c in found if c.label_steps == {0}) > 2  # the listing alone could fill every slot
    chosen = synth.pick(x, found)
    assert len(chosen) == 2 and {min(c.label_steps) for c in chosen} == {0, 1}


def test_annotations_every_tool_of_a_server_shares_say_nothing():
    from firefly.explore.policy import ToolRef

    def server(annotations: dict[str, Any], reader_annotations: dict[str, Any]) -> Exploration:
        refs = [ToolRef("xl", "describe_sheets", "List the sheets of a workbook.", {}, reader_annotations),
                ToolRef("xl", "write_cells", "Write values to cells.", {}, annotations),
                ToolRef("xl", "copy_sheet", "Copy a sheet.", {}, annotations)]
        s = Step(0, "xl", "describe_sheets", {}, text('{"sheets": [{"name": "Sales"}, {"name": "Costs"}]}'), None,
                 True, False, [], "s0")
        return Exploration("x1", "d1", [s], {}, {("xl", r.name): r for r in refs})

    blanket = {"readOnlyHint": False, "destructiveHint": True}
    x = server(blanket, blanket)
    assert x.blanket_annotations("xl") and x.answers(x.steps[0])
    # a server that tells its tools apart: a reader it marks as changing the world is believed
    y = server({"readOnlyHint": False}, {"readOnlyHint": False, "destructiveHint": True})
    assert not y.blanket_annotations("xl") and not y.answers(y.steps[0])


def test_a_survey_of_a_server_is_synthesized_like_an_exploration(store):
    from firefly.events import ToolCalled
    from firefly.ids import content_hash
    from firefly.synth.stage import synthesize
    from firefly.synth.verify import verify

    from .synth_fixtures import GRAPH, as_text, discover

    discover(store)
    initial = content_hash([])
    store.append(ToolCalled(exploration_id="survey-mem1", step=0, server="memory", tool="read_graph", arguments={},
                            arguments_hash=content_hash({}), content=as_text(GRAPH), read_only=True, state=initial))
    # a survey whose one call failed gives nothing
    store.append(ToolCalled(exploration_id="survey-sql1", step=0, server="sqlite", tool="list_tables", arguments={},
                            arguments_hash=content_hash({}), content=[{"type": "text", "text": "no database"}],
                            is_error=True, error="no database", read_only=True, state=initial))
    report = synthesize(store, OfflineSynthesizer())
    rows = store.conn.execute("SELECT exploration_id, dag_id FROM tasks").fetchall()
    assert report.tasks > 0 and {r for r in rows} == {("survey-mem1", "survey-mem1")}
    verify(store)
    assert store.conn.execute("SELECT count(*) FROM tasks WHERE verified = 1").fetchone()[0] > 0


def test_a_tool_whose_description_says_it_changes_nothing_computes():
    """``generate_patch`` has a writing verb in its name, but its description says it writes
    nothing: its result is asked about as a computation's; a description that only names a
    read-only mode it may leave, or a reading it offers elsewhere, says nothing of the kind."""
    from firefly.adapters.verbs import computes, says_it_changes, says_it_changes_nothing

    patch = ("Generate a patch file from original and modified text.\n\n    Behavior:\n        This tool generates "
             "structured output without modifying external systems.")
    assert says_it_changes("generate_patch", {}, None)  # by its name alone
    assert computes("generate_patch", {}, patch)
    assert computes("apply_patch", {}, "Apply a unified diff patch to the original text and return the result.\n"
                    "Behavior: This tool is read-only and stateless.")
    assert computes("query", {}, "Run a read-only SQL query")
    assert not says_it_changes_nothing("The single-verb front door to the tool catalog. Read-only by default — "
                                       "actions that change the index need confirm=true.")
    assert not says_it_changes_nothing("Execute an arbitrary SQLite query. Note that the database is open in "
                                       "read-only mode by default, except for canned queries.")
    assert says_it_changes("execute_query", {}, "Execute a SQL query that can modify or delete data. Use "
                           "execute_read_query for safer read-only operations.")
    assert says_it_changes("generate_patch", {"readOnlyHint": False}, patch)  # annotations decide first
