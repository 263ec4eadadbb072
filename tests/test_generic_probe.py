"""The generic adapter's probe on a server it has never seen: a read-only tool of the same
server that takes the identifier the write took or returned, under a name of the same kind."""

from __future__ import annotations

import json

import anyio
from mcp.server.mcpserver import MCPServer

from firefly.adapters.generic import GenericAdapter
from firefly.connect import Endpoint, open_connection
from firefly.explore.policy import CallRecord, ToolRef


def _tasks_server() -> MCPServer:
    server = MCPServer("tasks")
    tasks: dict[str, dict] = {}

    @server.tool()
    def create_task(title: str, notes: str = "") -> dict:
        """Create a task."""
        task_id = f"t-{len(tasks) + 1}"
        tasks[task_id] = {"task_id": task_id, "title": title, "notes": notes}
        return {"id": task_id, "status": "created"}

    @server.tool()
    def update_task_notes(task_ref_id: str, notes: str) -> str:
        """Replace a task's notes."""
        tasks[task_ref_id]["notes"] = notes
        return "updated"

    @server.tool()
    def get_task(task_id: str) -> dict:
        """Read one task."""
        return tasks[task_id]

    @server.tool()
    def search_tasks(query: str) -> list:
        """Search tasks by words."""
        return [t for t in tasks.values() if query in t["title"]]

    return server


async def _call(conn, tool: str, arguments: dict) -> CallRecord:
    result = await conn.request("tools/call", {"name": tool, "arguments": arguments}, timeout=30)
    return CallRecord(0, "tasks", tool, arguments, result.get("content", []), result.get("structuredContent"),
                      bool(result.get("isError")))


def test_the_generic_probe_reads_back_by_the_identifier_a_write_took_or_returned():
    server = _tasks_server()

    async def main() -> None:
        async with open_connection(Endpoint(name="tasks", transport="stdio", target=server)) as conn:
            listed = await conn.request("tools/list", {}, timeout=30)
            refs = {t["name"]: ToolRef("tasks", t["name"], t.get("description"), t["inputSchema"])
                    for t in listed["tools"]}
            readers = [refs["get_task"], refs["search_tasks"]]
            adapter = GenericAdapter()

            created = await _call(conn, "create_task", {"title": "Order beans"})
            probe = adapter.probe(created, refs["create_task"], readers)
            assert probe is not None and probe.tool.name == "get_task" and probe.arguments == {"task_id": "t-1"}
            seen = await _call(conn, probe.tool.name, probe.arguments)
            assert "Order beans" in json.dumps(seen.content)

            updated = await _call(conn, "update_task_notes", {"task_ref_id": "t-1", "notes": "two bags"})
            probe = adapter.probe(updated, refs["update_task_notes"], readers)
            assert probe is not None and probe.arguments == {"task_id": "t-1"}
            seen = await _call(conn, probe.tool.name, probe.arguments)
            assert "two bags" in json.dumps(seen.content)  # the probe observes the effect

            # nothing identifies what a call changed: no probe rather than a guess
            vague = CallRecord(0, "tasks", "create_task", {"title": "x"}, [{"type": "text", "text": "done"}], None, False)
            assert adapter.probe(vague, refs["create_task"], readers) is None

    anyio.run(main)


def _ref(name: str, required: tuple[str, ...] = (), optional: tuple[str, ...] = (), server: str = "s") -> ToolRef:
    props = {p: {"type": "string"} for p in (*required, *optional)}
    return ToolRef(server, name, None, {"type": "object", "properties": props, "required": list(required)})


def _effect(tool: ToolRef, arguments: dict, result: str = "ok") -> CallRecord:
    return CallRecord(0, tool.server, tool.name, arguments, [{"type": "text", "text": result}], None, False)


def test_the_probe_reads_the_same_kind_of_thing_not_the_first_reader_that_takes_the_argument():
    update = _ref("update_task_status", ("task_id", "status"))
    readers = [_ref("summarize_task_activity", ("task_id",)), _ref("get_task", ("task_id",)),
               _ref("get_story", ("story_id",))]
    probe = GenericAdapter().probe(_effect(update, {"task_id": "t-1", "status": "done"}), update, readers)
    assert probe is not None and probe.tool.name == "get_task" and probe.arguments == {"task_id": "t-1"}


def test_a_showing_reader_is_preferred_to_one_that_computes_on_the_same_thing():
    create = _ref("create_note", ("path", "content"))
    readers = [_ref("view_note_images", ("path",)), _ref("read_note", ("path",)), _ref("analyze_note", ("path",))]
    probe = GenericAdapter().probe(_effect(create, {"path": "a.md", "content": "x"}), create, readers)
    assert probe is not None and probe.tool.name == "read_note"


def test_an_effect_no_reader_takes_an_argument_of_is_probed_by_the_listing_of_its_kind():
    branch = _ref("git_create_branch", ("repo_path", "branch_name"))
    readers = [_ref("git_status", ("repo_path",)), _ref("git_log", ("repo_path",)),
               _ref("git_list_branches", (), ("repo_path",)), _ref("git_list_tags", (), ("repo_path",))]
    call = _effect(branch, {"repo_path": "/r", "branch_name": "feature"})
    probe = GenericAdapter().probe(call, branch, readers)
    assert probe is not None and probe.tool.name == "git_list_branches" and probe.arguments == {"repo_path": "/r"}
    # a listing of another kind of thing is never the probe
    assert GenericAdapter().probe(call, branch, [_ref("git_list_tags"), *readers[:2]]).tool.name != "git_list_tags"


def test_a_removal_is_probed_by_the_listing_a_read_of_the_removed_thing_would_fail():
    delete = _ref("delete_note", ("path",))
    readers = [_ref("read_note", ("path",)), _ref("list_notes")]
    probe = GenericAdapter().probe(_effect(delete, {"path": "a.md"}), delete, readers)
    assert probe is not None and probe.tool.name == "list_notes" and probe.arguments == {}


def test_an_identifier_of_another_kind_of_thing_is_not_taken_for_the_readers():
    create = _ref("create_task", ("story_id", "title"))
    readers = [_ref("summarize_task_activity", ("task_id",)), _ref("get_story", ("story_id",)), _ref("get_tasks")]
    probe = GenericAdapter().probe(_effect(create, {"story_id": "story-1", "title": "x"}), create, readers)
    assert probe is not None and probe.tool.name == "get_tasks"  # never task_id=story-1


def test_a_listing_probed_before_and_after_a_creation_makes_a_state_change_that_fails_before(tmp_path, monkeypatch):
    from firefly.store import Store
    from firefly.synth import synthesize
    from firefly.synth.verify import verify

    from . import synth_fixtures as fx

    text = {"type": "string"}
    monkeypatch.setitem(fx.TOOLS, ("tasks", "create_task"), (
        {"type": "object", "properties": {"title": text, "story_id": text}, "required": ["title"]}, False))
    monkeypatch.setitem(fx.TOOLS, ("tasks", "get_tasks"), ({"type": "object", "properties": {}}, True))
    store = Store.open(tmp_path / "tasks.db")
    fx.discover(store)
    before = [{"id": "task-1", "title": "Roast the Ethiopia lot"}]
    w = fx.Walk(store, "xtasks", "dtasks", [("tasks", "create_task")])
    w.call("tasks", "get_tasks", {}, fx.as_text({"tasks": before}), probe_of=1)  # the probe before the effect
    w.call("tasks", "create_task", {"title": "Order paper cups", "story_id": "story-7"},
           fx.as_text({"success": True, "task_id": "task-2"}))
    w.call("tasks", "get_tasks", {}, fx.as_text({"tasks": [*before, {"id": "task-2", "title": "Order paper cups"}]}),
           probe_of=1)
    w.finish()
    store.catch_up()
    synthesize(store)
    verify(store)
    rows = store.conn.execute("SELECT question, probe, verified FROM tasks WHERE kind = 'state-change'").fetchall()
    assert rows, "no state-change task from the listing probe"
    question, probe, verified = rows[0]
    probe = json.loads(probe)
    assert probe["tool"] == "get_tasks" and "Order paper cups" in json.dumps(probe["expected"])
    assert verified == 1, store.conn.execute("SELECT verifier, reasons FROM verdicts WHERE passed = 0").fetchall()
    assert "Order paper cups" in question


def test_a_reader_that_computes_or_lists_another_kind_of_thing_is_not_the_probe():
    block = _ref("set_blocker", ("task_id", "reason"))
    readers = [_ref("resolve_blocker", ("task_id",)), _ref("get_task", ("task_id",)), _ref("get_story", ("story_id",))]
    probe = GenericAdapter().probe(_effect(block, {"task_id": "t-1", "reason": "waiting"}), block, readers)
    assert probe is not None and probe.tool.name == "get_task"  # resolve_ would undo what it probes
    slide = _ref("add_slide", (), ("layout",))
    probe = GenericAdapter().probe(_effect(slide, {"layout": "title"}), slide, [_ref("list_slide_templates")])
    assert probe is None  # the templates are not what adding a slide changed


def test_a_tool_taking_nothing_that_may_make_a_thing_is_never_a_listing_probe():
    total = _ref("batch_total", (), ("batch_id",))
    probe = GenericAdapter().probe(_effect(total, {}), total, [_ref("open_batch"), _ref("describe_batch_rules")])
    assert probe is None  # open_batch opens a batch; describe_batch_rules lists another kind of thing
    assert GenericAdapter().probe(_effect(total, {}), total, [_ref("list_batches")]).tool.name == "list_batches"


def test_a_probe_reads_the_place_the_effect_changed_by_the_optional_identifier_it_was_given():
    """add_connector(presentation_id, slide_index) -> get_slide_info(slide_index) read the
    current presentation (none: "No presentation is currently loaded"): the probe is given the
    optional presentation_id too, not other optional parameters of the same name."""
    effect = _ref("add_connector", ("slide_index", "kind"), ("presentation_id", "note"))
    reader = _ref("get_slide_info", ("slide_index",), ("presentation_id", "note"))
    call = _effect(effect, {"slide_index": "0", "kind": "elbow", "presentation_id": "presentation_1", "note": "x y"})
    probe = GenericAdapter().probe(call, effect, [reader])
    assert probe is not None and probe.arguments == {"slide_index": "0", "presentation_id": "presentation_1"}


def test_an_effect_that_wrote_an_output_file_is_probed_by_a_read_of_that_file():
    """image_rotate(input_path, output_path) wrote the output: image_info(path) reads it
    (the path given, of the two, is the one written). find_contours, given the output path to
    save an annotated image to, had been chosen and said that path back whatever the world held."""
    from firefly.explore.policy import CallRecord, ToolRef
    from firefly.explore.probe import pick_probe

    def ref(name, props, required):
        return ToolRef("img", name, "", {"type": "object", "properties": {p: {"type": "string"} for p in props},
                                         "required": required}, {"readOnlyHint": True})

    rotate = ToolRef("img", "image_rotate", "Rotate an image.", {"type": "object", "properties": {
        "input_path": {"type": "string"}, "output_path": {"type": "string"}, "angle": {"type": "number"}},
        "required": ["input_path", "output_path", "angle"]})
    readers = [ref("image_info", ["path"], ["path"]), ref("find_contours", ["input_path", "output_path"], ["input_path"]),
               ref("histogram_data", ["input_path", "bins"], ["input_path"]),  # of the image the filter read
               ref("video_info", ["path"], ["path"])]  # a reader of another kind of file
    call = CallRecord(0, "img", "image_rotate", {"input_path": "/workspace/a.png", "output_path": "/workspace/a-out.png",
                                                 "angle": 3}, [], None, False)
    probe = pick_probe(call, rotate, readers)
    assert (probe.tool.name, probe.arguments) == ("image_info", {"path": "/workspace/a-out.png"})
    # an effect whose name shares no noun with either reader (a Sobel filter): the reader that writes nothing
    sobel = ToolRef("img", "edges_sobel", "Sobel gradient magnitude.", rotate.input_schema)
    probe = pick_probe(CallRecord(0, "img", "edges_sobel", call.arguments, [], None, False), sobel, readers)
    assert (probe.tool.name, probe.arguments) == ("image_info", {"path": "/workspace/a-out.png"})
