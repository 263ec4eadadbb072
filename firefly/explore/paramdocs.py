"""What a tool's documentation says one parameter takes.

Servers often document a parameter in prose rather than in its schema: in the parameter's
own description (``single | married_jointly | head_of_household``, a bullet list of formats,
``e.g. 2024-01-15``) or in an ``Args:`` section of the tool's description
(``chart_type: Type of chart ("bar", "line", "pie")``, ``target: gray, hsv, hls, lab``,
``start_cell: Cell to start writing to, default is "A1"``). :func:`documented_values` reads
those values, so that a parameter the schema leaves as a bare string is filled with what
the server's author wrote down, never with a stand-in. Callers filter placeholders.

:func:`value_kind` types a bare string parameter of a mathematical tool by its name (a
number, a variable, an expression, a matrix): the value is then one of that kind, not text.
"""

from __future__ import annotations

import ast
import json
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from ..adapters.verbs import MAKE_VERBS, READ_VERBS, WRITE_VERBS

__all__ = ["balanced_end", "documented_json", "documented_values", "is_free_text", "json_examples", "json_wanted", "param_doc",
           "closed_form_arguments", "math_servers", "shared_param_docs", "plausible_values", "value_kind"]

_QUOTED = re.compile(r"'([^'\n]{1,60})'|\"([^\"\n]{1,60})\"|`([^`\n]{1,60})`")
_WORD = r"[A-Za-z0-9_][A-Za-z0-9_.:+/-]{0,39}"
_PIPES = re.compile(rf"^\s*({_WORD}(?:\s*\|\s*{_WORD}){{1,15}})\s*$")
_BULLET = re.compile(rf"^\s*[-*]\s*({_WORD})\s*:", re.M)
_EG = re.compile(r"(?i)\b(?:e\.g\.|eg\.|for example|such as|example:|ex:)\s*[,:]?\s*([A-Za-z0-9][^\s,;()'\"`]{0,40})")
_DEFAULT = re.compile(r"(?i)\bdefaults?(?:\s+is|\s+to|:)?\s*[=:]?\s*(?:'([^'\n]{1,40})'|\"([^\"\n]{1,40})\"|`([^`\n]{1,40})`)")
_LIST = re.compile(rf"^\s*(?:one of\s*:?\s*)?({_WORD}(?:\s*,\s*{_WORD}){{2,15}})\s*\.?\s*$", re.I)
_PAREN = re.compile(r"\(([^()\n]{3,200})\)")


def param_doc(tool_description: str, name: str) -> str:
    """The text documenting ``name`` in a tool's description (an ``Args:`` line, or an inline
    ``name: ...``), up to the end of the line or the next documented name; ``""`` if none."""
    text = tool_description or ""
    m = re.search(rf"(?<![\w.])`?{re.escape(name)}`?\s*(?:\([^)\n]{{0,40}}\))?\s*:\s*(.+)", text)
    if not m:
        return ""
    rest = m.group(1)
    nxt = re.search(r"\s{2,}[A-Za-z_]\w*\s*(?:\([^)\n]{0,40}\))?\s*:\s", rest)
    return rest[: nxt.start()] if nxt else rest


def _alternatives(text: str) -> list[str]:
    """Values listed as the choices: ``a | b | c``, ``(a, b, c)``, ``a, b, c.`` after a colon."""
    out: list[str] = []
    for line in text.splitlines() or [text]:
        m = _PIPES.match(line)
        if m:
            out += [p.strip() for p in m.group(1).split("|")]
    for inner in _PAREN.findall(text):
        quoted = [a or b or c for a, b, c in _QUOTED.findall(inner)]
        if len(quoted) >= 2:
            out += quoted
    # "Convert color space. target: gray, hsv, hls" -> the list after the last sentence
    tail = re.split(r"[.:]\s+", text.strip())[-1] if text.strip() else ""
    m = _LIST.match(tail)
    if m:
        out += [p.strip().rstrip(".") for p in m.group(1).split(",")]
    return out


def json_examples(text: str) -> list[str]:
    """The JSON arrays and objects written out in a text (``Example: [3, 1, 2]``), as text;
    also those written as a JavaScript or Python literal (``[{name: 'Task 1', deps: ['a']}]``:
    bare keys, single quotes), as the JSON they stand for."""
    decoder = json.JSONDecoder()
    found: list[str] = []
    i = 0
    while (m := re.compile(r"[\[{]").search(text, i)) is not None:
        try:
            value, end = decoder.raw_decode(text, m.start())
        except ValueError:
            value, end = _literal_at(text, m.start())
            if value is None:
                i = m.start() + 1
                continue
        if value:
            found.append(json.dumps(value, ensure_ascii=False))
        i = end
    return found


def balanced_end(text: str, start: int) -> int | None:
    """The index just past the bracket closing the one at ``start`` (any of ``([{``), skipping
    quoted text; None when it is never closed."""
    depth = 0
    quote = ""
    i = start
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return None


_BARE_KEY = re.compile(r"([{,]\s*)([A-Za-z_$][\w$]*)\s*:")
_JS_WORDS = {"true": "True", "false": "False", "null": "None"}


def _literal_at(text: str, start: int) -> tuple[Any, int]:
    """The JavaScript or Python object or array literal that starts at ``start`` (its closing
    bracket found past quoted strings), as a value, and where it ends; (None, start) when
    there is none there. Only one with a key or a quoted string counts: ``[optional]`` and
    ``{name}`` are words in brackets, not examples."""
    close = balanced_end(text, start)
    if close is None:
        return None, start
    snippet = text[start:close]
    if not re.search(r"['\"]|:", snippet):
        return None, start
    pieces = re.split(r"('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")", snippet)  # code, string, code, ...
    code = [_BARE_KEY.sub(r'\1"\2":', p) if n % 2 == 0 else p for n, p in enumerate(pieces)]
    code = [re.sub(r"\b(true|false|null)\b", lambda w: _JS_WORDS[w.group(1)], p) if n % 2 == 0 else p
            for n, p in enumerate(code)]
    try:
        value = ast.literal_eval("".join(code))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None, start
    return (value, close) if isinstance(value, (list, dict)) else (None, start)


def documented_values(tool_description: str, name: str, param_description: str = "") -> list[str]:
    """Values the documentation gives for ``name``, most specific first: the parameter's own
    description, then its line in the tool's description. Quoted examples, listed choices,
    ``e.g.`` examples, a documented default, the keys of a bullet list of formats. A
    parameter documented as JSON takes only the JSON examples written out (never a string
    quoted inside one)."""
    found: list[str] = []
    for text in (param_description or "", param_doc(tool_description, name)):
        if not text:
            continue
        if re.search(r"\bJSON\b", text):
            found += json_examples(text)
            continue
        found += [d[0] or d[1] or d[2] for d in _DEFAULT.findall(text)]
        found += _alternatives(text)
        found += [a or b or c for a, b, c in _QUOTED.findall(text)]
        found += [e.rstrip(".") for e in _EG.findall(text)]
        found += _BULLET.findall(text)
    # "If no sortField is provided, use the _id field": what the tool takes without it is a value
    m = re.search(rf"(?i)\bif no `?{re.escape(name)}`? (?:is |was )?(?:provided|given|specified|set)\b[^.\n]{{0,20}}?"
                  r"\b(?:use|uses|defaults? to)\s+(?:the\s+)?[`'\"]?([\w.\-]*\w)", tool_description or "")
    if m and m.group(1).lower() not in ("default", "first", "current", "same", "an", "a"):
        found.append(m.group(1))
    seen: dict[str, None] = {}
    for v in found:
        v = v.strip()
        if v and v.lower() not in ("true", "false", "null", "none") and v not in seen:
            seen[v] = None
    return list(seen)


_MATH_WORDS = re.compile(
    r"\b(math\w*|expressions?|equations?|symbol\w*|polynom\w*|integra\w*|derivat\w*|differentiat\w*|matri\w*"
    r"|primes?|factori\w*|divisors?|gcd|lcm|algebra\w*|arithmetic|simplif\w*|solve|logical|geometr\w*|triangles?"
    r"|points?|fibonacci|catalan|lucas|binomial|modulo|numeric|implies|intervals?|finite set|summation"
    r"|series expansion|totient|zeta|eta|eigen\w*|determinant|calculus|trigonometr\w*|latex)\b")
_NUMBER_NAMES = {"n", "k", "m", "a", "b", "p", "q", "s", "num", "den", "number", "numbers", "integer", "int", "base", "exp",
                 "elements", "guesses",
                 "exponent", "modulus", "mod", "lower", "upper", "start", "end", "step", "order", "degree",
                 "precision", "prec", "digits", "dimension", "nu", "index"}
_SYMBOL_NAMES = {"x", "y", "z", "t", "var", "variable", "variables", "symbol", "symbols", "wrt", "name", "names",
                 "sym", "syms", "gens", "generator", "free_symbol", "dummy"}
_EXPR_NAMES = {"expr", "expression", "expressions", "lhs", "rhs", "f", "g", "eq", "eqs", "equation", "equations",
               "function", "func", "args", "arg", "factors", "terms", "formula", "poly", "polynomial",
               "numerator", "denominator", "condition", "cond", "predicate", "e", "expr1", "expr2", "body", "sol",
               "solution"}
_MATRIX_NAMES = {"matrix", "matrix1", "matrix2", "matrix_a", "matrix_b", "rows", "mat", "a_matrix"}
_SET_NAMES = {"set", "sets", "set1", "set2", "set_a", "set_b", "a_set", "b_set"}
_POINT_NAMES = {"point", "point1", "point2", "point3", "p1", "p2", "p3", "center", "origin", "coords"}


# words that name mathematics in a tool but not a mathematical server (points of a PDF page,
# a LaTeX document, code symbols, a logical step)
_WEAK_MATH = ("point", "geometr", "latex", "logical", "symbol", "integra", "eta", "numeric")


def math_servers(tools: Iterable[Any]) -> frozenset[str]:
    """Servers about mathematics: at least three of their tools, and a third of them, say so
    in their names and descriptions. Their other tools (``Create equality.``, ``Range.``)
    take mathematical values too (:func:`value_kind`, given the word ``mathematics``)."""
    total: Counter[str] = Counter()
    math: Counter[str] = Counter()
    for t in tools:
        total[t.server] += 1
        text = re.sub(r"[_\-]+", " ", f"{t.name} {t.description or ''}").lower()
        if any(m.group(0) not in _WEAK_MATH and not m.group(0).startswith(_WEAK_MATH) for m in _MATH_WORDS.finditer(text)):
            math[t.server] += 1
    return frozenset(s for s, n in math.items() if n >= 3 and 3 * n >= total[s])


# a parameter that hands a tool a thing of a world by reference: what the server keeps between calls
_HANDLE_WORDS = frozenset({"id", "ids", "uuid", "handle", "session", "key", "ref", "path", "file", "filename", "dir",
                           "directory", "folder", "url", "uri", "table", "database", "db", "store", "index"})


def value_servers(tools: Iterable[Any]) -> frozenset[str]:
    """Servers that make only values: about mathematics (:func:`math_servers`), and no tool
    of theirs takes a handle to anything kept between calls (an id, a session, a key, a
    path: every argument is a value written out, ``Matrix([[1, 2], [3, 4]])``). What their
    "Create a matrix" makes is the matrix it answers with; no later call can meet it."""
    tools = list(tools)
    handles = {t.server for t in tools
               for k in ((t.input_schema or {}).get("properties") or {})
               if _HANDLE_WORDS & set(re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(k)).lower().replace("_", " ").replace("-", " ").split())}
    return frozenset(math_servers(tools) - handles)


# arguments where an elementary function has a closed form: cos(pi/3) is 1/2, where cos(290)
# is given back as it was asked
_CLOSED_FORMS: dict[str, tuple[str, ...]] = {
    **{f: ("pi/3", "pi/4", "pi/6") for f in ("sin", "cos", "tan", "cot", "sec", "csc")},
    **{f: ("1/2", "sqrt(3)/2") for f in ("asin", "acos", "arcsin", "arccos")},
    **{f: ("1", "sqrt(3)") for f in ("atan", "arctan")},
    **{f: ("I*pi/3", "I*pi/6") for f in ("sinh", "cosh", "tanh")},
    # and whose value the question does not show (log(exp(3)) is 3, there for all to see)
    "exp": ("log(2) + log(3)", "2*log(3)"), "log": ("exp(2)*exp(3)", "E**2*E**4"), "ln": ("exp(2)*exp(3)", "E**2*E**4"),
    "sqrt": ("8", "18"), "cbrt": ("27", "16"),
    # an operation on an expression it changes: simplified already, it is given back as asked
    "trigsimp": ("sin(x)**2 + cos(x)**2", "2*sin(x)*cos(x)"), "expand_trig": ("sin(2*x)", "cos(x + y)"),
    "together": ("1/x + 1/y", "1/(x + 1) + 1/x"), "apart": ("1/(x**2 - 1)", "(x + 3)/(x**2 + x)"),
    "nsimplify": ("0.5", "0.125"), "cancel": ("(x**2 - 1)/(x - 1)", "(x**2 + 2*x + 1)/(x + 1)"),
    "radsimp": ("1/(1 + sqrt(2))",), "powsimp": ("x**2*x**3",)
}


def closed_form_arguments(tool_name: str) -> tuple[str, ...]:
    """For a tool named after an elementary function (``sympy_cos``, ``tanh``), arguments
    at which the function has a closed form; for one named after a simplification
    (``trigsimp``, ``together``), an expression it changes; none for any other tool."""
    words = [w for w in re.split(r"[^a-z0-9]+", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", tool_name).lower()) if w]
    from ..adapters.verbs import READ_VERBS, WRITE_VERBS

    if not words or len(words) > 2 or (len(words) == 2 and words[0] in READ_VERBS | WRITE_VERBS):
        return ()  # "get_log" reads a log; only the function itself, or it after a namespace
    return _CLOSED_FORMS.get(words[-1], ())

def value_kind(name: str, tool_text: str) -> str | None:
    """``number``, ``symbol``, ``expression``, ``matrix``, ``point`` or ``set`` for a bare
    string parameter of a tool whose name and description are about mathematics; None
    otherwise."""
    low = re.sub(r"[_\-]+", " ", tool_text).lower()
    if not _MATH_WORDS.search(low):
        return None
    n = name.lower()
    stem = n.rstrip("0123456789") or n
    if n in _MATRIX_NAMES or stem in _MATRIX_NAMES or "matrix" in n:
        return "matrix"
    if n in _POINT_NAMES or stem in ("point", "p"):
        return "point"
    if n in _SET_NAMES or stem in _SET_NAMES:
        return "set"
    if n in _EXPR_NAMES or stem in _EXPR_NAMES or "expr" in n:
        return "expression"
    if (n in _SYMBOL_NAMES or stem in _SYMBOL_NAMES) and (n not in ("name", "names") or "symbol" in low):
        return "symbol"
    if n in _NUMBER_NAMES or stem in _NUMBER_NAMES or n.endswith(("_n", "_k", "_number", "_count")):
        return "number"
    return None


_TEXT_WORDS = {"text", "input", "string", "str", "content", "contents", "original", "modified", "topic", "sentence",
               "paragraph", "document", "message", "subject", "title", "prompt", "question", "caption", "char",
               "chars", "phrase", "words", "note", "summary", "description", "comment", "body", "a", "b",
               "thought", "idea", "insight", "reason", "feedback", "answer", "reply", "explanation"}
_NOT_TEXT = re.compile(r"(?i)\b(code|command|script|sql|query|json|yaml|xml|html|regex|regexp|pattern|cypher|"
                       r"mermaid|dsl|url|uri|path|file|folder|directory|id|key|token|selector|base64|hex|jwt|"
                       r"expression|formula|equation|name|email|date|time|version|color|colour|number|identifier)\b")


def is_free_text(name: str, description: str, tool_text: str = "") -> bool:
    """A parameter that takes any human text (``text``, ``input: String to hash``,
    ``original``, ``topic``): named so, and nothing in its name or description asks for
    code, a query, a path, an id or another format. ``a``/``b`` count only beside a text tool."""
    words = [w for w in re.split(r"[^a-z0-9]+", re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()) if w]
    words = [w.rstrip("0123456789") or w for w in words]
    if not words or not set(words) & _TEXT_WORDS or _NOT_TEXT.search(" ".join(words)):
        return False
    if set(words) <= {"a", "b"} and not re.search(r"(?i)\b(text|string)s?\b", tool_text):
        return False
    return not _NOT_TEXT.search(_SUBJECT.sub("", description or ""))


# "The input string to test the regex pattern against": the text a pattern or query runs on, not one
_SUBJECT = re.compile(r"(?i)\bto (?:test|match|run|check|search|apply)\b[^.;]*?\bagainst\b"
                      r"|\bto be (?:matched|searched|tested|parsed) (?:by|with)\b[^.;]*")


_CODE_WORDS = {"code", "script", "snippet", "program", "source"}
_COMMAND_WORDS = {"command", "cmd", "commandline", "shell"}
_STORED_WORDS = {"value", "val", "member", "element"}
_NAME_WORDS = {"name", "key", "title", "label", "tag", "alias", "slug"}
_GENERAL_WORDS = _NAME_WORDS | {"new", "the", "a", "id", "str", "string", "value"}
# a runnable snippet per language a code parameter's documentation names; first match wins
_SNIPPETS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"(?i)\b(python|py)\b"), ("print(sum(range(10)))", "import math\nprint(math.sqrt(2))")),
    (re.compile(r"(?i)\b(javascript|js|node(?:\.?js)?|typescript|ts)\b"),
     ("console.log([1, 2, 3].map(x => x * 2));", "console.log(Math.max(4, 9, 2));")),
    (re.compile(r"(?i)\b(bash|shell|sh|zsh)\b"), ("echo hello", "ls")),
)
_SELECTOR = re.compile(r"(?i)\bcss\b|\bselector\b")
# "Name for the screenshot", "Unique key for the context item": the name of a thing to make
_NEW_NAME = re.compile(r"(?i)^\W*(?:an? |the )?(?:new |unique )?(?:name|key|title|label) (?:for|to give)\b|\bunique\b|\bnew\b")


def _name_words(name: str) -> list[str]:
    return [w for w in re.split(r"[^a-z0-9]+", re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()) if w]


def plausible_values(name: str, description: str, tool_text: str, *, makes: bool) -> list[str]:
    """Values a bare string parameter plausibly takes when nothing grounds it, from what its
    name and documentation say it is: a runnable snippet for code in a language the
    documentation names, a harmless shell command, a CSS selector that every page has, or,
    for a tool that makes a thing (``makes``), a short value to store or a new name for it
    built from the parameter's own words (``sheet_name`` -> ``sheet_2``). Empty when the parameter is none of these (an
    id, a key of something that must exist already)."""
    words = _name_words(name)
    wset = set(words)
    text = f"{description} {tool_text}"
    if wset & _CODE_WORDS and not wset & {"id", "ids", "key", "path", "file", "name", "type", "language", "lang"}:
        for lang, snippets in _SNIPPETS:
            if lang.search(description) or (not description and lang.search(tool_text)):
                return list(snippets)
        for lang, snippets in _SNIPPETS:
            if lang.search(tool_text):
                return list(snippets)
        return []
    if wset & _COMMAND_WORDS and not wset & {"id", "ids", "name", "type"}:
        return ["echo hello", "ls", "pwd"]
    if "selector" in wset or (_SELECTOR.search(description) and wset & {"target", "element", "selector"}):
        return ["body", "h1", "p"]
    if makes and words and words[-1] in _STORED_WORDS:
        return ["ready", "blue", "42"]  # a value to store: any short one will do
    told_new = bool(_NEW_NAME.search(description))
    if (makes or told_new) and words and words[-1] in _NAME_WORDS:
        noun = next((w for w in reversed(words) if w not in _GENERAL_WORDS and len(w) > 1), "")
        tool_name = tool_text.split(" ", 1)[0].lower()
        if noun and not told_new and noun not in tool_name:
            return []  # link(source_key, target_key) makes a link: its source must exist already
        if not noun:
            verbs = READ_VERBS | WRITE_VERBS | MAKE_VERBS
            noun = next((w for w in reversed(_name_words(tool_text.split(" ", 1)[0]))
                         if w not in _GENERAL_WORDS and w not in verbs and len(w) > 2), "item")
        return [f"{noun}_{n}" for n in (2, 3, 7)]
    return []


_JSON = re.compile(r"\bJSON\b")
_JSON_OF = re.compile(r"\bJSON (?:in|for) (?:the )?(?:parameter |field |argument )?['\"`]?(\w+)")
_JSON_ERROR = re.compile(r"(?i)\b(?:invalid|valid|malformed|parse|decode)\b[^.\n]{0,30}\bJSON\b|\bJSON\b[^.\n]{0,30}\b(?:invalid|expected|decode|parse)")


def json_wanted(name: str, description: str, failures: list[str]) -> bool:
    """True when a string parameter takes a JSON text: its description says so, or a failed
    call's error says the JSON was invalid and names the parameter (or names no other)."""
    if _JSON.search(description or ""):
        return True
    for text in failures:
        if not _JSON_ERROR.search(text):
            continue
        named = _JSON_OF.findall(text)  # "Invalid JSON in options": that parameter only
        if not named or name in named:
            return True
    return False


def documented_json(tool_description: str, name: str, description: str) -> list[str]:
    """The JSON values written out for a JSON-text parameter: in its own description, on its
    line of the tool's description, or in the lines after the tool's description mentions it
    as JSON (```options` is a JSON array of label strings:\\n  ["Residential", ...]``)."""
    found = json_examples(description or "") + json_examples(param_doc(tool_description or "", name))
    for m in re.finditer(rf"(?<![\w]){re.escape(name)}(?![\w])", tool_description or ""):
        after = (tool_description or "")[m.end(): m.end() + 400]
        if _JSON.search(after[:120]):
            found += json_examples(after)
    return list(dict.fromkeys(found))


def shared_param_docs(tools: Iterable[Any]) -> dict[str, dict[str, str]]:
    """Server -> parameter name -> how most of its tools document a parameter of that name
    (``name`` -> "The Redis key."), for a tool of the same server that leaves it undocumented
    (``llen(name)``): the server's authors mean the same thing by the same name."""
    tally: dict[str, dict[str, Counter[str]]] = {}
    for t in tools:
        props = (t.input_schema or {}).get("properties") if isinstance(t.input_schema, dict) else None
        for name, spec in (props or {}).items() if isinstance(props, dict) else ():
            doc = param_doc(t.description or "", name)
            if not doc and isinstance(spec, dict) and isinstance(spec.get("description"), str):
                doc = spec["description"]
            if doc.strip():
                tally.setdefault(t.server, {}).setdefault(name, Counter())[doc.strip()] += 1
    return {server: {name: c.most_common(1)[0][0] for name, c in names.items()} for server, names in tally.items()}


# the parameter names of a tool's one handle, when undocumented (``llen(name)``)
_HANDLE_NAMES = frozenset({"name", "key", "id"})
_KIND_STOP = frozenset({
    "the", "a", "an", "of", "to", "in", "on", "for", "with", "and", "or", "at", "by", "from", "this", "that", "which",
    "is", "be", "it", "its", "key", "keys", "name", "names", "id", "ids", "str", "int", "optional",
    "required", "given", "existing", "value", "values",
})


def thing_kind(tool: Any, name: str) -> str:
    """The kind of thing a parameter names, in the words documenting it (``name: The Redis
    hash key.`` -> ``hash``; ``key (str): The sorted set key.`` -> ``sorted set``), without
    the server's own name and words naming no kind. An undocumented parameter that is the
    tool's one handle (``llen(name)``: "Get the length of a Redis list.") names the thing the
    description's first sentence is about (``list``); else ``""``. Two tools whose parameter
    is documented alike take the same kind of thing."""
    props = (tool.input_schema or {}).get("properties") if isinstance(tool.input_schema, dict) else None
    spec = props.get(name) if isinstance(props, dict) else None
    doc = param_doc(tool.description or "", name)
    if not doc and isinstance(spec, dict) and isinstance(spec.get("description"), str):
        doc = spec["description"]
    own = {w.lower() for w in re.split(r"[^A-Za-z0-9]+", f"{tool.server} {name}") if w}
    if not doc.strip():
        handles = [k for k in (props or {}) if k.lower() in _HANDLE_NAMES]
        if handles != [name]:
            return ""
        first = re.split(r"(?<=[.!?])\s|\n", (tool.description or "").strip(), maxsplit=1)[0].lower()
        # "of a Redis list", "onto the left of a Redis list and ...": the thing, after "a"/"an"
        for m in re.finditer(r"\b(?:a|an)\s+((?:[a-z][a-z0-9-]*\s+){0,3}?[a-z][a-z0-9-]*)\s*(?:$|[.,;:(]|\s(?:"
                             r"and|or|with|within|at|in|on|from|to|by|for|that|which|using|if)\b)", first):
            words = [w for w in m.group(1).split() if w not in _KIND_STOP and w not in own]
            if words:  # "Add a value to a list": the list, not the value
                return " ".join(words[:6])
        return ""
    # "The key to set.": what is done with it, not what it is
    first = re.sub(r"\s+to\s+\w+(?:\s+\w+)?\s*$", "", doc.split(".")[0].lower())
    words = [w for w in re.findall(r"[a-z][a-z0-9]*", first) if w not in _KIND_STOP and w not in own]
    return " ".join(words[:6])
