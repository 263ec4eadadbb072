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
from ..adapters.verbs import command_parameter
from ..jsonvalues import inline_refs
from ..locator import embedded_json
from ..match import normalize
from .facts import FILES_ROOT, rel, spelled_out

if TYPE_CHECKING:
    from ..adapters import Adapter


# the numbers a task gives its own steps: "1. Load ..." at a line's start, "returned by step 1"
_STEP_NUMBERS = re.compile(r"^[ \t]*\d+\.[ \t]+|\bsteps? \d+(?:(?:, | and )\d+)*\b", re.MULTILINE | re.IGNORECASE)


def without_step_numbers(question: str) -> str:
    """A question without the numbers of its own steps (``1. Load the file ...``, ``the
    session id returned by step 1``): they number the task's parts and state nothing an
    answer could be read from, so an answer 1 or 2 is not in the question for them."""
    return _STEP_NUMBERS.sub(" ", question)


# a formula a question quotes: an expression, a set or a matrix written out ("x**3 - 2*x",
# "{1, 2, 3}", "Matrix([[2, 1], [1, 3]])"), of mathematical characters only, with an operator,
# a function applied or an opening bracket, and no word but a symbol or a function's name
_QUOTED = re.compile(r'"([^"\n]{1,300})(?:"|$)')  # (a compared text has lost a closing quote at its end)
_FORMULA_CHARS = re.compile(r"[\w\s+\-*/^().,\[\]{}=<>!]+")
_FORMULA_MARK = re.compile(r"\*|\^|\s[-+/]\s|\w\(|^\s*[\[{]")
_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
# the numbers an argument lists, three or more ("6, 7, 10, 14 and 17", "\"2.5\", \"4\" and \"9\"")
_LISTED = r"\"?-?\d+(?:\.\d+)?\"?"
_NUMBER_LIST = re.compile(rf"(?<![\w.]){_LISTED}(?:(?:,? and |, ){_LISTED}){{2,}}(?![\w.]|\.\d)")
_PROSE_WORD = re.compile(r"[^\W\d_]{3,}(?![\w(])")  # a word, not a function applied ("draft", not "sqrt(")


def _listed(value: str) -> list[Any] | None:
    """The items of a list of plain values written as text (JSON or a Python literal), or None."""
    if not value.lstrip().startswith("["):
        return None
    items = embedded_json(value)
    if not isinstance(items, list) or not items or not all(
            isinstance(i, (int, float)) and not isinstance(i, bool) or isinstance(i, str) and len(normalize(i)) >= 2
            for i in items):
        return None
    return items


def value_shown(value: Any, text: str, *, in_formulas: bool = False) -> bool:
    """Whether ``text`` (a question, compared in :func:`firefly.match.normalize` form) shows
    ``value`` (a number, or a string compared normalized) as something it states, not only
    as a part of a formula it quotes: the degree of "x**3 - 2*x" is 3, the rank of
    "Matrix([[2, 1], [1, 3]])" is 2 and the free symbols of "sin(x) + x**2" are {x}, worked
    out, not read off; so is a number that is one of three or more an argument lists (the
    largest of "6, 7, 10, 14 and 17"). A whole formula is shown (an expression given back as asked); 57 is
    also written 57.0. ``in_formulas``: a part of a formula counts too (a question that
    carries an argument: ``n`` 5 is given by "x**5"). A list written as text
    (``"['weekend', 'weekend']"``, what a setup step was given) is shown when each item is,
    or, as any text, when the question holds it whole."""
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, str):
        needle = normalize(value)
        if not needle:
            return False
        if (items := _listed(value)) is not None and all(value_shown(i, text, in_formulas=in_formulas) for i in items):
            return True  # each item stated; else, as any text, when the question holds it whole
        if _PLAIN_NUMBER.fullmatch(needle):
            value = float(needle)
    if isinstance(value, (int, float)):
        number = re.escape(str(int(value))) + r"(?:\.0+)?" if float(value).is_integer() else re.escape(repr(value))
        pattern = r"(?<![\w.])" + number + r"(?![\w]|\.\d)"
    else:
        pattern = r"(?<![\w])" + re.escape(needle) + r"(?![\w])"
    formulas = [] if in_formulas else [m.span(1) for m in _QUOTED.finditer(text)
                if _FORMULA_CHARS.fullmatch(m.group(1)) and _FORMULA_MARK.search(m.group(1))
                and not _PROSE_WORD.search(m.group(1))]
    if not in_formulas and isinstance(value, (int, float)):  # one of three or more numbers listed
        formulas += [m.span() for m in _NUMBER_LIST.finditer(text)]
    return any(not any(a <= m.start() and m.end() <= b and (a, b) != (m.start(), m.end()) for a, b in formulas)
               for m in re.finditer(pattern, text))


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

_READ_LEADS = ("look up", "look for", "search for", "get", "gets", "return", "returns", "list", "lists", "fetch",
               "fetches", "retrieve", "retrieves", "show", "shows", "read", "reads", "find", "finds", "search", "searches",
               "query", "queries", "provide", "provides", "give", "gives", "obtain", "obtains", "display", "displays",
               "view", "views", "describe", "describes", "load", "loads")
# verbs a description may start with besides those of the verb table (firefly.adapters.verbs)
_VERBS = frozenset({"cancel", "simplify", "expand", "factor", "solve", "differentiate", "integrate", "compare", "parse",
                    "extract", "analyze", "analyse", "classify", "guess", "estimate", "measure", "render", "format",
                    "translate", "transform", "compress", "encode", "decode", "hash", "sort", "filter", "split",
                    "join", "round", "predict", "detect", "recognize", "identify", "discover", "triage", "test",
                    "generate", "plot", "draw", "map", "match", "merge", "score", "rank", "normalize", "sum",
                    "multiply", "divide", "subtract", "tokenize", "summarise", "count", "calculate", "compute",
                    "take", "report", "perform", "handle", "toggle", "demonstrate", "store", "close", "clean", "manage",
                    "configure", "trigger", "convert", "blur", "sharpen", "resize", "crop", "rotate", "flip", "blend",
                    "equalize", "denoise", "threshold", "rebuild", "roll", "use", "look", "make", "determine", "verify",
                    "return", "retrieve", "obtain", "provide", "give", "display", "choose", "pick", "select", "scroll",
                    "hover", "type", "wait", "capture", "record", "track", "monitor", "mark", "tag", "label", "link",
                    "unlink", "group", "aggregate", "profile", "fit", "train", "simulate", "forecast", "recommend",
                    "suggest", "explain", "define", "tell", "lint", "fix", "refactor", "build", "compile", "index",
                    "register", "plan", "apply", "export", "download", "import", "resolve", "cache", "combine",
                    "receive", "decide", "salvage", "wrap", "repair", "read", "play"})
_SEARCH_LEADS = ("look up", "look for", "search for", "find", "finds", "search", "searches", "query", "queries")
_ARTICLES = ("the ", "a ", "an ", "all ", "every ", "each ", "one ", "some ", "any ")
_DETERMINERS = frozenset({"a", "an", "the", "all", "each", "every", "one", "multiple", "several", "some", "any", "its",
                          "your", "this", "that", "these", "those", "whether", "if", "how", "what", "which", "who",
                          "two", "three", "n", "up", "detailed", "current", "new", "basic"})
_FILLER = re.compile(r"^(?:this tool |tool (?:to|that) |(?:you can )?use this (?:tool )?to |used to |allows you to |lets you |"
                     r"a tool (?:to|that) |function (?:to|that) |helper (?:to|that) )", re.IGNORECASE)
# a label before the description proper: "Brief description: High-precision calculation ..."
_LEAD_LABEL = re.compile(r"^(?:(?:brief|short)\s+)?(?:description|summary|purpose|overview|tool)\s*:\s*", re.IGNORECASE)
# an opening clause that only names the input: "Given a 'requestId', return the next pending task"
_GIVEN = re.compile(r"^(?:given|with|for|using|when|whenever|if)\b[^,.]{1,60},\s*(?=[a-z])", re.IGNORECASE)
# where a first clause turns into elaboration: "... with an optional expiration time", "..., such as ..."
_TAIL = re.compile(r"\s+(?:with (?:an? |some )?optional\b|including\b|such as\b|e\.g\b|i\.e\b|for example\b)"
                   r"|,\s*(?:such as|including|e\.g|i\.e|for example|as well as)\b", re.IGNORECASE)
MAX_PHRASE_WORDS = 14
# a description that names the tool itself ("Matrix and linear algebra calculation tool"): a
# question asks for what it gave
# words a description praises its tool with, before the noun phrase that says what it is
# (never a word a technical term starts with: "robust standard errors", "smart contract", "advanced encryption")
_PUFFERY = frozenset({"powerful", "professional", "comprehensive", "enhanced", "ultimate", "versatile", "sophisticated",
                      "full-featured", "high-performance", "state-of-the-art", "cutting-edge", "best-in-class",
                      "enterprise-grade", "production-ready"})
_INSTRUMENTS = frozenset({"tool", "tools", "utility", "utilities", "helper", "service", "api", "wrapper", "calculator",
                          "converter", "engine", "toolkit", "endpoint"})


def _words(name: str) -> str:
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(name))
    return " ".join(w for w in re.split(r"[^A-Za-z0-9]+", s) if w).lower() or str(name)


def _param_words(name: str) -> str:
    """A parameter's name in words, its short forms spelled out (``expr`` -> ``expression``)."""
    return spelled_out(_words(name), alone=True)


def _verbs() -> frozenset[str]:
    from ..adapters.verbs import MAKE_VERBS, READ_VERBS, WRITE_VERBS

    return frozenset({v for v in _READ_LEADS if " " not in v}) | READ_VERBS | WRITE_VERBS | MAKE_VERBS | _VERBS


def _base(word: str) -> str:
    """A verb in the third person as its base form (``lists`` -> ``list``, ``searches`` -> ``search``)."""
    w = word.lower()
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith(("sses", "shes", "ches", "xes", "zzes")):
        return w[:-2]
    if w.endswith("s") and not w.endswith(("ss", "us", "is")) and len(w) > 3:
        return w[:-1]
    return w


def is_verb(word: str, following: str = "") -> bool:
    """Whether a description's first ``word`` is a verb (an instruction, ``Get ...``, or a
    statement, ``Returns ...``): a verb of the tables, or a word an article follows."""
    w = word.lower().split("/")[0]
    verbs = _verbs()
    return w in verbs or _base(w) in verbs or (following.lower() in _DETERMINERS and not w.endswith("ing")
                                                  and w not in _DETERMINERS and w.isalpha())


def _acronym(word: str) -> bool:
    """``OLS``, ``GARCH``, ``SaaS``, ``3D``: a word whose case is part of it."""
    return sum(1 for ch in word if ch.isupper()) >= 2 or (word[:1].isupper() and len(word) == 1)


def _lower(word: str) -> str:
    return "-".join(p if _acronym(p) else p.lower() for p in word.split("-"))


def _sentence_case(text: str) -> str:
    """A description in sentence case: a title-cased one (``Support Vector Machine Analysis``)
    lower-cased but for its acronyms, else only its first word lower-cased (unless it is one)."""
    words = text.split()
    if not words:
        return text
    long = [w for w in words if len(w) > 3 and w[:1].isalpha()]
    if len(long) >= 2 and all(w[:1].isupper() for w in long):
        return " ".join(_lower(w) for w in words)
    first = words[0]
    if first == "A" and len(words) > 1 and words[1][:1].islower():
        return " ".join(["a"] + words[1:])  # the article, not a variable named A: "A detailed tool for ..."
    head = "-".join([first.split("-")[0] if _acronym(first.split("-")[0]) else first.split("-")[0].lower()]
                    + first.split("-")[1:])
    return " ".join([head] + words[1:])


def _first_clause(desc: str) -> str:
    """The first clause of a description, without parentheticals, a leading label, a leading
    "given ..." clause or a trailing elaboration."""
    first = desc.strip().split("\n", 1)[0]
    first = _LEAD_LABEL.sub("", first)
    for _ in range(3):
        first = re.sub(r"\s*\([^()]*\)", "", first)  # "(AIC, BIC, ...)", "(e.g. .jpg, .png)"
    # a sentence ends after a word in capitals too when the next one starts a sentence ("by ID. Use ...")
    first = re.split(r"(?<=[a-z0-9)\]])[.!?](?:\s|$)|(?<=[A-Z]{2})[.!?](?:\s+(?=[A-Z])|$)|\s[-–—]\s|:\s|;\s|[，。；：]",
                     first, maxsplit=1)[0]
    first = first.split("(")[0].split(")")[0]  # an unclosed parenthesis: what follows is cut off
    first = _FILLER.sub("", _GIVEN.sub("", _FILLER.sub("", first.strip()).strip()).strip())
    first = _TAIL.split(first, maxsplit=1)[0]
    return first.strip().rstrip(".,").strip()


def _one_action(phrase: str) -> str:
    """One action of a phrase that names two: "search and list database objects" -> "list
    database objects"; "fetch a website and return the content as HTML" -> "fetch a website"."""
    words = phrase.split()
    if len(words) >= 3 and words[1] in ("and", "or", "&") and is_verb(words[0]) and is_verb(words[2]):
        return " ".join(words[2:])
    verbs = _verbs()
    for i in range(2, len(words) - 1):
        if words[i] not in ("and", "then"):
            continue
        j, adverb = i + 1, False
        if words[j].lower() in ("optionally", "also", "then") and j + 1 < len(words):
            j, adverb = j + 1, True
        w = words[j].lower()
        followed = j + 1 < len(words) and (words[j + 1].lower() in _DETERMINERS
                                           or words[j + 1].lower() in ("where", "when", "why"))
        if (w in verbs or _base(w) in verbs) and (adverb or followed or _base(w) in ("return", "list", "get")):
            return " ".join(words[:i]).rstrip(",")
    return phrase


def tool_sentence(tool: str, ref: Any = None) -> str:
    """What the tool does, as a short lower-case verb phrase (``get the weather for a city``):
    the first clause of its description when short, else its title, else its name."""
    desc = getattr(ref, "description", None) if ref is not None else None
    title = getattr(ref, "title", None) if ref is not None else None
    if isinstance(desc, str) and desc.strip():
        first = _first_clause(desc)
        if len(first.split(", ")[0].split()) >= 3:
            first = first.split(", ")[0]  # "generate an image, return its data, ..." -> "generate an image"
        adverb = re.match(r"^[A-Za-z]+ly\s+(\S+)", first)
        if adverb and is_verb(adverb.group(1)):
            first = first[adverb.end(1) - len(adverb.group(1)):]  # "automatically check ..." -> "check ..."
        first = _one_action(first)
        if first and len(first.split()) <= MAX_PHRASE_WORDS and re.match(r"[A-Za-z]+\b", first) \
                and first.isascii() and not re.search(r"[{}<>`|\[\]=]", first):
            return _sentence_case(first)
    from ..adapters.verbs import MAKE_VERBS, READ_VERBS, WRITE_VERBS

    words = (_words(title) if isinstance(title, str) and title.strip() and len(title.split()) <= MAX_PHRASE_WORDS
             else _words(tool)).split()
    # a namespace before the name: "mcp howtocook what to eat" -> "what to eat" ("git log" stays)
    if len(words) > 1 and words[0] == "mcp":
        server = set(_words(str(getattr(ref, "server", "") or "")).split())
        words = words[1:]
        while len(words) > 1 and words[0] in server:
            words = words[1:]
    verbs = {v for v in _READ_LEADS if " " not in v} | READ_VERBS | WRITE_VERBS | MAKE_VERBS
    at = next((i for i, w in enumerate(words) if w in verbs), None)
    if at is not None and 0 < at < len(words) - 1 and words[at] not in WRITE_VERBS:
        return " ".join(words[at:])  # namespace words before the verb: "mcp howtocook get recipe" -> "get recipe"
    if at is None or (at > 0 and words[at] not in WRITE_VERBS):
        return " ".join(words)  # a name that is a noun: "git log" (a scope says "the git log")
    if at > 0 and at == len(words) - 1:
        return f"{words[at]} in {' '.join(words[:at])}"  # "git commit" -> "commit in git"
    rest = words[:at] + words[at + 1:]
    if rest and rest[0] not in ("the", "a", "an", "all"):
        return f"{words[at]} the " + " ".join(rest)  # "rename worksheet" -> "rename the worksheet"
    return " ".join([words[at], *rest])


def _imperative(phrase: str) -> str:
    """``Creates a note`` -> ``create a note`` (a description in the third person)."""
    first, _, rest = phrase.partition(" ")
    return (_base(first.split("/")[0]) + (" " + rest if rest else "")).strip()


def _gerund(verb: str) -> str:
    if verb.endswith("ie"):
        return verb[:-2] + "ying"
    if verb.endswith("e") and not verb.endswith(("ee", "ye", "oe")):
        return verb[:-1] + "ing"
    if re.search(r"(?:^|[^aeiou])[aeiou][b-df-hj-np-tvz]$", verb) and (
            len(re.findall(r"[aeiou]+", verb)) == 1 or verb in _STRESSED_LAST):
        return verb + verb[-1] + "ing"  # "plan" -> "planning", "split" -> "splitting"
    return verb + "ing"


_STRESSED_LAST = frozenset({"reset", "submit", "commit", "begin", "omit", "permit", "admit", "refer", "prefer", "occur",
                            "forget", "upset", "control", "regret", "equip", "transfer", "unzip", "unwrap", "unpin",
                            "rerun", "forbid", "embed", "outfit", "format"})
MAX_VALUE_CHARS = 60
MAX_LIST_VALUES = 10
# an instruction (an effect) says what it writes: a longer value, and a text of several lines
# as a block after it; a question about a read never quotes a document
EFFECT_VALUE_CHARS = 300
EFFECT_BLOCK_CHARS = 1000


def _value_words(value: Any, limit: int = MAX_VALUE_CHARS, depth: int = 0) -> str | None:
    """An argument's value as a question writes it, or None when it has no short words: a
    text of several lines or longer than ``limit``, a long list, a list of
    objects (a question never quotes a document or a payload). A small object may hold one
    more small list or object (a file and its line ranges: 'file path "a.csv", ranges start
    5'), never deeper (``depth``: how many objects it sits in)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        if not value.strip() or "\n" in value.strip() or len(value) > limit:
            return None
        return quote(value)
    if isinstance(value, list):
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        # a series of numbers is said as long as a small table of them is (a time series to decompose)
        if not value or len(value) > (MAX_TABLE_NUMBERS if numbers else MAX_LIST_VALUES):
            return None
        if numbers:
            parts = [str(v) for v in value]  # numbers are no quoted text: "7, 10 and 12"
            return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        if _number_rows(value):  # a small table of numbers, a row at a time: "(4, 7), (8, 12) and (6, 8)"
            parts = ["(" + ", ".join(str(x) for x in row) + ")" for row in value]
            return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        if any(isinstance(v, list) for v in value) or (any(isinstance(v, dict) for v in value) and len(value) > 3):
            return None  # a payload of records is no value a question quotes (a few small ones are)
        parts = [_value_words(v, depth=depth) for v in value]
        return None if any(p is None for p in parts) else (
            parts[0] if len(parts) == 1 else ", ".join(p for p in parts[:-1] if p) + " and " + str(parts[-1]))
    if isinstance(value, dict):
        if len(value) > 3:
            return None
        parts = []
        for k, v in value.items():
            words = _value_words(v, depth=depth + 1) if not isinstance(v, (dict, list)) or depth < MAX_VALUE_DEPTH else None
            if words is None:
                return None
            parts.append(f"{_words(k)} {words}")
        return ", ".join(parts) if parts else None
    return None


MAX_VALUE_DEPTH = 1  # objects a value quoted in a question may sit in, around one more list or object
MAX_ROW_NUMBERS = 6
MAX_TABLE_NUMBERS = 30


def _number_rows(value: list[Any]) -> bool:
    """A short list of short rows of numbers (a data matrix a user would type out): at most
    :data:`MAX_LIST_VALUES` rows of one to :data:`MAX_ROW_NUMBERS` numbers each, at most
    :data:`MAX_TABLE_NUMBERS` numbers in all."""
    return all(isinstance(row, list) and 0 < len(row) <= MAX_ROW_NUMBERS
               and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in row) for row in value) \
        and sum(len(row) for row in value) <= MAX_TABLE_NUMBERS


def declared_defaults(ref: Any) -> dict[str, Any]:
    """The defaults a tool's input schema declares for its parameters (name -> default)."""
    schema = getattr(ref, "input_schema", None) if ref is not None else None
    props = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(props, dict):
        return {}
    return {k: v["default"] for k, v in props.items() if isinstance(v, dict) and "default" in v}


def _required(ref: Any) -> set[str]:
    schema = getattr(ref, "input_schema", None) if ref is not None else None
    required = schema.get("required") if isinstance(schema, dict) else None
    return {r for r in required if isinstance(r, str)} if isinstance(required, list) else set()


def _all_optional(ref: Any, name: str) -> bool:
    """Whether the object parameter ``name`` declares its properties and requires none of
    them (directly or through a local ``$ref``): an empty one leaves each to its default. An
    object whose fields the schema does not say (a resume to render) is no such object."""
    schema = getattr(ref, "input_schema", None) if ref is not None else None
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        return False
    prop = inline_refs(schema["properties"].get(name), schema)
    return isinstance(prop, dict) and isinstance(prop.get("properties"), dict) and bool(prop["properties"]) \
        and not prop.get("required")


_PARTICIPLES = frozenset({"given", "specified", "provided"})


def _with_arguments(phrase: str, args: dict[str, Any], subst: dict[str, str], ref: Any, joiner: str = "for",
                    instruction: bool = False, slots: bool = True) -> str | None:
    """``phrase`` with every argument put in: where the phrase names it ("a city" -> 'the city
    "Paris"'), else after it ("for city ... and units ..."). None when a value has no words.
    An ``instruction`` (an effect) quotes values up to :data:`EFFECT_VALUE_CHARS` and gives
    one text of several lines as a block after the sentence ("... and the content below:").
    Without ``slots`` no argument is put inside the phrase (it names a kind of tool)."""
    defaults = declared_defaults(ref)
    rest: list[str] = []
    given_last = False
    text = phrase
    block = block_words = ""
    required = _required(ref)
    for name, value in args.items():
        if name not in subst and (value is None or (name in defaults and defaults[name] == value)
                                  or (value in ({}, [], "") and name not in required)
                                  or (value == {} and _all_optional(ref, name))):
            # an empty object, list or text the tool does not require gives nothing; nor does a
            # required empty object of options only (``{"args": {}}``: each left to its default)
            continue
        words = _param_words(name)
        if instruction and name not in subst and value == [] and name in required:
            rest.append(f"no {words}")  # a required empty list: "with no available MCP tools"
            continue
        if name in subst:
            said = subst[name]
            # "the warehouse whose city is ..." names a warehouse already: no "the warehouse of" before it
            given = re.match(r"the .+? (given by|shown by) (.+)$", said, re.DOTALL)
            if given:  # "the path given by X" for a pdf path: "the pdf path given by X", never "the pdf path of the path ..."
                named = f"the {words} {given.group(1)} {given.group(2)}"
            elif said.lower().startswith((f"the {words} ", f"the {words.split()[-1]} ")):
                named = said  # "the path of the file whose ..." for a path: no "the file path of" before it
            else:
                named = f"the {words} of {said}"
        elif instruction and not block and isinstance(value, str) and "\n" in value.strip() \
                and len(value) <= EFFECT_BLOCK_CHARS:
            block, block_words = value.strip("\n"), words
            continue
        else:
            said = _value_words(value, EFFECT_VALUE_CHARS if instruction else MAX_VALUE_CHARS)
            if said is None:
                return None
            named = f"the {words} {said}"
        pattern = re.compile(r"\b(?:an?|the|given|specified|provided|some)\s+"
                             r"(?:given\s+|specified\s+|specific\s+|particular\s+|certain\s+|list of\s+)?"
                             + re.escape(words)
                             + r"\b(?!\s+\")", re.IGNORECASE)
        bare = re.compile(r"\b(of|for|in|on|from|into|to)\s+" + re.escape(words) + r"(?=\s*$|\s*[,;:.]|\s+(?:with|and|for|in|on|to|from|using|by|at)\b)",
                          re.IGNORECASE)
        if slots and not pattern.search(text) and bare.search(text):
            # "the head function of expression": the value is the expression the phrase names
            text = bare.sub(lambda m: f"{m.group(1)} {named}", text, count=1)
        elif slots and pattern.search(text):
            # "given fixed costs" -> "given the fixed costs 3": the participle stays, the article is put in
            text = pattern.sub(lambda m: (f"{lead} {named}" if (lead := m.group(0).split()[0].lower())
                                          in _PARTICIPLES else named), text, count=1)
            given_last = given_last or bool(re.search(r"\b(?:given|specified|provided) " + re.escape(named) + r"$", text))
        else:
            rest.append(f"{words} {said}" if name not in subst else named)
    if block:
        rest.append(f"the {block_words} below")
    if rest and given_last:
        # "... given the fixed costs 3": the other values go on the same list ("..., price per unit 3 and ...")
        text += (", " if len(rest) > 1 else " and ") + (
            ", ".join(rest[:-1]) + " and " + rest[-1] if len(rest) > 1 else rest[0])
    elif rest:
        joined = rest[0] if len(rest) == 1 else ", ".join(rest[:-1]) + " and " + rest[-1]
        text += (" with " if joiner == "with" or re.search(r"\bfor\b", text) else " for ") + joined
    return f"{text}:\n{block}\n" if block else text


def command_line(tool: str, args: dict[str, Any], ref: Any = None) -> str | None:
    """The command line a call of a tool that runs commands ran (``head -n 5 sales.csv``;
    an argv joined as a shell would read it), or None: what a user asks about is its output,
    not the tool's wording of how it runs commands."""
    import shlex

    schema = getattr(ref, "input_schema", None) or {}
    props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    text = f"{tool} {getattr(ref, 'title', None) or ''} {getattr(ref, 'description', None) or ''}"
    for name, value in args.items():
        if not command_parameter(name, props.get(name), text):
            continue
        if isinstance(value, list) and value and all(isinstance(w, str) for w in value):
            value = shlex.join(value)
        if isinstance(value, str) and value.strip() and "`" not in value and "\n" not in value and len(value) <= 200:
            return value.strip()
    return None


def generic_scope(tool: str, args: dict[str, Any], subst: dict[str, str] | None = None, ref: Any = None) -> str | None:
    """Where a read-only call of any tool looked, as a noun phrase built from the tool's
    description, title or name and its arguments (``the weather for the city "Paris"``)."""
    subst = {k.split("/")[0]: v for k, v in (subst or {}).items()}
    if (command := command_line(tool, args or {}, ref)) is not None and not subst:
        return f"the output of the command `{command}`"
    phrase = tool_sentence(tool, ref)
    low = phrase.lower()
    lead = next((v for v in _READ_LEADS if low == v or low.startswith(v + " ")), None)
    first, _, rest = phrase.partition(" ")
    if lead in _SEARCH_LEADS and len(low) > len(lead):
        said = " ".join([_gerund(_base(lead.split()[0]))] + lead.split()[1:])  # "look up" -> "looking up"
        noun = f"the results of {said} {phrase[len(lead):].strip()}"
    elif lead is not None and len(low) > len(lead) and not re.search(r"\b(?:into|onto|to|as|against)\b",
                                                                      phrase[len(lead):]):
        noun = re.sub(r"^if\b", "whether", phrase[len(lead):].strip())
        noun = re.sub(r"^(?:a|an)\s", "the ", noun)
        if not noun.lower().startswith(_ARTICLES) and not re.match(r"^(?:how|what|which|who|whether|when|where)\b", noun):
            noun = "the " + noun
        elif re.match(r"^(?:how|what|which|who|whether|when|where)\b", noun):
            noun = "the answer to " + noun
    elif is_verb(first, rest.split(" ")[0]):
        noun = f"the result of {_gerund(_base(first))}" + (f" {rest}" if rest else "")
    else:  # a description that is a noun phrase: "Natural logarithm" -> "the natural logarithm"
        words = phrase.split()
        while len(words) > 2 and words[0].lower() in _PUFFERY:
            words = words[1:]  # "Professional financial mathematics calculation tool": what it is, not its praise
        phrase, low = " ".join(words), " ".join(words).lower()
        noun = phrase if phrase.lower().startswith(_ARTICLES) else "the " + phrase
        if low.split()[-1:] and low.split()[-1] in _INSTRUMENTS:  # "matrix calculation tool": what it gave, not the tool
            noun = "the result of " + noun
            # the words before the tool are what kind of tool it is, no place for an argument: never
            # 'the number 60 theory calculation tool', but 'the number theory calculation tool for number 60'
            return _with_arguments(noun, args or {}, subst, ref, slots=False)
    return _with_arguments(noun, args or {}, subst, ref)


def generic_effect(tool: str, args: dict[str, Any], ref: Any = None) -> str | None:
    """What an effectful call of any tool does, as an instruction from the tool's description,
    title or name and its arguments (``create a note with the title "Groceries"``); a
    description that names no action is run (``run the hough circle detection ...``)."""
    phrase = tool_sentence(tool, ref)
    first, _, rest = phrase.partition(" ")
    if is_verb(first, rest.split(" ")[0]):
        phrase = _imperative(phrase)
    elif (helped := helped_action(getattr(ref, "description", None))) is not None:
        phrase = helped  # "A detailed tool for ... This tool helps analyze problems ..." -> "analyze problems ..."
    else:
        phrase = "run " + ("" if phrase.lower().startswith(_ARTICLES) else "the ") + phrase
    return _with_arguments(phrase, args or {}, {}, ref, "with", instruction=True)


# a later sentence of a description that says what the tool does for its user, after a first
# one that only names it ("A detailed tool for dynamic and reflective problem-solving")
_HELPS = re.compile(r"(?:^|[.!?]\s+|\n)(?:this tool|this server|it)\s+(?:helps(?:\s+you)?(?:\s+to)?|lets\s+you|"
                    r"allows\s+you\s+to|enables\s+you\s+to|is\s+used\s+to|can\s+be\s+used\s+to)\s+"
                    r"([a-z][a-z -]{3,120}?)(?=\s+(?:that|which|so|and then|while|when)\b|[,.;:!?\n]|$)", re.IGNORECASE)


def helped_action(description: Any) -> str | None:
    """What a description says its tool helps do, as an instruction (``This tool helps analyze
    problems through a flexible thinking process that ...`` -> ``analyze problems through a
    flexible thinking process``), when it starts with a verb; else None."""
    if not isinstance(description, str):
        return None
    m = _HELPS.search(description)
    if m is None:
        return None
    phrase = m.group(1).strip()
    first, _, rest = phrase.partition(" ")
    if not rest or not is_verb(first, rest.split(" ")[0]) or len(phrase.split()) > MAX_PHRASE_WORDS:
        return None
    return _imperative(phrase)


MAX_BLOCKS = 2


def block_scope(tool: str, server: str, args: dict[str, Any], adapter: Adapter | None = None,
                ref: Any = None) -> tuple[str, str] | None:
    """Words for a read whose input is a text of several lines (a document to hash, code to
    lint, two texts to compare), which no scope quotes: each such text named ``the <argument>
    below`` in the scope, and the texts themselves as a block to give after the question
    (headed by their names when there are two). None when the call has no such text, more than
    :data:`MAX_BLOCKS`, one longer than :data:`EFFECT_BLOCK_CHARS`, or still no words."""
    texts = [(k, v.strip("\n")) for k, v in args.items() if isinstance(v, str) and "\n" in v.strip()]
    if not texts or len(texts) > MAX_BLOCKS or any(len(v) > EFFECT_BLOCK_CHARS for _, v in texts):
        return None
    subst = {k: f"the {_words(k)} below" for k, _ in texts}
    where = scope(tool, server, args, subst, adapter, ref)
    if where is None or not all(phrase in where for phrase in subst.values()):
        return None
    if len(texts) == 1:
        return where, texts[0][1]
    return where, "\n\n".join(f"{_words(k)[:1].upper()}{_words(k)[1:]}:\n{v}" for k, v in texts)
