"""Unit tests of firefly.explore.futility: when another call of a tool is futile."""

from firefly.explore.futility import Futility, same_failure, unavailable


def test_an_error_saying_the_server_cannot_do_it_is_futile_at_once():
    f = Futility()
    f.note(("x", 0, 0), "s", "t", worked=False, arguments_hash="a", text="No module named 'reportlab'")
    assert "No module named" in f.futile("s", "t")
    assert f.futile("s", "other") is None


def test_the_same_failure_with_two_sets_of_arguments_is_futile():
    f = Futility()
    f.note(("x", 0, 0), "s", "t", worked=False, arguments_hash="a", text="error: list index out of range at /tmp/a 3")
    assert f.futile("s", "t") is None  # once is not a pattern
    f.note(("x", 0, 0), "s", "t", worked=False, arguments_hash="b", text="error: list index out of range at /tmp/a 3")
    assert f.futile("s", "t") is None  # the same call noted twice (a resumed run) counts once
    f.note(("x", 0, 1), "s", "t", worked=False, arguments_hash="a", text="error: list index out of range at /tmp/a 3")
    assert f.futile("s", "t") is None  # the same arguments again prove nothing
    f.note(("y", 0, 0), "s", "t", worked=False, arguments_hash="b", text="error: list index out of range at /w/b 7")
    assert "2 different sets of arguments" in f.futile("s", "t")


def test_failures_that_a_first_step_or_a_success_may_cure_are_left_alone():
    f = Futility()
    for i, h in enumerate("abc"):
        f.note(("y", i, 0), "s", "u", worked=False, arguments_hash=h, text="No presentation is currently loaded")
    assert f.futile("s", "u") is None  # something must be made first: that is the cure, tried first
    f.note(("y", 4, 0), "s", "u", worked=False, arguments_hash="d", text="No presentation is currently loaded")
    assert "4 different sets" in f.futile("s", "u")  # ... but not forever
    f.note(("z", 0, 0), "s", "v", worked=True, arguments_hash="a")
    f.note(("z", 1, 0), "s", "v", worked=False, arguments_hash="b", text="pip install reportlab")
    assert f.futile("s", "v") is None  # it worked once: failures are the arguments' fault


def test_two_failing_sets_of_arguments_of_a_tool_that_never_worked_are_futile():
    # a tool that works at all works by its second call: a third call after two failures
    # is almost always one more failed call, whatever the errors said
    f = Futility()
    f.note(("x", 0, 0), "s", "t", worked=False, arguments_hash="a", text="no entry 'alpha'",
           arguments={"n": "alpha"})
    f.note(("x", 0, 1), "s", "t", worked=False, arguments_hash="a", text="no entry 'alpha'",
           arguments={"n": "alpha"})
    assert f.futile("s", "t") is None  # the same arguments again prove nothing
    f.note(("y", 0, 0), "s", "t", worked=False, arguments_hash="b", text="KeyError: 'gamma'")
    assert "2 different sets of arguments and never worked" in f.futile("s", "t")
    f.note(("e", 0, 0), "s", "e", worked=False, arguments_hash="a", text="no entry 'a'", arguments={"n": "a"})
    assert f.futile("s", "e") is None
    f.note(("e", 1, 0), "s", "e", worked=False, arguments_hash="b", text="no entry 'b'", arguments={"n": "b"})
    assert "2 different sets" in f.futile("s", "e")  # errors echoing the arguments count too
    f.note(("z", 0, 0), "s", "w", worked=True, arguments_hash="a")
    for i, h in enumerate("bcdefg"):
        f.note(("z", i + 1, 0), "s", "w", worked=False, arguments_hash=h, text=f"bad {h}")
    assert f.futile("s", "w") is None  # it worked once: its failures are the arguments'


def test_a_tool_taking_no_arguments_that_failed_twice_is_futile():
    f = Futility()
    f.note(("survey-s", 0, 0), "s", "webcam", worked=False, arguments_hash="e", text="no camera", fixed=True)
    assert f.futile("s", "webcam") is None  # the survey's call: state made first may cure it once
    f.note(("x", 2, 0), "s", "webcam", worked=False, arguments_hash="e", text="no camera", fixed=True)
    assert "takes no arguments and failed 2 times" in f.futile("s", "webcam")
    for i in range(3):
        f.note(("y", i, 0), "s", "summary", worked=False, arguments_hash="e", text="No deck is currently open",
               fixed=True)
    assert f.futile("s", "summary") is None  # something must be made first: tried a little longer


def test_signatures():
    assert unavailable("Error: RediSearch unknown command 'FT.CREATE'") == "unknown command"
    assert unavailable("Error: datetime is required for convert") is None
    assert unavailable("Error calling tool 'is_square': module 'sympy' has no attribute 'is_square'")
    assert unavailable("'list' object has no attribute 'T'") is None  # the arguments' shape may be at fault
    assert same_failure("the result reports a failure (isError is false): at /a/b line 12") == "at # line #"


def test_values_a_tool_rejected_are_remembered_for_the_run_until_they_work():
    from firefly.explore.futility import blamed_values

    f = Futility()
    f.note(("x", 0, 0), "s", "get", worked=False, arguments_hash="a", arguments={"key": "user:1", "n": 3},
           text="Error retrieving key user:1: WRONGTYPE Operation against a key holding the wrong kind of value")
    assert f.rejected("s", "get", "/key") == {'"user:1"'}
    assert f.rejected("s", "get", "/n") == set() and f.rejected("s", "other", "/key") == set()
    f.note(("x", 1, 0), "s", "add", worked=False, arguments_hash="b", arguments={"fields": {}, "key": "q"},
           text="fields must be a non-empty dict")
    assert f.rejected("s", "add", "/fields") == {"{}"}  # sent empty, it failed
    f.note(("y", 0, 0), "s", "get", worked=True, arguments_hash="c", arguments={"key": "user:1"})
    assert f.rejected("s", "get", "/key") == set()  # it works there now
    assert f.worked_with("s", "get") == {frozenset({"key"})} and f.worked_with("s", "add") == set()
    # a value inside a longer word is not named; a dump of the whole call blames nothing
    assert blamed_values("no such thing: users", {"name": "user"}) == {}
    call = {"a": "alpha", "b": "beta", "c": "gamma"}
    assert blamed_values("failed on alpha beta gamma", call) == {}
    assert blamed_values("unknown: alpha", call) == {"/a": '"alpha"'}
    # whether a thing exists depends on the world of the exploration: not rejected for good
    assert blamed_values("ENOENT: no such file or directory, open '/w/notes.md'", {"path": "/w/notes.md"}) == {}
    assert blamed_values("Epic not found: story-1", {"epic_id": "story-1", "tags": []}) == {"/tags": "[]"}


def test_a_reader_that_fails_whatever_it_is_given_is_not_chosen_as_a_probe(store):
    from firefly.explore.policy import CallRecord, ToolRef, WorkspaceInfo
    from firefly.explore.stage import Walk

    ro = {"readOnlyHint": True}
    refs = {("s", n): ToolRef("s", n, "", {"type": "object"}, annotations=ro) for n in ("summary", "show")}
    refs[("s", "add")] = ToolRef("s", "add", "", {"type": "object"})
    futility = Futility()
    futility.note(("x", 0, 0), "s", "summary", worked=False, arguments_hash="a", text="pip install reportlab")
    offered = []

    class Policy:
        def probe(self, call, tool, readers, workspace):
            offered.extend(r.name for r in readers)

    walk = Walk(store, None, None, "x", refs, futility=futility)
    walk.pick_probe(Policy(), CallRecord(0, "s", "add", {}, [], None, False), refs[("s", "add")], WorkspaceInfo())
    assert offered == ["show"]


def test_a_probe_with_a_value_its_reader_rejected_is_not_made(store):
    from firefly.explore.policy import CallRecord, ToolRef, WorkspaceInfo
    from firefly.explore.probe import Probe
    from firefly.explore.stage import Walk

    show = ToolRef("s", "show", "", {"type": "object"}, annotations={"readOnlyHint": True})
    add = ToolRef("s", "add", "", {"type": "object"})
    futility = Futility()
    futility.note(("x", 0, 0), "s", "show", worked=False, arguments_hash="a", arguments={"key": "jobs"},
                  text="Error retrieving key jobs: WRONGTYPE Operation against a key holding the wrong kind of value")

    class Policy:
        def probe(self, call, tool, readers, workspace):
            return Probe(show, {"key": call.arguments["key"]})

    walk = Walk(store, None, None, "x", {("s", "show"): show, ("s", "add"): add}, futility=futility)
    made = [walk.pick_probe(Policy(), CallRecord(0, "s", "add", {"key": k}, [], None, False), add, WorkspaceInfo())
            for k in ("jobs", "cart")]
    assert made[0] is None and made[1].arguments == {"key": "cart"}


def test_a_reader_that_only_failed_as_the_probe_after_an_effect_is_not_its_probe_again():
    """``get`` (a string) after ``hset`` made a hash failed WRONGTYPE: the next ``hset`` is
    probed by another reader; ``get`` stays a probe of what it did read, and after a removal
    a failing read is what shows it (not excluded)."""
    from firefly.explore.policy import ToolRef
    from firefly.explore.probe import Probe
    from firefly.explore.stage import Walk

    obj = {"type": "object", "properties": {"key": {"type": "string"}}, "required": ["key"]}
    refs = {("r", n): ToolRef("r", n, None, obj, {"readOnlyHint": n.startswith(("get", "hget"))})
            for n in ("hset", "get", "hgetall", "delete_key")}
    futility = Futility()
    futility.note_probe("r", "hset", "get", worked=False)
    futility.note_probe("r", "set", "get", worked=True)
    futility.note_probe("r", "delete_key", "get", worked=False)
    assert futility.blind("r", "hset", "get") and not futility.blind("r", "set", "get")

    class _Policy:
        def probe(self, call, tool, readers, info):
            self.offered = sorted(t.name for t in readers)
            return Probe(readers[0], {"key": "k"})

    walk = object.__new__(Walk)
    walk.refs, walk.futility = refs, futility
    policy = _Policy()
    walk.pick_probe(policy, None, refs[("r", "hset")], None, after=True)
    assert policy.offered == ["hgetall"]
    walk.pick_probe(policy, None, refs[("r", "hset")], None)  # before the effect: the world as it was
    assert policy.offered == ["get", "hgetall"]
    walk.pick_probe(policy, None, refs[("r", "delete_key")], None, after=True)
    assert policy.offered == ["get", "hgetall"]


def test_a_value_of_the_wrong_kind_for_one_tool_is_not_given_to_the_tools_taking_the_same_kind():
    """hget rejected "counter" (WRONGTYPE): hgetall, whose name is documented as the same
    kind of thing (a hash), is not given it either; smembers (a set) still is; once a hash
    tool worked with it (made since), it may be given again."""
    from firefly.explore.paramdocs import thing_kind
    from firefly.explore.policy import ToolRef

    def tool(name: str, doc: str) -> ToolRef:
        return ToolRef("redis", name, f"Do it.\n\n    Args:\n        name: {doc}\n",
                       {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]})

    refs = {t.name: t for t in (tool("hget", "The Redis hash key."), tool("hgetall", "The Redis hash key."),
                                tool("hdel", "The Redis hash key."),
                                tool("smembers", "The Redis set key."), tool("zrange", "The sorted set key."))}
    assert thing_kind(refs["hget"], "name") == "hash" and thing_kind(refs["zrange"], "name") == "sorted set"
    futility = Futility()
    futility.kind_of = lambda server, name, pointer: thing_kind(refs[name], pointer[1:])
    futility.note(("x", 0, 0), "redis", "hget", worked=False, arguments={"name": "counter"}, arguments_hash="a",
                  text="Error getting field from hash 'counter': WRONGTYPE Operation against a key holding the wrong"
                       " kind of value")
    assert '"counter"' in futility.rejected("redis", "hgetall", "/name")
    assert '"counter"' not in futility.rejected("redis", "smembers", "/name")
    futility.note(("x", 1, 0), "redis", "hgetall", worked=True, arguments={"name": "counter"}, arguments_hash="b")
    assert '"counter"' not in futility.rejected("redis", "hdel", "/name")


def test_a_value_the_reader_rejected_is_probed_after_an_effect_that_was_given_it(store):
    """``get`` rejected ``user:1`` while it held a list; ``set`` then made it a string: the
    probe after ``set`` reads it (before the effect, it would fail as it did)."""
    from firefly.explore.policy import CallRecord, ToolRef, WorkspaceInfo
    from firefly.explore.probe import Probe
    from firefly.explore.stage import Walk

    get = ToolRef("s", "get", "", {"type": "object"}, annotations={"readOnlyHint": True})
    put = ToolRef("s", "set", "", {"type": "object"})
    futility = Futility()
    futility.note(("x", 0, 0), "s", "get", worked=False, arguments_hash="a", arguments={"key": "user:1"},
                  text="Error retrieving key user:1: WRONGTYPE Operation against a key holding the wrong kind of value")

    class Policy:
        def probe(self, call, tool, readers, workspace):
            return Probe(get, {"key": "user:1"})

    walk = Walk(store, None, None, "x", {("s", "get"): get, ("s", "set"): put}, futility=futility)
    record = CallRecord(0, "s", "set", {"key": "user:1", "value": "blue"}, [], None, False)
    assert walk.pick_probe(Policy(), record, put, WorkspaceInfo()) is None  # the world before: a list still
    assert walk.pick_probe(Policy(), record, put, WorkspaceInfo(), after=True).arguments == {"key": "user:1"}
    other = CallRecord(0, "s", "set", {"key": "user:2", "value": "blue"}, [], None, False)
    assert walk.pick_probe(Policy(), other, put, WorkspaceInfo(), after=True) is None  # another key was changed


def test_a_probe_that_read_another_kind_of_thing_is_followed_by_the_next_reader_once():
    """``hgetall`` after ``sadd`` made a set: WRONGTYPE; ``sismember`` is tried next. After a
    removal, the failing read is what shows it: no other reader."""
    import anyio

    from firefly.events import ToolCalled
    from firefly.explore.policy import CallRecord, ToolRef
    from firefly.explore.probe import Probe
    from firefly.explore.stage import Walk

    obj = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    refs = {("r", n): ToolRef("r", n, None, obj, {"readOnlyHint": n in ("hgetall", "smembers", "sismember")})
            for n in ("sadd", "remove_member", "hgetall", "sismember")}
    answers = {"hgetall": False, "sismember": True}

    class Policy:
        def probe(self, call, tool, readers, info):
            return Probe(readers[0], {"name": "colors"})  # readers come sorted by name

    def walk_for(effect: str) -> tuple[Walk, list[str]]:
        walk = object.__new__(Walk)
        walk.refs, walk.futility, walk.recorded, walk.step = refs, Futility(), {}, 1
        walk.history = [CallRecord(0, "r", effect, {"name": "colors", "value": "blue"}, [], None, False)]
        made: list[str] = []

        async def call(tool, propose, *, attempt=0, probe_of=None):
            made.append(tool.name)
            worked = answers[tool.name]
            return ToolCalled(exploration_id="x", step=walk.step, server="r", tool=tool.name, arguments={"name": "colors"},
                              is_error=not worked, error_class=None if worked else "tool-error",
                              error=None if worked else "WRONGTYPE", read_only=True, probe_of=probe_of)

        walk.call = call
        return walk, made

    effect = ToolCalled(exploration_id="x", step=0, server="r", tool="sadd", arguments={"name": "colors"},
                        read_only=False)
    walk, made = walk_for("sadd")
    anyio.run(walk.probe, Policy(), effect, refs[("r", "sadd")], None)
    assert made == ["hgetall", "sismember"] and walk.step == 3
    assert walk.futility.blind("r", "sadd", "hgetall") and not walk.futility.blind("r", "sadd", "sismember")
    walk, made = walk_for("remove_member")
    anyio.run(walk.probe, Policy(), effect, refs[("r", "remove_member")], None)
    assert made == ["hgetall"] and walk.step == 2
