"""Words for calls: where a question looks (a call's *scope*), and what an effect does.

:func:`scope` describes the part of the world a read-only call looked at, in the words a
question uses (``the last 5 commits of the repository at /workspace/repo``, ``the folder
notes``), with every argument the call needs (a question must be self-contained). An
argument fed by an earlier result may be replaced by a description of where that value came
from (``subst``), which is what makes a multi-hop question.

:func:`effect` describes what an effectful call did, as an instruction (``add the entity
'Ana' of type 'person' to the knowledge graph``), or None when there is no good way to say it.

The words come from the server's adapter (:meth:`firefly.adapters.Adapter.scope` and
:meth:`~firefly.adapters.Adapter.effect`); the generic adapter words any tool from its
description, title or name and its arguments (:func:`generic_scope`, :func:`generic_effect`),
never by printing the call. This module holds the helpers every adapter's phrasings use.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..adapters.generic import GenericAdapter
from .facts import FILES_ROOT, rel

if TYPE_CHECKING:
    from ..adapters import Adapter


def quote(value: Any) -> str:
    text = str(value)
    return f"\"{text}\"" if '"' not in text else f"'{text}'"


def listing(values: list[Any]) -> str:
    parts = [quote(v) for v in values]
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def place(path: Any) -> str:
    """A workspace path as a question writes it (the files folder when there is none)."""
    if not isinstance(path, str):
        return FILES_ROOT
    return rel(path)


def scope(tool: str, server: str, args: dict[str, Any], subst: dict[str, str] | None = None,
          adapter: Adapter | None = None, ref: Any = None) -> str | None:
    """Where a read-only call looked, in words (the server's adapter's), or None when there
    are no good words for it. ``ref``: the tool as discovery recorded it."""
    return (adapter or GenericAdapter()).scope(tool, server, args, subst or {}, ref)


def effect(tool: str, server: str, args: dict[str, Any], adapter: Adapter | None = None, ref: Any = None) -> str | None:
    """What an effectful call does, as an instruction in words (the server's adapter's)."""
    try:
        return (adapter or GenericAdapter()).effect(tool, server, args, ref)
    except (TypeError, KeyError, AttributeError):
        return None


def ordinal(n: int) -> str:
    words = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"]
    if n < len(words):
        return words[n]
    suffix = "th" if 10 <= (n + 1) % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get((n + 1) % 10, "th")
    return f"{n + 1}{suffix}"


# -------------------------------------------------------------------------- any tool, in words
#
# A tool nobody wrote phrasings for is worded from what it says of itself: the first sentence
# of its description (or its title, or its name in words), with its arguments put where the
# sentence names them ("Get the weather for a city" + city=Paris -> 'the weather for the city
# "Paris"'), the others after it. Never the raw call.

_READ_LEADS = ("look up", "search for", "get", "gets", "return", "returns", "list", "lists", "fetch", "fetches",
               "retrieve", "retrieves", "show", "shows", "read", "reads", "find", "finds", "search", "searches",
               "query", "queries", "provide", "provides", "give", "gives", "obtain", "obtains", "display", "displays",
               "view", "views", "describe", "describes", "load", "loads", "check", "checks", "inspect", "inspects")
# verbs a description may start with besides those of the verb table (firefly.adapters.verbs)
_VERBS = frozenset({"cancel", "simplify", "expand", "factor", "solve", "differentiate", "integrate", "compare", "parse",
                    "extract", "analyze", "analyse", "classify", "guess", "estimate", "measure", "render", "format",
                    "translate", "transform", "compress", "encode", "decode", "hash", "sort", "filter", "split",
                    "join", "round", "predict", "detect", "recognize", "identify", "discover", "triage", "test",
                    "generate", "plot", "draw", "map", "match", "merge", "score", "rank", "normalize", "sum",
                    "multiply", "divide", "subtract", "tokenize", "summarise", "count", "calculate", "compute"})
_SEARCH_LEADS = ("look up", "search for", "find", "finds", "search", "searches", "query", "queries")
_ARTICLES = ("the ", "a ", "an ", "all ", "every ", "each ", "one ", "some ", "any ")
_FILLER = re.compile(r"^(?:this tool |tool (?:to|that) |use this (?:tool )?to |used to |allows you to |lets you |"
                     r"a tool (?:to|that) |function (?:to|that) |helper (?:to|that) )", re.IGNORECASE)
MAX_PHRASE_WORDS = 14


def _words(name: str) -> str:
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(name))
    return " ".join(w for w in re.split(r"[^A-Za-z0-9]+", s) if w).lower() or str(name)


def tool_sentence(tool: str, ref: Any = None) -> str:
    """What the tool does, as a short lower-case verb phrase (``get the weather for a city``):
    the first sentence of its description when short, else its title, else its name."""
    desc = getattr(ref, "description", None) if ref is not None else None
    title = getattr(ref, "title", None) if ref is not None else None
    if isinstance(desc, str) and desc.strip():
        first = desc.strip().split("\n", 1)[0]
        first = re.split(r"(?<=[a-z0-9)\]])[.!?](?:\s|$)|\s[-–—]\s|:\s|;\s|[，。；：]", first, maxsplit=1)[0]
        first = _FILLER.sub("", first.strip()).strip().rstrip(".")
        if len(first.split(", ")[0].split()) >= 3:
            first = first.split(", ")[0]  # "generate an image, return its data, ..." -> "generate an image"
        first = re.sub(r"^[A-Za-z]+ly\s+", "", first)  # "automatically check ..." -> "check ..."
        if first and len(first.split()) <= MAX_PHRASE_WORDS and re.match(r"[A-Za-z]+\b", first) \
                and first.isascii() and not re.search(r"[{}<>`|\[\]]", first):
            return first[:1].lower() + first[1:]
    from ..adapters.verbs import MAKE_VERBS, READ_VERBS, WRITE_VERBS

    words = (_words(title) if isinstance(title, str) and title.strip() and len(title.split()) <= MAX_PHRASE_WORDS
             else _words(tool)).split()
    verbs = {v for v in _READ_LEADS if " " not in v} | READ_VERBS | WRITE_VERBS | MAKE_VERBS
    at = next((i for i, w in enumerate(words) if w in verbs), None)
    if at is None or (at > 0 and words[at] not in WRITE_VERBS):
        return "show the " + " ".join(words)  # a name that is a noun: "git log" -> "the git log"
    if at > 0 and at == len(words) - 1:
        return f"{words[at]} in {' '.join(words[:at])}"  # "git commit" -> "commit in git"
    rest = words[:at] + words[at + 1:]
    if rest and rest[0] not in ("the", "a", "an", "all"):
        return f"{words[at]} the " + " ".join(rest)  # "rename worksheet" -> "rename the worksheet"
    return " ".join([words[at], *rest])


def _imperative(phrase: str) -> str:
    """``Creates a note`` -> ``create a note`` (a description in the third person)."""
    first, _, rest = phrase.partition(" ")
    low = first.lower().split("/")[0]
    if low.endswith("ies") and len(low) > 4:
        low = low[:-3] + "y"
    elif low.endswith(("sses", "shes", "ches", "xes", "zes")):
        low = low[:-2]
    elif low.endswith("s") and not low.endswith(("ss", "us", "is")) and len(low) > 3:
        low = low[:-1]
    return (low + (" " + rest if rest else "")).strip()


def _gerund(verb: str) -> str:
    if verb.endswith("ie"):
        return verb[:-2] + "ying"
    if verb.endswith("e") and not verb.endswith(("ee", "ye", "oe")):
        return verb[:-1] + "ing"
    return verb + "ing"


def _value_words(value: Any) -> str | None:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return quote(value) if value.strip() else None
    if isinstance(value, list):
        if not value:
            return None
        if all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value):
            return listing(value)
        parts = [_value_words(v) for v in value]
        return None if any(p is None for p in parts) else "; ".join(p for p in parts if p)
    if isinstance(value, dict):
        parts = []
        for k, v in value.items():
            words = _value_words(v)
            if words is None:
                return None
            parts.append(f"{_words(k)} {words}")
        return ", ".join(parts) if parts else None
    return None


def _defaults(ref: Any) -> dict[str, Any]:
    schema = getattr(ref, "input_schema", None) if ref is not None else None
    props = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(props, dict):
        return {}
    return {k: v["default"] for k, v in props.items() if isinstance(v, dict) and "default" in v}


def _with_arguments(phrase: str, args: dict[str, Any], subst: dict[str, str], ref: Any, joiner: str = "for") -> str | None:
    """``phrase`` with every argument put in: where the phrase names it ("a city" -> 'the city
    "Paris"'), else after it ("for city ... and units ..."). None when a value has no words."""
    defaults = _defaults(ref)
    rest: list[str] = []
    text = phrase
    for name, value in args.items():
        if name not in subst and (value is None or (name in defaults and defaults[name] == value)):
            continue
        words = _words(name)
        if name in subst:
            said = subst[name]
            # "the warehouse whose city is ..." names a warehouse already: no "the warehouse of" before it
            named = said if said.lower().startswith(f"the {words} ") else f"the {words} of {said}"
        else:
            said = _value_words(value)
            if said is None:
                return None
            named = f"the {words} {said}"
        pattern = re.compile(r"\b(?:an?|the|given|specified|provided|some)\s+(?:given\s+|specified\s+)?" + re.escape(words)
                             + r"\b(?!\s+\")", re.IGNORECASE)
        if pattern.search(text):
            text = pattern.sub(lambda m: named, text, count=1)
        else:
            rest.append(f"{words} {said}" if name not in subst else named)
    if rest:
        joined = rest[0] if len(rest) == 1 else ", ".join(rest[:-1]) + " and " + rest[-1]
        text += (" with " if joiner == "with" or re.search(r"\bfor\b", text) else " for ") + joined
    return text


def generic_scope(tool: str, args: dict[str, Any], subst: dict[str, str] | None = None, ref: Any = None) -> str | None:
    """Where a read-only call of any tool looked, as a noun phrase built from the tool's
    description, title or name and its arguments (``the weather for the city "Paris"``)."""
    subst = {k.split("/")[0]: v for k, v in (subst or {}).items()}
    phrase = tool_sentence(tool, ref)
    low = phrase.lower()
    lead = next((v for v in _READ_LEADS if low == v or low.startswith(v + " ")), None)
    if lead in _SEARCH_LEADS and len(low) > len(lead):
        noun = f"the results of {_gerund(_imperative(lead).split()[0])} {phrase[len(lead):].strip()}"
    elif lead is not None and len(low) > len(lead):
        noun = phrase[len(lead):].strip()
        noun = re.sub(r"^(?:a|an)\s", "the ", noun)
        if not noun.lower().startswith(_ARTICLES) and not re.match(r"^(?:how|what|which|who|whether|when|where)\b", noun):
            noun = "the " + noun
        elif re.match(r"^(?:how|what|which|who|whether|when|where)\b", noun):
            noun = "the answer to " + noun
    else:
        from ..adapters.verbs import MAKE_VERBS, READ_VERBS, WRITE_VERBS

        verb, _, rest = _imperative(phrase).partition(" ")
        if verb in READ_VERBS | WRITE_VERBS | MAKE_VERBS or verb in _VERBS:
            noun = f"the result of {_gerund(verb)}" + (f" {rest}" if rest else "")
        else:  # a description that is a noun phrase: "Natural logarithm" -> "the natural logarithm"
            noun = phrase if phrase.lower().startswith(_ARTICLES) else "the " + phrase
    return _with_arguments(noun, args or {}, subst, ref)


def generic_effect(tool: str, args: dict[str, Any], ref: Any = None) -> str | None:
    """What an effectful call of any tool does, as an instruction from the tool's description,
    title or name and its arguments (``create a note with the title "Groceries"``)."""
    phrase = _imperative(tool_sentence(tool, ref))
    return _with_arguments(phrase, args or {}, {}, ref, "with")
