"""Which tool of a server makes the thing another of its tools needs first.

A tool may need an id nothing has shown yet (``session_id``, ``batch_id``), or answer that
something must exist first ("No presentation is currently loaded"). The explorer then calls
a tool of the same server that makes or lists such things, and tries again. This module
reads the need (:func:`missing_thing`) and ranks the candidates (:func:`find_producers`)
from names, descriptions and schemas alone: verbs and words, never a server's tool names.
"""

from __future__ import annotations

import re
from typing import Any

from ..explore.policy import ToolRef
from .verbs import LIST_VERBS, MAKE_VERBS, name_words

__all__ = ["find_producers", "missing_thing", "opens_page"]

_ID_SUFFIXES = ("id", "ids", "name", "names", "key", "uuid", "path", "handle", "ref")
# an error saying something must exist first: "No presentation is currently loaded",
# "no session is open", "open a workbook first", "terminal not initialized", "Epic not found",
# or that a collection indexed into is empty
_NEEDS_FIRST = re.compile(
    r"(?i)\bno (?:active |current |open )?([a-z]{3,})s? (?:is |are |has been )?(?:currently )?"
    r"(?:loaded|open|opened|selected|active|initiali[sz]ed|created|started|connected)\b"
    r"|\b(?:open|load|create|start|initiali[sz]e|connect) (?:a |an |the )?([a-z]{3,}) first\b"
    r"|\b([a-z]{3,}) not (?:loaded|open|opened|initiali[sz]ed|started)\b"
    r"|\b([a-z]{3,}) (?:with (?:the )?(?:id|name|key) [^\n]{1,80}? |['\"`][^'\"`\n]{1,80}['\"`] )?(?:was )?not found\b"
    # an index into an empty collection: "Available slides: 0--1", "Slide index 0 out of range"
    r"|\bavailable ([a-z]{3,}?)s?\s*:\s*0\s*-\s*-1\b"
    r"|\b([a-z]{3,}) index -?\d+ (?:is )?out of (?:range|bounds)\b"
    # a shape of the wrong kind: "Shape is not a chart", "Shape at index 0 is not a table"
    r"|\b(?:shape|object|element|item)\b[^.\n]{0,30}? is not an? ([a-z]{3,})\b"
    # a selector that matched nothing on a browser's page: a page must be opened first
    r"|\bdoes(?:n't| not) match any elements?\b()|\bno (?:such )?elements? (?:found |matche[sd] )?for selector\b()")
_OPEN_WORDS = frozenset({"navigate", "goto", "go", "open", "visit", "load", "browse"})
_URL_PARAMS = frozenset({"url", "uri", "href", "link", "address"})
# words before "not found" that name no thing a tool makes
_NOT_THINGS = frozenset({
    "error", "value", "result", "results", "data", "match", "matches", "object", "item", "resource", "record",
    "command", "module", "tool", "method", "function", "attribute", "package", "executable", "binary", "config",
    "configuration", "library", "dependency", "program", "was", "were", "are", "has", "had", "been", "the", "and",
})


def missing_thing(error: str | None, content: list[Any] | None) -> str:
    """What a failed call's error says must be made first (``presentation``), or ''."""
    text = " ".join([error or "", *(str(b.get("text", "")) for b in content or [] if isinstance(b, dict))])[:2000]
    for m in _NEEDS_FIRST.finditer(text):
        thing = next((g.lower() for g in m.groups() if g), "")
        if not thing and m.group(0).lower().startswith(("does", "no ")):
            return "page"
        if thing and thing not in _NOT_THINGS:
            return thing
    return ""


def opens_page(tool: ToolRef) -> bool:
    """A tool that goes to a URL it requires (``navigate(url)``, ``goto(url)``)."""
    required = (tool.input_schema or {}).get("required") or []
    return bool({str(p).lower() for p in required} & _URL_PARAMS) and bool(
        (set(name_words(tool.name)) | set(name_words(tool.description or "")[:3])) & _OPEN_WORDS)


def find_producers(tool: ToolRef, parameter: str, candidates: list[ToolRef]) -> list[ToolRef]:
    """Tools of ``tool``'s server that would give a value for ``parameter`` (``session_id``,
    ``taskId``, ``sheet_name``), likeliest first: one whose output schema has that field, or
    which takes it as an optional input, or whose name pairs the thing the parameter names
    (``session``) with a verb that makes it (``create_session``, ``load_csv`` -> a session)
    or lists it (``list_tasks``: in a fresh world a listing may be empty, so makers come
    first). Deterministic; empty if no tool of the server looks like one."""
    words = name_words(parameter)
    thing = [w for w in words if w not in _ID_SUFFIXES] or words
    stems = {t.rstrip("s") for t in thing if len(t.rstrip("s")) >= 3}
    if not stems:
        return []
    scored: list[tuple[float, str, ToolRef]] = []
    for cand in candidates:
        if cand.server != tool.server or cand.name == tool.name:
            continue
        schema = cand.input_schema or {}
        required = schema.get("required") or []
        if parameter in required:
            continue  # it needs the same thing itself
        outputs = (cand.output_schema.get("properties") or {}) if isinstance(cand.output_schema, dict) else {}
        verbs = name_words(cand.name)
        text = f"{cand.name} {cand.description or ''}".lower()
        score = 0.0
        if stems == {"page"}:
            if not opens_page(cand):
                continue  # a tool that reads the current page (find, snapshot) opens none
            # a page is opened by going to a URL (navigate(url), goto(url)); a browser marks
            # that destructive (it leaves the page before), which is no reason against it here
            score += 4.5
        if parameter in outputs:
            score += 3
        elif parameter in (schema.get("properties") or {}):
            score += 1  # load_csv(file_path, session_id=None): it makes one when given none
        if stems & {w.rstrip("s") for w in verbs}:
            score += 1.5
        elif any(re.search(rf"\b{re.escape(s)}", text) for s in stems):
            score += 1  # "metadata about the workbook, including its sheets"
        if parameter.lower() in text or parameter.replace("_", " ").lower() in text:
            score += 1  # "returns a session_id"
        if not score:
            continue
        if verbs and verbs[0] in MAKE_VERBS:
            score += 1.5
        elif verbs and verbs[0] in LIST_VERBS:
            score += 0.25
        if (cand.annotations or {}).get("destructiveHint") is True:
            score -= 2
        score -= 0.1 * len(required)
        scored.append((score, cand.name, cand))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [cand for score, _, cand in scored if score >= 1.0]
