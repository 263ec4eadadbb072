"""The simulator: recorded tool results served offline, one world state per episode.

    sim = Simulator.open("firefly.db", mode="strict")       # "strict" | "nearest" | "llm"
    ep = sim.episode()
    r = ep.call_sync("notes", "read_note", {"path": "/workspace/files/todo.md"})   # or: await ep.call(...)
    r.content, r.structured_content, r.is_error, r.meta

**Lookup.** A call's key is its server, tool and canonical arguments
(:mod:`firefly.simulator.canonical`). The recorded results under that key
(``sim_calls``, :mod:`firefly.projections.simulator`) are tried in this order:

1. *same world*: results observed in exactly the episode's state (the hash of every effect
   so far, as the explorer records it). A reference trajectory replayed in order in one
   episode hits here at every step.
2. *same server state*: results observed after exactly the same effects **on the same
   server**, in the same order. Servers are separate worlds (the bundled ones each own a
   part of the workspace: files, the git repository, the SQLite file, the memory file), so
   what other servers did does not change this one's answer. This is what lets an agent
   call tools in an order the explorer did not: a read-only call on a server that saw no
   effect since (or the same effects) gets the recorded result.
3. *any state*, for a server whose world cannot change (:func:`firefly.adapters.verbs.changes_nothing`:
   every tool of it is read-only or nothing says it changes anything, a calculator, a chart
   maker or a statistics package) unless the log shows one of its calls answering two ways
   (a tool that says it answers by chance, a bootstrap or a die, is not such evidence): its
   calls before do not matter, so the result recorded in any state answers.
4. *unrelated effects*: results observed in a state of that server that differs from the
   episode's only by effects the call cannot depend on (:mod:`firefly.simulator.footprint`:
   both name something and nothing either names meets the other's: a file read is not
   changed by a folder made elsewhere, a session's info by closing another session; an
   effect that wrote only to an output path it was given names only that path, not the
   file it read). The effects the call may depend on must be the same, in the same order.
5. *shown unchanged*: results observed in a state of that server that differs from the
   episode's only by runs of effects the log shows did not change what the call meets: for
   a read, the same read answered alike just before and just after each run, in one
   exploration (the initial world's answer, a survey's, counts as the one before an
   exploration's first effect); for a change, every read the explorer probed just before it
   did, and showed the change, read again after it. ``get_epics`` listed no epic on the
   initial world and none after two changes to stories; ``create_epic`` (probed by that
   listing) made an epic, listed next: a world without the stories' changes makes and lists
   it so. Only whole runs are left out (a file made and removed again shows no change as a
   pair, not one by one), never one holding the change that made what the call names (the
   presentation it edits); the effects kept must be the same, in the same order.
6. otherwise the arguments were recorded, but only in another state of that server (the
   file was read before it was written, say): that is a **miss**, never a stale answer.

**Several results for one key** (a clock, a random tool, one call recorded in several
explorations): all stay in ``sim_calls``; within the first tier that has any, the n-th
time an episode makes the same call in the same state it gets the n-th recorded result in
log order, and the last one once they run out. A fresh episode therefore always gets the
first recorded result, and a clock read twice moves forward as it did when recorded.
``meta`` says which (``position``; ``repeat``: how many times the episode asked before).

**World state.** An episode keeps the effects of its calls: each successful result of a
call that is not read-only appends ``[server, tool, arguments_hash]``, where
``arguments_hash`` is the *recorded* call's hash for a recorded result (so cosmetic
differences in the arguments do not change the world), and the hash of the canonical
arguments for an approximate or generated one (a world the log never saw: later calls on
that server miss rather than answer from another world). Episodes never share effects.

**Misses** depend on the mode: ``strict`` answers a tool error (``is_error``, text
:data:`MISS_TEXT`); ``nearest`` answers the result of the most similar recorded arguments
of the same tool (:mod:`firefly.simulator.nearest`) when the cosine similarity reaches the
threshold, marked ``{"approximate": True, "similarity": s}`` in ``meta``, else the strict
error; ``llm`` asks a model (:mod:`firefly.simulator.generate`).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import msgspec

from ..errors import FireflyError
from ..adapters.verbs import (MAKE_VERBS, by_chance, changes_nothing, name_words, read_inputs, writes_by_arguments,
                              written_places)
from ..explore.policy import ToolRef
from ..explore.stage import is_read_only
from ..ids import canonical_json, content_hash
from ..jsonvalues import leaves
from ..store import Store
from .canonical import ArgumentsError, call_key, canonicalise, has_defaults
from .footprint import Footprint, footprint, unrelated
from .settings import DEFAULT_K, DEFAULT_THRESHOLD, MISS_TEXT, MODES


_decoder = msgspec.json.Decoder()


class SimulatorError(FireflyError):
    """The simulator cannot be opened as asked."""


@dataclass(frozen=True)
class SimResult:
    """A simulated tool result, shaped like MCP's CallToolResult."""

    content: list[dict[str, Any]]
    structured_content: dict[str, Any] | None = None
    is_error: bool = False
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The text blocks joined (for reading and comparing)."""
        return "\n".join(b["text"] for b in self.content if b.get("type") == "text" and isinstance(b.get("text"), str))


def error_result(text: str, **meta: Any) -> SimResult:
    return SimResult([{"type": "text", "text": text}], None, True, meta)


@dataclass(frozen=True)
class SimTool:
    """A tool as discovery recorded it (what ``simulate serve`` lists)."""

    server: str
    name: str
    title: str | None
    description: str | None
    input_schema: dict[str, Any]
    output_schema: dict[str, Any] | None
    annotations: dict[str, Any]
    live: bool
    defaults: bool = True  # whether the input schema declares any default

    @property
    def read_only(self) -> bool:
        return is_read_only(ToolRef(self.server, self.name, self.description, self.input_schema, self.annotations))

    def reads(self, arguments: dict[str, Any]) -> bool:
        """Whether a call with ``arguments`` only reads (a command line of reading programs too)."""
        return is_read_only(ToolRef(self.server, self.name, self.description, self.input_schema, self.annotations,
                                    title=self.title), arguments)


@dataclass(frozen=True)
class Call:
    """A call ready for lookup: its canonical arguments and key."""

    server: str
    tool: str
    arguments: dict[str, Any]
    canonical: str
    key: str
    info: SimTool


Effect = tuple[str, str, str]  # server, tool, arguments_hash
INITIAL_STATE = content_hash([])


ROW_CACHE = 200_000  # recorded rows kept in memory by a simulator
_NOT_READ = object()
_COLUMNS = "position, content, structured_content, is_error, read_only, arguments_hash, exploration_id, step"


def _result(row: tuple[Any, ...]) -> SimResult:
    position, content, structured, is_error, read_only, arguments_hash, exploration_id, step = row
    meta = {"source": "recorded", "position": position, "exploration_id": exploration_id, "step": step,
            "arguments_hash": arguments_hash, "read_only": bool(read_only)}
    return SimResult(_decoder.decode(content), _decoder.decode(structured) if structured else None, bool(is_error), meta)


def _shown_text(content: str, structured: str | None) -> str:
    """The strings a recorded result shows (not its JSON keys), lower case, one per line."""
    blocks = _decoder.decode(content)
    texts = [b.get("text") if b.get("type") == "text" else b for b in blocks if isinstance(b, dict)]
    values = leaves([texts, _decoder.decode(structured) if structured else None])
    return "\n".join(str(v) for v in values if isinstance(v, (str, int, float)) and not isinstance(v, bool)).lower()


def _without_runs(effects: list[Effect], runs: list[tuple[int, int]], wanted: list[Effect]) -> bool:
    """Whether leaving out some of ``runs`` (whole runs ``effects[k:n]``, each shown not to
    change a read) from ``effects`` leaves exactly ``wanted``."""
    drop = len(effects) - len(wanted)
    if drop <= 0 or len(runs) > 12:
        return False
    for size in range(1, len(runs) + 1):
        for chosen in itertools.combinations(runs, size):
            if sum(n - k for k, n in chosen) != drop:
                continue
            gone = {i for k, n in chosen for i in range(k, n)}
            if len(gone) == drop and [e for i, e in enumerate(effects) if i not in gone] == wanted:
                return True
    return False


def _where(column: str) -> str:
    """The condition a tier puts on ``sim_calls`` rows, with one parameter (the state; any
    state: the parameter is ignored)."""
    return f"{column} = ?" if column else "? IS NOT NULL"


def _state_of(effects: list[Effect]) -> str:
    return content_hash([canonical_json(list(e)) for e in effects]) if effects else INITIAL_STATE


def _effect_print(tool: str, arguments: Any, schema: Any, shown: str, plain: bool = False) -> tuple[Footprint, str]:
    """What a recorded effect names and shows, for :func:`unrelated`: an effect that wrote
    only to the places it was given to write to (:func:`written_places`: an output path)
    changed only what is there; what it read to write them (its input file) and what its
    reply says about them are no change. An effect that makes something from what it was
    given to read (:func:`read_inputs`: a presentation from a template) changed none of it.
    ``plain``: every value it names counts (for a call that makes something itself: what it
    makes may be numbered after what the effect made, ``presentation_2``)."""
    if plain:
        return footprint(arguments, schema), shown
    places = written_places(tool, schema, arguments)
    if places is not None:
        return footprint({"written": places}), "\n".join(places).lower()
    inputs = read_inputs(tool, arguments)
    if not inputs:
        return footprint(arguments, schema), shown
    rest = {k: v for k, v in arguments.items() if v not in inputs}
    for v in inputs:  # its reply naming the template it read is no sign it changed it
        shown = shown.replace(v.strip().lower(), "")
    printed = footprint(rest, schema)
    # it made something new (shown in its reply): it names nothing else the call could meet
    return (printed if not printed.empty else Footprint(frozenset(), frozenset({"\x00made"}), frozenset(), "")), shown


class Episode:
    """One simulated world: the effects of its own calls, nothing else's."""

    def __init__(self, sim: Simulator, effects: Iterable[Effect] = ()):
        self.sim = sim
        self.effects: list[Effect] = [tuple(e) for e in effects]  # type: ignore[misc]
        self._state: str | None = None
        self._server_states: dict[str, str] = {}
        self.repeats: dict[tuple[str, str, str], int] = {}  # (key, tier, state) -> results served
        self.calls = 0
        self.results: list[tuple[str, SimResult]] = []  # (call key, result) of each call that worked, in order
        # every call made of a known tool with arguments that are an object, worked or not:
        # (server, tool, canonical arguments), in order (an action is scored by the calls made)
        self.made: list[tuple[str, str, dict[str, Any]]] = []

    @property
    def state(self) -> str:
        """The hash of every effect so far (the explorer's ``state``)."""
        if self._state is None:
            self._state = _state_of(self.effects)
        return self._state

    def server_state(self, server: str) -> str:
        """The hash of the effects on one server so far."""
        cached = self._server_states.get(server)
        if cached is None:
            cached = self._server_states[server] = _state_of([e for e in self.effects if e[0] == server])
        return cached

    def add_effect(self, effect: Effect) -> None:
        self.effects.append(effect)
        self._state = None
        self._server_states.pop(effect[0], None)

    def returned(self, server: str, tool: str, arguments: Any) -> SimResult | None:
        """The last result this episode got that worked from the call of ``tool`` with these
        arguments (compared as the simulator canonicalises them), or None."""
        prepared = self.sim.prepare(server, tool, arguments)
        if isinstance(prepared, SimResult):
            return None
        return next((r for key, r in reversed(self.results) if key == prepared.key), None)

    def call_sync(self, server: str, tool: str, arguments: Any = None) -> SimResult:
        """Simulate one call (blocking; the llm mode may ask a model on a miss)."""
        prepared, result = self._lookup(server, tool, arguments)
        if result is None:
            result = self._miss(prepared)
        return self._after(prepared, result)

    async def call(self, server: str, tool: str, arguments: Any = None) -> SimResult:
        """Simulate one call; a miss that asks a model runs in a worker thread."""
        prepared, result = self._lookup(server, tool, arguments)
        if result is None:
            result = await anyio.to_thread.run_sync(self._miss, prepared) if self.sim.mode == "llm" else self._miss(prepared)
        return self._after(prepared, result)

    def _lookup(self, server: str, tool: str, arguments: Any) -> tuple[Call | None, SimResult | None]:
        prepared = self.sim.prepare(server, tool, arguments)
        if isinstance(prepared, SimResult):
            return None, prepared
        with self.sim.lock:
            return prepared, self.sim.lookup(prepared, self)

    def _miss(self, prepared: Call | None) -> SimResult:
        assert prepared is not None
        with self.sim.lock:
            return self.sim.miss(prepared, self)

    def _after(self, call: Call | None, result: SimResult) -> SimResult:
        self.calls += 1
        if call is not None:
            self.made.append((call.server, call.tool, call.arguments))
        if call is None or result.is_error:
            return result
        self.results.append((call.key, result))
        recorded_hash = result.meta.get("arguments_hash")
        if result.meta.get("source") == "recorded" and not result.meta.get("approximate"):
            if not result.meta.get("read_only"):
                self.add_effect((call.server, call.tool, recorded_hash))
        elif not call.info.reads(call.arguments):
            self.add_effect((call.server, call.tool, content_hash(call.canonical)))
        return result


class Simulator:
    """Recorded calls of one database, served offline. Use :meth:`open`."""

    def __init__(self, store: Store, mode: str, *, owns_store: bool, threshold: float, k: int, llm: Any,
                 exclude: Iterable[int] | None, index_path: Path | None):
        self.store = store
        self.mode = mode
        self.threshold = threshold
        self.k = k
        self.llm = llm
        self.exclude = frozenset(exclude or ())
        self.lock = threading.RLock()
        self._owns_store = owns_store
        self._index_path = index_path
        self._index: Any = None
        self.tools: dict[tuple[str, str], SimTool] = {}
        self.reload()

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        db: str | Path | Store,
        mode: str = "strict",
        *,
        threshold: float = DEFAULT_THRESHOLD,
        k: int = DEFAULT_K,
        llm: Any = None,
        exclude: Iterable[int] | None = None,
        index_path: str | Path | None = None,
    ) -> Simulator:
        """A simulator over a database (a path or an open :class:`Store`).

        ``mode``: strict, nearest or llm. ``threshold``: the similarity a nearest result
        needs. ``k``: recorded calls shown to the llm mode's model. ``llm``: a
        :class:`firefly.llm.LLM` (default: from ``FIREFLY_LLM_*``). ``exclude``: positions
        of recorded calls to leave out (fidelity's hold-out); the nearest index is then
        built in memory. ``index_path``: where the argument index lives (default
        ``<db>.calls.usearch``)."""
        if mode not in MODES:
            raise SimulatorError(f"unknown simulator mode {mode!r}; use one of: {', '.join(MODES)}")
        if mode == "llm" and llm is None:
            from ..llm import LLM, LLMConfig

            llm = LLM(LLMConfig.from_env().require("the simulator's llm mode"))
        owns = not isinstance(db, Store)
        store = Store.open(db) if owns else db  # type: ignore[arg-type]
        return cls(store, mode, owns_store=owns, threshold=threshold, k=k, llm=llm, exclude=exclude,
                   index_path=Path(index_path) if index_path else None)

    def reload(self) -> None:
        """Catch up with the log (new recorded calls and tools)."""
        with self.lock:
            self.store.catch_up()
            tools = {}
            for server, name, title, desc, schema, output, annotations, removed in self.store.conn.execute(
                "SELECT server, name, title, description, input_schema, output_schema, annotations, removed FROM tools"
                " WHERE callable = 1 ORDER BY server, name"
            ):
                input_schema = _decoder.decode(schema)
                tools[(server, name)] = SimTool(server, name, title, desc, input_schema,
                                                _decoder.decode(output) if output else None, _decoder.decode(annotations),
                                                not removed, has_defaults(input_schema))
            self.tools = tools
            self.unchanging = self._unchanging(tools)
            self._index = None
            self._rows: dict[tuple[str, str, str, int], tuple[Any, ...] | None] = {}
            self._before: dict[tuple[str, int, str], list[Effect]] = {}
            self._effect_prints: dict[tuple[Effect, bool], tuple[Footprint, str] | None] = {}
            self._unrelated_rows: dict[tuple[str, tuple[Effect, ...]], tuple[Any, ...] | None] = {}
            self._cursor = self.store.conn.cursor()

    def _unchanging(self, tools: dict[tuple[str, str], SimTool]) -> frozenset[str]:
        """The servers whose world cannot change (the module docstring, tier 3)."""
        by_server: dict[str, list[tuple[str, Any, Any, bool, Any]]] = {}
        for (server, name), t in tools.items():
            by_server.setdefault(server, []).append((name, t.annotations, t.description, t.read_only, t.input_schema))
        from ..explore.paramdocs import value_servers

        values = value_servers(ToolRef(t.server, t.name, t.description, t.input_schema, t.annotations)
                               for t in tools.values())
        quiet = {server for server, ts in by_server.items() if changes_nothing(ts, server in values)}
        if not quiet:
            return frozenset()
        marks = ",".join("?" * len(quiet))
        # a call answering two ways shows a world that moved, unless the tool says it answers by chance
        chance = {(server, name) for (server, name), t in tools.items() if server in quiet and by_chance(name, t.description)}
        moving = {server for server, tool in self.store.conn.execute(
            f"SELECT server, tool FROM sim_calls WHERE server IN ({marks}) GROUP BY key"
            " HAVING count(DISTINCT content || char(0) || coalesce(structured_content, '')) > 1", sorted(quiet))
            if (server, tool) not in chance}
        # a call that filled a place to write to (an optional output path) wrote there
        moving |= {server for server, tool, arguments in self.store.conn.execute(
            f"SELECT server, tool, arguments FROM sim_calls WHERE effect = 1 AND server IN ({marks})", sorted(quiet))
            if (server, tool) in tools and writes_by_arguments(tools[(server, tool)].input_schema, _decoder.decode(arguments))}
        return frozenset(quiet - moving)

    def tiers(self, episode: Episode, server: str) -> list[tuple[str, str, str]]:
        """The lookup tiers for a call on ``server`` in an episode, in order: (name, the
        ``sim_calls`` column it matches, the value)."""
        out = [("world", "state", episode.state), ("server", "server_state", episode.server_state(server))]
        if server in self.unchanging:
            out.append(("any", "", ""))
        return out

    def close(self) -> None:
        if self._owns_store:
            self.store.close()

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- calling ---------------------------------------------------------------------------

    def episode(self, effects: Iterable[Effect] = ()) -> Episode:
        """A fresh simulated world (the initial state, or after ``effects``)."""
        return Episode(self, effects)

    def call_sync(self, server: str, tool: str, arguments: Any = None) -> SimResult:
        """One call in a fresh episode (the initial state)."""
        return self.episode().call_sync(server, tool, arguments)

    async def call(self, server: str, tool: str, arguments: Any = None) -> SimResult:
        return await self.episode().call(server, tool, arguments)

    def prepare(self, server: str, tool: str, arguments: Any) -> Call | SimResult:
        """The canonical call, or the error result for a call that cannot be one."""
        info = self.tools.get((server, tool))
        if info is None:
            return error_result(f"unknown tool {server}/{tool}: discovery recorded no such tool", source="simulator")
        try:
            args, canonical = canonicalise(arguments, info.input_schema, defaults=info.defaults)
        except ArgumentsError as exc:
            return error_result(str(exc), source="simulator")
        return Call(server, tool, args, canonical, call_key(server, tool, canonical), info)

    def candidates(self, key: str, episode: Episode, server: str) -> tuple[list[int], str, str]:
        """Positions of the recorded results for ``key`` in the first tier that has any,
        with the tier's name and the state it matched."""
        conn = self.store.conn
        for tier, column, state in self.tiers(episode, server):
            rows = [r[0] for r in conn.execute(
                f"SELECT position FROM sim_calls WHERE key = ? AND {_where(column)} ORDER BY position", (key, state))]
            if self.exclude:
                rows = [p for p in rows if p not in self.exclude]
            if rows:
                return rows, tier, state
        return [], "", ""

    def recorded(self, position: int) -> tuple[SimResult, bool]:
        """A recorded result by its event position, and whether the call was read-only."""
        row = self.store.conn.execute(f"SELECT {_COLUMNS} FROM sim_calls WHERE position = ?", (position,)).fetchone()
        return _result(row), bool(row[4])

    def _row(self, key: str, tier: str, state: str, n: int) -> tuple[Any, ...] | None:
        """The n-th recorded row of a key in a state (the last one once they run out); rows
        read are kept in memory until :meth:`reload` (the log only grows)."""
        cached = self._rows.get((key, tier, state, n), _NOT_READ)
        if cached is not _NOT_READ:
            return cached  # type: ignore[return-value]
        column = {"world": "state", "server": "server_state"}.get(tier, "")
        where = f"FROM sim_calls WHERE key = ? AND {_where(column)} ORDER BY position"
        row = self._cursor.execute(f"SELECT {_COLUMNS} {where} LIMIT 1 OFFSET ?", (key, state, n)).fetchone()
        if row is None and n:
            row = self._cursor.execute(f"SELECT {_COLUMNS} {where} DESC LIMIT 1", (key, state)).fetchone()
        if len(self._rows) >= ROW_CACHE:
            self._rows.clear()
        self._rows[(key, tier, state, n)] = row
        return row

    def lookup(self, call: Call, episode: Episode) -> SimResult | None:
        """The recorded result for a call in the episode's state, or None (a miss)."""
        conn = self.store.conn
        for tier, column, state in self.tiers(episode, call.server):
            n = episode.repeats.get((call.key, tier, state), 0)
            if self.exclude:
                positions = [p for (p,) in conn.execute(
                    f"SELECT position FROM sim_calls WHERE key = ? AND {_where(column)} ORDER BY position", (call.key, state))
                    if p not in self.exclude]
                row = conn.execute(f"SELECT {_COLUMNS} FROM sim_calls WHERE position = ?",
                                   (positions[min(n, len(positions) - 1)],)).fetchone() if positions else None
            else:
                row = self._row(call.key, tier, state, n)
            if row is not None:
                episode.repeats[(call.key, tier, state)] = n + 1
                result = _result(row)
                result.meta.update(match="exact", state_match=tier, repeat=n)
                return result
        for tier, find in (("unrelated", self._find_unrelated_row), ("unchanged", self._find_unchanged_row)):
            row = self._other_state_row(tier, find, call, episode)
            if row is not None:
                result = _result(row)
                result.meta.update(match="exact", state_match=tier, repeat=0)
                return result
        return None

    def _other_state_row(self, tier: str, find: Any, call: Call, episode: Episode) -> tuple[Any, ...] | None:
        """The row tier 4 or 5 of the module docstring finds for a call in the episode's
        state (``find(call, the episode's effects on the call's server)``), remembered."""
        ours = [e for e in episode.effects if e[0] == call.server]
        memo = (tier, call.key, tuple(ours))
        if memo not in self._unrelated_rows:  # the log only grows: an answer stays right until reload
            if len(self._unrelated_rows) >= ROW_CACHE:
                self._unrelated_rows.clear()
            self._unrelated_rows[memo] = find(call, ours)
        return self._unrelated_rows[memo]

    def _find_unrelated_row(self, call: Call, ours: list[Effect]) -> tuple[Any, ...] | None:
        """The first recorded row of the call whose server's effects before it, and the
        episode's, are the same once the effects the call cannot depend on are left out
        (tier 4 of the module docstring)."""
        # where the call itself writes (find_contours saving to output_path) it overwrites: what
        # an effect left there is nothing the call meets, nor is its reply saying that place back
        own = [p.lower() for p in written_places(call.tool, call.info.input_schema, call.arguments) or []]
        mine = footprint({k: v for k, v in call.arguments.items() if not (isinstance(v, str) and v.strip().lower() in own)}
                         if isinstance(call.arguments, dict) else call.arguments, call.info.input_schema)
        if mine.empty:
            return None
        rows = self._cursor.execute(f"SELECT {_COLUMNS} FROM sim_calls WHERE key = ? ORDER BY position",
                                    (call.key,)).fetchall()
        for row in rows:
            if row[0] in self.exclude:
                continue
            shown = _shown_text(row[1], row[2])
            for place in own:
                shown = shown.replace(place, "")
            theirs = self._effects_before(row[6], row[7], call.server)
            # a call that makes something itself (opens a presentation) may be numbered after what the effects made
            plain = bool(MAKE_VERBS & set(name_words(call.tool)))
            if self._relevant(ours, mine, shown, plain) == self._relevant(theirs, mine, shown, plain):
                return row
        return None

    def _find_unchanged_row(self, call: Call, ours: list[Effect]) -> tuple[Any, ...] | None:
        """The first recorded row of the call whose server's effects before it are the
        episode's and runs of effects the log shows did not change what the call meets
        (tier 5 of the module docstring)."""
        rows = self._cursor.execute(f"SELECT {_COLUMNS} FROM sim_calls WHERE key = ? ORDER BY position",
                                    (call.key,)).fetchall()
        names = footprint(call.arguments, call.info.input_schema).values
        for r in rows:
            if r[0] in self.exclude:
                continue
            theirs = self._effects_before(r[6], r[7], call.server)
            if len(theirs) <= len(ours):
                continue
            # a run holding the change that made what the call names (the presentation it
            # edits) cannot go: without it, there is nothing of that name
            runs = [(k, n) for k, n in self._unchanged_runs(r, call.server)
                    if n <= len(theirs) and not any(self._made_named(e, names) for e in theirs[k:n])]
            if runs and _without_runs(theirs, runs, ours):
                return r
        return None

    def _made_named(self, effect: Effect, names: frozenset[str]) -> bool:
        """Whether a recorded effect's reply shows one of ``names`` (strings of a call's
        arguments) that its own arguments do not: it made that thing (``presentation_1``)."""
        if not names:
            return False
        found = self._effect_printed(effect, True)
        if found is None:
            return True  # an effect the log never recorded: nothing shows what it made
        given, shown = found
        return any(v in shown and v not in given.values for v in names)

    def _unchanged_runs(self, row: tuple[Any, ...], server: str) -> list[tuple[int, int]]:
        """The runs of effects ``effects[k:n]`` (on ``server``, in the row's exploration) the
        log shows did not change what the recorded call meets: the call itself, for a read;
        for a change, the reads probed just before it (what the explorer read to see what it
        changes). Each witness answered alike just before and just after the run."""
        exploration_id, step = row[6], row[7]
        if row[4]:
            witnesses = [self._cursor.execute("SELECT key FROM sim_calls WHERE position = ?", (row[0],)).fetchone()[0]]
        else:
            witnesses = [k for (k,) in self._cursor.execute(
                "SELECT DISTINCT s.key FROM calls c JOIN sim_calls s ON s.exploration_id = c.exploration_id"
                " AND s.step = c.step AND s.attempt = c.attempt WHERE c.exploration_id = ? AND c.probe_of = ?"
                " AND c.step < ? AND s.read_only = 1", (exploration_id, step, step))]
        found: set[tuple[int, int]] | None = None
        count = len(self._effects_before(exploration_id, step, server))
        for key in witnesses:
            answers = [a[1:] for a in self._cursor.execute(
                "SELECT position, exploration_id, step, server_state, content, structured_content FROM sim_calls"
                " WHERE key = ? AND read_only = 1 ORDER BY position", (key,)).fetchall() if a[0] not in self.exclude]
            initial = {(a[3], a[4]) for a in answers if a[2] == INITIAL_STATE}
            seen = [(len(self._effects_before(exploration_id, a[1], server)), (a[3], a[4]))
                    for a in sorted((a for a in answers if a[0] == exploration_id), key=lambda a: a[1])]
            if len(initial) == 1:  # the initial world answered one way: as before this exploration's first effect
                seen.insert(0, (0, next(iter(initial))))
            if not row[4]:
                # a witness of a change must have shown it: read again after it, it answered otherwise
                # (a catalog of templates, alike before and after, says nothing of what a change met)
                before = {a for k, a in seen if k == count}
                after = {a for k, a in seen if k == count + 1}
                if not before or not after or before & after:
                    return []
            runs = {(k, n) for (k, a), (n, b) in zip(seen, seen[1:]) if k < n and a == b}
            found = runs if found is None else found & runs
        return sorted(found or ())

    def _effects_before(self, exploration_id: str, step: int, server: str) -> list[Effect]:
        key = (exploration_id, step, server)
        if key not in self._before:
            self._before[key] = [tuple(r) for r in self.store.conn.execute(  # type: ignore[misc]
                "SELECT server, tool, arguments_hash FROM sim_calls WHERE exploration_id = ? AND step < ? AND effect = 1"
                " AND server = ? ORDER BY step, attempt", key)]
        return self._before[key]

    def _relevant(self, effects: list[Effect], mine: Footprint, shown: str, plain: bool = False) -> list[Effect]:
        """The effects a call (its footprint, its recorded result's text) may depend on: all
        but those :func:`unrelated` to it; an effect the log never recorded counts."""
        out = []
        for e in effects:
            found = self._effect_printed(e, plain)
            if found is None or not unrelated(mine, shown, *found):
                out.append(e)
        return out

    def _effect_printed(self, e: Effect, plain: bool) -> tuple[Footprint, str] | None:
        """:func:`_effect_print` of a recorded effect (remembered), None if the log never recorded it."""
        if (e, plain) not in self._effect_prints:
            row = self.store.conn.execute(
                "SELECT arguments, content, structured_content FROM sim_calls WHERE server = ? AND tool = ?"
                " AND arguments_hash = ? AND effect = 1 ORDER BY position LIMIT 1", e).fetchone()
            info = self.tools.get((e[0], e[1]))
            self._effect_prints[(e, plain)] = None if row is None else _effect_print(
                e[1], _decoder.decode(row[0]), info.input_schema if info else None, _shown_text(row[1], row[2]), plain)
        return self._effect_prints[(e, plain)]

    def miss(self, call: Call, episode: Episode) -> SimResult:
        """The answer to a call with no recorded result in this state, by mode."""
        elsewhere = self.store.conn.execute("SELECT count(*) FROM sim_calls WHERE key = ?", (call.key,)).fetchone()[0]
        if self.exclude and elsewhere:
            elsewhere = sum(1 for (p,) in self.store.conn.execute("SELECT position FROM sim_calls WHERE key = ?", (call.key,))
                            if p not in self.exclude)
        meta: dict[str, Any] = {"source": "simulator", "miss": "state" if elsewhere else "arguments"}
        if self.mode == "nearest":
            found = self.nearest(call, episode)
            if found is not None:
                return found
            meta["nearest_similarity"] = self._last_similarity
        elif self.mode == "llm":
            from .generate import generate

            return generate(self, call, episode)
        return error_result(MISS_TEXT, **meta)

    # -- retrieval -------------------------------------------------------------------------

    _last_similarity: float | None = None

    @property
    def index(self) -> Any:
        """The argument index (built or opened on first use)."""
        if self._index is None:
            from .nearest import ArgumentIndex

            self._index = ArgumentIndex(self.store, path=self._index_path, exclude=self.exclude)
        return self._index

    def neighbours(self, call: Call, k: int) -> list[tuple[str, int, float]]:
        """The k recorded argument sets of the same tool nearest to the call's:
        (key, first position, similarity), most similar first."""
        return self.index.search(call.server, call.tool, call.canonical, k)

    def nearest(self, call: Call, episode: Episode) -> SimResult | None:
        """The result of the most similar recorded arguments, if similar enough."""
        found = self.neighbours(call, 1)
        self._last_similarity = found[0][2] if found else None
        if not found or found[0][2] < self.threshold:
            return None
        key, first, similarity = found[0]
        positions, tier, _ = self.candidates(key, episode, call.server)
        position = positions[0] if positions else first
        result, _ = self.recorded(position)
        matched = self.store.conn.execute("SELECT arguments FROM sim_calls WHERE position = ?", (position,)).fetchone()[0]
        result.meta.update(approximate=True, similarity=similarity, match="nearest", state_match=tier or "none",
                           matched_arguments=_decoder.decode(matched))
        return result

    # -- listing ---------------------------------------------------------------------------

    def servers(self) -> list[str]:
        return sorted({s for s, _ in self.tools})

    def tools_of(self, server: str) -> list[SimTool]:
        """The live tools of a server as discovery recorded them, by name."""
        return [t for (s, _), t in sorted(self.tools.items()) if s == server and t.live]


__all__ = ["DEFAULT_THRESHOLD", "MISS_TEXT", "MODES", "Episode", "SimResult", "SimTool", "Simulator", "SimulatorError"]
