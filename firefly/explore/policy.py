"""What an explorer policy sees and decides.

A policy walks one sampled DAG. For each tool in topological order the explorer asks it for
a :class:`Proposal` (the arguments, and where each argument value came from), makes the
real call, and adds the :class:`CallRecord` to the history the policy sees next.

Paths: the policy works in the *virtual* workspace rooted at :data:`VIRTUAL_ROOT`
(``/workspace``). The executor maps it to the real sandbox root in arguments and back in
results, so recorded calls replay the same anywhere.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

VIRTUAL_ROOT = "/workspace"


@dataclass(frozen=True)
class ToolRef:
    """A tool as discovery recorded it."""

    server: str
    name: str
    description: str | None
    input_schema: dict[str, Any]
    annotations: dict[str, Any] = field(default_factory=dict)
    output_schema: dict[str, Any] | None = None
    title: str | None = None

    @property
    def key(self) -> str:
        return f"{self.server}/{self.name}"

    @property
    def read_only(self) -> bool:
        return bool(self.annotations.get("readOnlyHint"))


@dataclass(frozen=True)
class WorkspaceInfo:
    """What the explorer knows of the sandbox it built (virtual paths).

    root: the virtual root (``/workspace``).
    files: every regular file under ``files/``, as virtual absolute paths.
    directories: every directory under ``files/`` (the root ``/workspace/files`` included).
    git_repos: virtual paths of git repositories (``/workspace/repo``).
    sqlite_tables: table -> column names of the seed SQLite database.
    memory_entities: entity name -> entity type in the seed memory graph.
    texts: virtual path -> content of the small text files under ``files/`` as seeded (what
        an edit can replace before anything has been read).
    grounded: server -> the pool of grounded values its survey saw
        (:func:`firefly.explore.survey.grounded_pools`); each value's ``context["event"]``
        names the event it came from.
    roots: server -> the workspace folders its registry entry hands it
        (``${FIREFLY_WORKSPACE}/files``): its paths are chosen inside them. A server given no
        folder (none, the whole workspace, or only files) may be given any path.
    file_kinds: server -> the file extensions most of its tools are about (``.png`` ... for a
        server whose tools speak of images), for a path parameter whose own tool names none.
    math: servers about mathematics (:func:`firefly.explore.paramdocs.math_servers`): a bare
        string parameter of any of their tools takes a mathematical value of the kind its
        name says (``lhs`` an expression, ``n`` a number, ``set1`` a set).
    rejected: ``(server, tool, "/name")`` -> the values (canonical JSON) that tool rejected
        earlier in the run (:meth:`firefly.explore.futility.Futility.rejected`), or None.
    worked_with: ``(server, tool)`` -> the sets of argument names that tool worked with
        earlier in the run (:meth:`firefly.explore.futility.Futility.worked_with`), or None.
    fitting: ``(server, tool, "/name")`` -> the values (canonical JSON) of the kind of thing
        that parameter takes, on a server whose things come in kinds
        (:meth:`firefly.explore.futility.Futility.fitting`), or None.
    told: ``(server, tool)`` -> the texts of that tool's failures earlier in the run
        (:meth:`firefly.explore.futility.Futility.told`), or None: how a name must be written
        ("file must be a simple .mmp name") holds in every exploration.
    param_docs: server -> parameter name -> how most of its tools document a parameter of
        that name (:func:`firefly.explore.paramdocs.shared_param_docs`), for a tool that
        leaves it undocumented.
    """

    root: str = VIRTUAL_ROOT
    files: tuple[str, ...] = ()
    directories: tuple[str, ...] = ()
    git_repos: tuple[str, ...] = ()
    sqlite_tables: dict[str, tuple[str, ...]] = field(default_factory=dict)
    memory_entities: dict[str, str] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    grounded: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    roots: dict[str, tuple[str, ...]] = field(default_factory=dict)
    urls: tuple[str, ...] = ()
    file_kinds: dict[str, tuple[str, ...]] = field(default_factory=dict)
    math: frozenset[str] = frozenset()
    rejected: Callable[[str, str, str], set[str]] | None = None
    worked_with: Callable[[str, str], set[frozenset[str]]] | None = None
    fitting: Callable[[str, str, str], set[str]] | None = None
    told: Callable[[str, str], list[str]] | None = None
    param_docs: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class CallRecord:
    """One earlier call of this exploration, as the policy sees it (virtual paths)."""

    step: int
    server: str
    tool: str
    arguments: dict[str, Any]
    content: list[dict[str, Any]]  # MCP content blocks as JSON ({"type": "text", "text": ...})
    structured: dict[str, Any] | None
    is_error: bool


@dataclass(frozen=True)
class ArgSource:
    """Where one argument value came from: an earlier result of the same exploration, or
    (``event`` set, ``step`` -1) a result of the server's survey.

    argument: JSON pointer into the arguments (``/revision``, ``/names/0``).
    step: the earlier step whose result held the value.
    path: where in that result (``$.structured_content.commits[0].hash`` for structured
        content, ``$.content[0].text`` plus a locator such as ``#line=3`` for text).
    value: the value used.
    """

    argument: str
    step: int
    path: str
    value: Any
    event: str | None = None


@dataclass(frozen=True)
class Proposal:
    arguments: dict[str, Any]
    sources: tuple[ArgSource, ...] = ()
    note: str = ""


class Ungrounded(Exception):
    """A required parameter has no grounded value: the tool is skipped, and why is recorded.

    A policy raises it from ``propose`` instead of sending a placeholder."""

    def __init__(self, parameter: str, why: str = ""):
        self.parameter = parameter  # a JSON pointer into the arguments ("/sheet_name"), "" if unknown
        self.why = why
        what = f"required parameter {parameter!r}" if parameter else "a required parameter"
        super().__init__(f"ungrounded: no grounded value for {what}" + (f" ({why})" if why else ""))


class Policy(Protocol):
    """An explorer policy. ``propose`` returns None to skip a tool it cannot call sensibly,
    or raises :class:`Ungrounded` to skip it saying which parameter it could not ground.

    Two optional methods:

    * ``probe(call, tool, readers, workspace) -> Probe | None``: after a successful
      effectful call, the read-only call (one of ``readers``, the read-only tools of the same
      server) that observes its effect; recorded with ``probe_of`` (see
      :mod:`firefly.explore.probe`).
    * ``async walk(walk, tools, workspace)``: a conversational policy (the LLM explorer)
      drives the walk itself, making its calls through :class:`firefly.explore.stage.Walk`,
      instead of being asked for one proposal per tool.
    """

    name: str

    def propose(
        self,
        tool: ToolRef,
        history: list[CallRecord],
        workspace: WorkspaceInfo,
        rng: random.Random,
        attempt: int = 0,
    ) -> Proposal | None: ...
