"""When calling a tool again is futile: its failures do not depend on the arguments.

A tool that answers every call with the same error whatever it is given (a server-side bug,
a package or service feature its server lacks, credentials or a network it cannot reach)
teaches nothing more on its tenth call than on its second. :class:`Futility` keeps, for one
run, each tool's failures; once a tool that has never worked

- failed with an error saying the server cannot do it here at all (:func:`unavailable`:
  "pip install ...", "No module named", "unknown command", "not implemented", "module
  'sympy' has no attribute 'is_square'", missing credentials, network unreachable), or
- failed with two different sets of arguments, whatever the errors (in a large run, a tool
  that worked at all worked by its second call 758 times in 765; of the 133 tools that failed
  twice, 126 never worked: the third call of a tool that failed twice is almost always one
  more failed call), or
- takes no arguments and failed twice (the survey's call and one more: every call of it
  is the same call, and state an exploration makes first is tried once),

it is not called again: the explorer records the step as skipped with that reason (a call
firefly does not make is not a failed call, and ``firefly status`` shows the reason). An
error saying something must be made first ("No presentation is currently loaded") counts
only from its fourth set of arguments: making that thing first is the cure,
and the explorer tries it. A success clears the tool for the rest of the run.

It also keeps, for the whole run, the values each tool rejected (:meth:`Futility.rejected`):
a string argument a failure names (``WRONGTYPE ... key 'user:1'``, ``Unsupported
operation: sum``; not one it says does not exist: that depends on the world), and a list or
object sent empty to a call that failed. Later explorations do not give that tool's parameter the same value again (another
grounded value, or none: the step is skipped as ungrounded) until it works there. And the
sets of argument names each tool worked with (:meth:`Futility.worked_with`): a tool that
worked when given its data, never its file, is given its data first.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from ..adapters.producers import missing_thing
from ..jsonvalues import leaves

__all__ = ["WRONG_KIND", "Futility", "blamed_values", "echoes", "error_text", "same_failure", "unavailable"]

# "WRONGTYPE Operation against a key holding the wrong kind of value": the value names a thing
# of another kind than the tool takes
WRONG_KIND = re.compile(r"(?i)\bWRONGTYPE\b|\bwrong (?:kind|type) of (?:value|key|object|item)\b")

# the server cannot do this here, whatever the arguments
_UNAVAILABLE = re.compile(
    r"(?i)\bnot installed\b|\bpip install\b|\bnpm install\b|\bno module named\b|\bunknown command\b"
    r"|\bnot (?:yet )?implemented\b|\bNotImplementedError\b|\bapi[ _-]?key\b|\bcredentials?\b (?:are |is )?"
    r"(?:missing|required|not (?:set|found|configured))|\bunauthori[sz]ed\b|\bECONNREFUSED\b"
    r"|\bconnection refused\b|\bgetaddrinfo\b|\bname or service not known\b|\bnetwork is unreachable\b"
    r"|\btemporary failure in name resolution\b|\benvironment variable\b[^.\n]{0,40}\b(?:not set|required|missing)\b"
    r"|\brequires task augmentation\b|\bmodule '[\w.]+' has no attribute\b")
_ABSENT = re.compile(r"(?i)\bno such\b|\bENOENT\b|\bdoes(?:n't| not) exist\b|\bnot (?:be )?found\b|\bcannot find\b"
                     r"|\bcould not find\b|\bno (?:file|directory|key|entry) named\b")
_PREFIX = re.compile(r"^the result reports a failure \(isError is false\):\s*")
_VARIABLE = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"  # uuids
    r"|(?<![\w])/[\w.@~+-]+(?:/[\w.@~+-]*)*"  # paths
    r"|\b[0-9a-f]{12,}\b"  # hashes
    r"|\d+(?:\.\d+)?")
MAX_TEXT = 160
MAX_TOLD = 8  # kinds of failure text kept for each tool
ANY = 2  # sets of arguments failing in any way that make a tool that never worked futile
SAME_AFTER_MAKING = 4  # the same, once an error said a thing must be made first


def error_text(error: str | None, content: list[Any] | None) -> str:
    """The words of a failure: its error and the text of its content."""
    blocks = [str(b.get("text", "")) for b in content or [] if isinstance(b, dict)]
    return " ".join([error or "", *blocks]).strip()[:2000]


def unavailable(text: str) -> str | None:
    """The words saying the server cannot do this here at all, or None."""
    m = _UNAVAILABLE.search(text or "")
    return m.group(0) if m else None


def same_failure(text: str) -> str:
    """A failure's text with what varies between calls (numbers, paths, ids) taken out, so
    that two calls failing the same way compare equal."""
    t = _PREFIX.sub("", (text or "").strip())
    return " ".join(_VARIABLE.sub("#", t).split())[:MAX_TEXT]


def echoes(text: str, arguments: Any, *, numbers: bool = False) -> bool:
    """True when an error names a value it was given: a string of 3 characters or more, or
    any value in quotes (``'3'``); with ``numbers``, a number standing alone too
    (``Invalid slide index: 10``)."""
    for leaf in leaves(arguments):
        if isinstance(leaf, bool) or leaf is None:
            continue
        if numbers and isinstance(leaf, (int, float)) and re.search(
                rf"(?<![\w.-]){re.escape(str(leaf))}(?![\w]|\.\d)", text):
            return True
        v = str(leaf)
        if not v:
            continue
        if (isinstance(leaf, str) and len(v) >= 3 and v in text) or any(f"{q}{v}{q}" in text for q in "'\"`"):
            return True
    return False


def blamed_values(text: str, arguments: Any) -> dict[str, str]:
    """The top-level arguments a failure rejects, as ``/name`` -> canonical JSON: a string
    argument of 3 characters or more that the error repeats, and a list or object sent empty.
    An error repeating every string argument of a call with more than two (a dump of the
    whole call) blames none of them, nor does one saying a thing does not exist."""
    if not isinstance(arguments, dict):
        return {}
    # "no such file", "Key 'x' does not exist": what exists differs from world to world (a
    # file an earlier step of that exploration moved); such a value is not rejected for good
    absent = bool(_ABSENT.search(text))
    strings = {k: v for k, v in arguments.items() if isinstance(v, str) and len(v) >= 3 and not absent}
    named = {k: v for k, v in strings.items() if re.search(rf"(?<![\w]){re.escape(v)}(?![\w])", text)}
    if len(strings) > 2 and len(named) == len(strings):
        named = {}
    out = {f"/{k}": json.dumps(v, sort_keys=True) for k, v in named.items()}
    out.update({f"/{k}": json.dumps(v) for k, v in arguments.items() if isinstance(v, (list, dict)) and not v})
    return out


class Futility:
    """Each tool's failures in one run, and whether calling it again is futile."""

    def __init__(self) -> None:
        self._seen: set[tuple[str, int, int]] = set()
        self._worked: set[tuple[str, str]] = set()
        # (server, tool) -> normalised error -> argument hashes that met it
        self._failures: dict[tuple[str, str], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        self._failed: dict[tuple[str, str], set[str]] = defaultdict(set)  # argument hashes, any error
        self._making: set[tuple[str, str]] = set()  # tools told something must be made first
        self._fixed: dict[tuple[str, str], int] = defaultdict(int)  # failures of tools taking no arguments
        self._why: dict[tuple[str, str], str] = {}
        # (server, tool) -> "/name" -> values (canonical JSON) that tool rejected this run
        self.rejections: dict[tuple[str, str], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        # the kind of thing a tool's parameter takes ((server, tool, "/name") -> "hash"), when
        # known: a value one tool rejected as of the wrong kind is not given to another tool
        # taking the same kind (hget rejected "counter": hgetall, hdel would too)
        self.kind_of: Callable[[str, str, str], str] | None = None
        self._wrong_kind: dict[tuple[str, str], set[str]] = defaultdict(set)  # (server, kind) -> values
        self._right_kind: dict[tuple[str, str], set[str]] = defaultdict(set)  # (server, kind) -> values that worked
        # (server, effect tool, reader) -> whether the reader's probes after that effect worked
        self._probes: dict[tuple[str, str, str], set[bool]] = defaultdict(set)
        self.shapes: dict[tuple[str, str], set[frozenset[str]]] = defaultdict(set)  # argument names that worked
        self._told: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)  # same_failure -> text, a few a tool

    def note(self, place: tuple[str, int, int], server: str, tool: str, *, worked: bool,
             arguments_hash: str = "", text: str = "", arguments: Any = None, fixed: bool = False) -> None:
        """Record one call (``place``: exploration, step, attempt; a call noted twice, as on a
        resumed run, counts once). ``worked``: a result that is not an error; ``fixed``: the
        tool takes no arguments."""
        if place in self._seen:
            return
        self._seen.add(place)
        key = (server, tool)
        if isinstance(arguments, dict):
            if worked:  # the names it worked with; what it was given is no longer rejected
                self.shapes[key].add(frozenset(arguments))
                for name, value in arguments.items():
                    if key in self.rejections:
                        self.rejections[key].get(f"/{name}", set()).discard(json.dumps(value, sort_keys=True))
                    if kind := self._kind(server, tool, f"/{name}"):
                        self._right_kind[(server, kind)].add(json.dumps(value, sort_keys=True))
                        if (server, kind) in self._wrong_kind:
                            self._wrong_kind[(server, kind)].discard(json.dumps(value, sort_keys=True))
            else:
                wrong_kind = bool(WRONG_KIND.search(text))
                for pointer, value in blamed_values(text, arguments).items():
                    self.rejections[key][pointer].add(value)
                    if wrong_kind and (kind := self._kind(server, tool, pointer)):
                        self._wrong_kind[(server, kind)].add(value)
                        self._right_kind.get((server, kind), set()).discard(value)
        if not worked and text and len(self._told[key]) < MAX_TOLD:
            self._told[key].setdefault(same_failure(text), text[:MAX_TEXT * 2])
        if worked:
            self._worked.add(key)
            self._why.pop(key, None)
            return
        if key in self._worked or key in self._why:
            return
        if (why := unavailable(text)) is not None:
            self._why[key] = f"its server cannot do it here whatever the arguments (the error says {why!r})"
            return
        making = bool(missing_thing(text, None))
        if making:
            self._making.add(key)
        limit = SAME_AFTER_MAKING if key in self._making else ANY
        if fixed:
            self._fixed[key] += 1
            if self._fixed[key] >= limit:
                self._why[key] = f"it takes no arguments and failed {self._fixed[key]} times"
                return
        tried = self._failed[key]
        tried.add(arguments_hash)
        shape = "" if echoes(text, arguments) else same_failure(text)
        if shape:
            self._failures[key][shape].add(arguments_hash)
        if len(tried) < limit:
            return
        if shape and len(self._failures[key][shape]) == len(tried):
            self._why[key] = (f"it failed the same way with {len(tried)} different sets of arguments"
                              f" ({shape[:100]!r})")
        else:
            self._why[key] = f"it failed with {len(tried)} different sets of arguments and never worked"

    def note_probe(self, server: str, effect: str, reader: str, *, worked: bool) -> None:
        """Record a probe made after a successful call of ``effect``."""
        self._probes[(server, effect, reader)].add(worked)

    def blind(self, server: str, effect: str, reader: str) -> bool:
        """Whether ``reader`` failed as the probe after ``effect`` this run and never worked
        there: it does not read what that effect makes (``get`` of a string after ``hset``
        made a hash: WRONGTYPE)."""
        return self._probes.get((server, effect, reader)) == {False}

    def told(self, server: str, tool: str) -> list[str]:
        """The texts of ``tool``'s failures this run, one of each kind (at most
        :data:`MAX_TOLD`): what it said of how its arguments must be written ("file must be a
        simple .mmp name") a later exploration need not learn again by failing."""
        return list(self._told.get((server, tool), {}).values())

    def worked_with(self, server: str, tool: str) -> set[frozenset[str]]:
        """The sets of argument names ``tool`` worked with this run (``{X_data, y_data}``)."""
        return set(self.shapes.get((server, tool), ()))

    def rejected(self, server: str, tool: str, pointer: str) -> set[str]:
        """The values (canonical JSON) ``tool`` rejected at ``pointer`` (``/name``) this run,
        and those a tool taking the same kind of thing there rejected as of the wrong kind."""
        by = self.rejections.get((server, tool))
        out = set(by.get(pointer, ())) if by else set()
        if self._wrong_kind and (kind := self._kind(server, tool, pointer)):
            out |= self._wrong_kind.get((server, kind), set())
        return out

    def fitting(self, server: str, tool: str, pointer: str) -> set[str]:
        """On a server whose tools told a value was of the wrong kind this run, the values
        (canonical JSON) that worked at a parameter documented as the same kind of thing as
        ``tool``'s at ``pointer`` (the keys that hash tools took, for ``hgetall``); else none."""
        if not any(s == server and v for (s, _), v in self._wrong_kind.items()):
            return set()
        kind = self._kind(server, tool, pointer)
        return set(self._right_kind.get((server, kind), ())) if kind else set()

    def _kind(self, server: str, tool: str, pointer: str) -> str:
        if self.kind_of is None or pointer.count("/") != 1:
            return ""
        return self.kind_of(server, tool, pointer)

    def futile(self, server: str, tool: str) -> str | None:
        """Why calling this tool again is futile, or None."""
        why = self._why.get((server, tool))
        return f"not called again: {why}" if why else None
