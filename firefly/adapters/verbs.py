"""One verb table: what a tool's name says about whether it changes the world.

Annotations decide where a server gives them (``readOnlyHint``, ``destructiveHint``); these
tables are for the tools that give none. They name verbs, never tools of a particular server.
"""

from __future__ import annotations

import re

from ..ids import canonical_json
from ..jsonvalues import leaves

__all__ = ["LIST_VERBS", "MAKE_VERBS", "READ_VERBS", "REMOVE_VERBS", "WRITE_VERBS", "blanket", "by_chance", "changes_nothing", "computes",
           "clock_parameter", "command_parameter", "first_sentence", "name_words", "reads_by_command", "reads_by_description", "reads_by_name", "says_it_changes",
           "says_it_changes_nothing", "writes_by_arguments", "writes_by_name"]

READ_VERBS = frozenset({
    "get", "list", "read", "search", "show", "describe", "find", "open", "query", "log", "status", "diff",
    "view", "fetch", "lookup", "count", "calculate", "convert", "info", "tree", "check", "inspect", "stat",
    "stats", "head", "tail", "browse", "explain", "summarize", "validate", "preview", "version", "whoami",
    "ping", "health", "compute", "evaluate", "resolve", "peek", "load", "print", "cat", "ls", "grep",
    "scan", "enumerate",
})
WRITE_VERBS = frozenset({
    "delete", "remove", "drop", "write", "create", "update", "kill", "send", "insert", "set", "put", "post",
    "add", "edit", "modify", "move", "rename", "commit", "push", "pull", "reset", "clear", "purge", "destroy",
    "exec", "execute", "run", "start", "stop", "restart", "install", "uninstall", "upload", "save", "append",
    "replace", "patch", "merge", "apply", "terminate", "shutdown", "truncate", "archive", "publish", "submit",
    "approve", "reject", "register", "checkout", "init", "clone", "copy", "mkdir", "touch", "unlink", "rm", "mv", "cp",
    "click", "fill", "press", "navigate", "upsert", "import", "migrate", "enable", "disable", "lock",
    "unlock", "assign", "cancel", "schedule", "pay", "transfer", "notify", "invite", "attach", "detach",
    "revert", "restore", "rollback", "sync", "deploy", "undo", "redo", "spawn", "login", "logout",
    "subscribe", "unsubscribe", "erase", "wipe", "overwrite", "kill", "shell", "eval",
})
# the first word of a tool that makes a thing (a session, a batch) or lists the things there are
MAKE_VERBS = frozenset({
    "create", "new", "open", "start", "load", "init", "initialize", "begin", "add", "make", "register",
    "upload", "import", "connect", "generate", "plan", "build", "save", "set",
})
# the words of a tool that takes something away (a label showing presence cannot prove it)
REMOVE_VERBS = frozenset({
    "delete", "remove", "drop", "clear", "purge", "destroy", "unlink", "rm", "erase", "wipe", "truncate",
    "uninstall", "unsubscribe", "detach", "revoke", "kill", "terminate",
})
LIST_VERBS = frozenset({"list", "search", "find", "get", "show", "query", "all", "scan", "enumerate"})
_IGNORED = frozenset({"mcp", "tool", "do", "the", "a"})


def name_words(name: str) -> list[str]:
    """``gitLog`` / ``git-log`` / ``git_log`` -> ``["git", "log"]``."""
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", str(name))
    return [w for w in re.split(r"[^A-Za-z0-9]+", s.lower()) if w and w not in _IGNORED]


def writes_by_name(name: str) -> bool:
    """True when any word of the name is a verb that changes the world."""
    return any(w in WRITE_VERBS for w in name_words(name))


def reads_by_name(name: str, namespace: str = "") -> bool:
    """True when the name starts with a reading verb, after leading namespace words (the
    server's own name, or one word that is no verb: ``github_list_issues``) and no word of
    it is a writing verb."""
    words = name_words(name)
    space = set(name_words(namespace))
    while words[1:] and words[0] in space:
        words = words[1:]
    if not words or any(w in WRITE_VERBS for w in words):
        return False
    if words[0] in READ_VERBS:
        return True
    if len(words) > 1 and words[1] in READ_VERBS:
        return True
    # the verb after a namespace of more words (``context_session_list``): the first verb of
    # the name reads and makes nothing (not ``context_session_open``)
    verb = next((w for w in words if w in READ_VERBS | MAKE_VERBS), None)
    return verb is not None and verb not in MAKE_VERBS


# the first word of a description that says the tool reads ("Get all members of a set",
# "Returns the type of the value stored at key", "List recent sessions")
DESCRIBED_READ_VERBS = frozenset({
    "get", "gets", "retrieve", "retrieves", "return", "returns", "list", "lists", "read", "reads", "show", "shows",
    "fetch", "fetches", "search", "searches", "find", "finds", "check", "checks", "count", "counts", "query",
    "queries", "describe", "describes", "view", "views", "look", "looks", "display", "displays", "inspect",
    "inspects",
})



def first_sentence(description: str | None) -> str:
    """A description's first sentence (up to a sentence's end or a blank line)."""
    return re.split(r"(?<=[.!?])\s|\n\s*\n", (description or "").strip(), maxsplit=1)[0]

def reads_by_description(name: str, description: str | None) -> bool:
    """True when a tool's description starts with a verb that reads ("Get all fields and
    values from a hash", "Returns the string representation of the type", "List recent
    sessions"), its name has no verb that changes anything and no such verb is joined to the
    first ("Get or create a session", "Return and remove the first element")."""
    said = name_words(first_sentence(description))
    if not said or said[0] not in DESCRIBED_READ_VERBS:
        return False
    changes = WRITE_VERBS | REMOVE_VERBS | (MAKE_VERBS - READ_VERBS)

    def change(w: str) -> bool:
        return w in changes or w.removesuffix("s") in changes or w.removesuffix("es") in changes
    # a verb joined to the first ("or create", "and removes"); a noun that is also a verb
    # ("members of a set") changes nothing
    joined = [b for a, b in zip(said, said[1:]) if a in ("and", "or", "then")]
    return not any(change(w) for w in name_words(name) + joined)


CHANCE_WORDS = frozenset({"random", "randomly", "roll", "rolls", "shuffle", "shuffles", "dice", "lottery", "permutation",
                          "bootstrap", "monte", "stochastic", "simulate", "simulation"})


def says_it_changes(name: str, annotations: dict | None = None, description: str | None = None,
                    values_only: bool = False) -> bool:
    """Whether anything says a tool that is not known to be read-only changes the world: an
    annotation (``readOnlyHint`` false, ``destructiveHint`` true), a verb that changes
    something in its name unless the name starts with a reading verb (``get_best_move`` gets a
    move, it makes none), or such a verb first in its description. On a server that makes
    only values (``values_only``, :func:`firefly.explore.paramdocs.value_servers`: a
    mathematics server whose tools take no handle to anything), a description that starts
    with making something ("Create a matrix from rows", "Create equality.") makes a value,
    not a thing of a world."""
    ann = annotations or {}
    if ann.get("readOnlyHint") is False or ann.get("destructiveHint") is True:
        return True
    if says_it_changes_nothing(description):
        return False  # "Apply a patch to the text and return the result. This tool is read-only": a computation
    # on a server of values, adding, cancelling or replacing is arithmetic on the values given
    writes = WRITE_VERBS - _VALUE_OPERATIONS if values_only else WRITE_VERBS
    said = re.findall(r"[A-Za-z]+", description or "")
    described = re.sub(r"\b\d[A-Z]\b", lambda m: m.group(0).lower(), description or "")  # "2D" is one word
    words = [w for w in name_words(described) if not w.isdigit()]
    lead = words[0] if words else ""
    if values_only and (lead in MAKE_VERBS or lead.removesuffix("s") in MAKE_VERBS or lead in ("construct", "constructs")) \
            and set(words[1:4]) & _MATH_OBJECTS:
        writes = writes - MAKE_VERBS  # "Create a matrix from rows": a value; "Create a new notebook" stays a thing
        lead = ""
    named = name_words(name)
    first = next(iter(named), "")
    if any(w in writes for w in named) and first not in READ_VERBS:
        return True
    if said and said[0].lower() in ("the", "a", "an"):
        return False  # "The set of real numbers": a noun follows an article, not a verb
    return lead in writes or lead.removesuffix("s") in writes or lead.removesuffix("es") in writes


# verbs that change a world, and on a server of values (no handle to anything kept) are arithmetic
_VALUE_OPERATIONS = frozenset({"add", "cancel", "replace", "apply", "merge", "truncate", "append", "insert", "set",
                               "patch", "eval"})


_CHANGES_NOTHING = re.compile(
    r"(?:^|[.!:;]\s+|\bthis tool is\s+|\b(?:run|execute|perform)s?\s+an?\s+)(?:read-only|stateless)\b"
    r"(?!\s+(?:by default|mode|unless|except))"
    r"|\b(?:this tool|it)\s+(?:generates|produces|returns)\s+[\w\s]{0,40}?without modifying\b"
    r"|^[^.]*\bwrites nothing\b", re.IGNORECASE | re.MULTILINE)


def says_it_changes_nothing(description: str | None) -> bool:
    """Whether a tool's description says of the tool itself that it changes nothing ("This
    tool is read-only and stateless", "Run a read-only SQL query", "Read-only, writes
    nothing", "This tool generates structured output without modifying external systems"),
    not of a mode it may leave ("read-only by default", "opened in read-only mode")."""
    return bool(description) and _CHANGES_NOTHING.search(description) is not None


# what a mathematics server's "Create ..." makes when it makes a value
_MATH_OBJECTS = frozenset({
    "derivative", "integral", "limit", "sum", "product", "greater", "less", "equal", "unevaluated", "identity",
    "variable", "variables", "symbolic", "zero", "zeros", "ones", "diagonal", "quotient", "fraction", "d", "2d", "3d",
    "matrix", "matrices", "equality", "equation", "inequality", "set", "sets", "interval", "point", "points", "triangle",
    "polygon", "circle", "line", "segment", "symbol", "symbols", "integer", "rational", "real", "number", "numbers",
    "expression", "polynomial", "function", "vector", "lambda", "piecewise", "relational", "range", "sequence",
    "series", "tuple", "finite", "wild", "ellipse", "plane", "ray", "dummy", "float", "complex", "boolean"})
_WHERE_WORDS = frozenset({"output", "out", "dest", "destination", "save"})
_PLACE_WORDS = frozenset({"path", "file", "filename", "dir", "directory", "folder", "as", "to", "prefix"})


def writes_by_arguments(schema: dict | None, arguments: dict | None = None) -> bool:
    """Whether a tool writes by its arguments: its input schema names a place to write to (a
    parameter such as ``output_path``, ``save_as``, ``destination`` or ``output_dir``; an
    output format, a timeout or a destination time zone is no place) that it requires, or,
    given a call's ``arguments``, that the call fills."""
    schema = schema or {}
    places = _places(schema)
    if arguments is None:
        return any(name in (schema.get("required") or []) for name in places)
    return any(arguments.get(name) not in (None, "", [], {}) for name in places)


def _places(schema: dict) -> list[str]:
    return [name for name in (schema.get("properties") or {})
            if name_words(name) in (["destination"], ["dest"])
            or (_WHERE_WORDS & set(name_words(name)) and _PLACE_WORDS & set(name_words(name)))]


MOVE_VERBS = frozenset({"move", "mv", "rename", "cut", "relocate"})  # what they write to, they take from elsewhere


_INPUT_WORDS = frozenset({"input", "source", "src", "template", "from"})


# verbs of an effect that makes new things out of what it is given and leaves that as it was
# (the images of a PDF extracted, its pages rendered or split into new files)
DERIVE_VERBS = frozenset({"extract", "export", "convert", "render", "split", "ocr", "rasterize", "thumbnail"})
_FILE_WORDS = frozenset({"path", "file", "filepath", "filename"})


def read_inputs(tool: str, arguments: dict | None) -> list[str]:
    """The values of an effect that makes something (a making verb in its name, no moving or
    removing one) given under a name that says it is what the effect reads (``template_path``,
    ``source_file``, ``input``): making a presentation from a template leaves the template as
    it was. An effect that derives new things from a file (:data:`DERIVE_VERBS`:
    ``extract_images(pdf_path)``, ``split_pdf(file)``) reads every file it is given: where it
    writes is its place to write to (:func:`written_places`) or one its reply names. Empty for
    any other effect."""
    words = set(name_words(tool))
    if not isinstance(arguments, dict) or not words & (MAKE_VERBS | DERIVE_VERBS) or words & (MOVE_VERBS | REMOVE_VERBS):
        return []
    named = _INPUT_WORDS | (_FILE_WORDS if words & DERIVE_VERBS else frozenset())
    return [v for name, v in arguments.items()
            if isinstance(v, str) and len(v.strip()) >= 3 and named & set(name_words(name))]


def written_places(tool: str, schema: dict | None, arguments: dict | None) -> list[str] | None:
    """The places (paths) an effect wrote to, when all it changed is at them: it filled a
    place to write to (:func:`writes_by_arguments`: ``output_path``, ``save_as``) with a
    path, and its name says it neither moves nor removes anything (a move takes its source
    away). None otherwise: the effect may have changed anything it names."""
    words = set(name_words(tool))
    if not isinstance(arguments, dict) or words & (MOVE_VERBS | REMOVE_VERBS):
        return None
    filled = [arguments.get(name) for name in _places(schema or {}) if arguments.get(name) not in (None, "", [], {})]
    if not filled or not all(isinstance(v, str) and "/" in v and not re.search(r"\s", v.strip()) for v in filled):
        return None
    return [v.strip() for v in filled]


def by_chance(name: str, description: str | None = None, arguments: dict | None = None) -> bool:
    """Whether a tool's name or description says its result is chance (a die, a random pick,
    a bootstrap): it may change nothing, yet the same call answers two ways. With a call's
    ``arguments``: a chance word the description says only in the name of one of its
    operations (``random_sampling`` in an example, beside ``cumulative_distribution``) makes
    chance only a call that names it."""
    if CHANCE_WORDS & set(name_words(name)):
        return True
    text = description or ""
    if arguments is not None:
        text = _OPTION_NAME.sub(" ", text)
        if not CHANCE_WORDS & set(name_words(text)):
            return bool(CHANCE_WORDS & {w for v in leaves(arguments) if isinstance(v, str) for w in name_words(v)})
    return bool(CHANCE_WORDS & set(name_words(text)))


# an option's name written as one token: random_sampling, monte-carlo (quoted or not)
_OPTION_NAME = re.compile(r"[A-Za-z0-9]+(?:[_-][A-Za-z0-9]+)+")


def computes(name: str, annotations: dict | None = None, description: str | None = None,
             values_only: bool = False, arguments: dict | None = None) -> bool:
    """A tool whose result is a question's answer although it is not known to be read-only:
    nothing says it changes the world (:func:`says_it_changes`) and nothing says its result
    is chance (:func:`by_chance`). Such a tool computes or looks something up: a calculator,
    a converter, an analysis."""
    return not says_it_changes(name, annotations, description, values_only) and not by_chance(name, description,
                                                                                              arguments)


def blanket(annotations: list[dict | None]) -> bool:
    """Whether a server gives every one of its tools (three or more) the same annotations: a
    reader and a writer annotated alike, so the annotations say nothing about either."""
    seen = [canonical_json(a or {}) for a in annotations]
    return len(seen) >= 3 and len(set(seen)) == 1 and seen[0] != "{}"


def changes_nothing(tools: list[tuple[str, dict | None, str | None, bool, dict | None]], values_only: bool = False) -> bool:
    """Whether no tool of a server can change its world, from its tools' ``(name,
    annotations, description, read_only, input_schema)``: each is read-only (as the explorer
    takes it) or nothing says it changes the world (:func:`says_it_changes`, with
    annotations a server gives every tool alike ignored; :func:`writes_by_arguments`). Such a
    server (a calculator, a converter, a statistics package with a bootstrap: chance changes
    no world) answers a call alike in any world, so what its other calls did before does not
    matter."""
    if not tools:
        return False
    same = blanket([t[1] for t in tools])
    return all(read_only or not (says_it_changes(name, None if same else annotations, description, values_only)
                                 or writes_by_arguments(schema))
               for name, annotations, description, read_only, schema in tools)


# -- a command line: what a shell call does is in its command, not in the tool's name

COMMAND_NAMES = frozenset({"command", "cmd", "command_line", "commandline", "shell_command", "cmdline"})
_SHELL_WORDS = frozenset({"shell", "command", "commands", "terminal", "bash", "sh", "cli", "zsh", "argv"})
# programs that only read: what they print is the world as it is
READING_PROGRAMS = frozenset({
    "cat", "head", "tail", "wc", "ls", "grep", "egrep", "fgrep", "find", "stat", "file", "sort", "uniq", "cut",
    "du", "df", "md5sum", "sha1sum", "sha256sum", "cksum", "nl", "tr", "column", "basename", "dirname", "realpath",
    "readlink", "tree", "diff", "cmp", "jq", "awk", "less", "more", "od", "xxd", "strings", "pwd", "echo", "printf",
    "true", "test", "which", "whoami", "uname", "date", "env", "printenv", "seq", "expr", "rg",
})
# a word that makes a reading program write, or runs another program
_WRITES_IN_COMMAND = re.compile(r">|\btee\b|`|\$\(|-exec\b|-delete\b|-fprint|-fls\b|\bsed\s+-i|\bawk\b.*\bsystem\s*\("
                                r"|\bsort\b[^|;&]*\s(?:-o|--output)\b")


def command_parameter(name: str, schema: dict | None, tool_text: str) -> bool:
    """Whether a parameter takes a command line to run: named ``command`` (or ``cmd``...), a
    string or a list of strings (an argv), of a tool whose words say it runs commands."""
    schema = schema or {}
    if "_".join(name_words(name)) not in COMMAND_NAMES:
        return False
    kind = schema.get("type")
    items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
    if kind != "string" and not (kind == "array" and items.get("type") == "string"):
        return False
    if re.search(r"(?i)\bwithout (?:actually )?(?:executing|running)\b", tool_text):
        return False  # a tool that parses or checks a command runs nothing
    return bool(_SHELL_WORDS & set(name_words(tool_text)))


def reads_by_command(schema: dict | None, arguments: dict | None, tool_text: str = "") -> bool:
    """Whether a call of a tool that runs commands only reads: every program of its command
    line (split at ``|``, ``;``, ``&&``, ``||``) is one that only reads
    (:data:`READING_PROGRAMS`: ``cat``, ``head``, ``wc``, ``grep``, ``ls``), nothing is
    redirected to a file and nothing runs another program (``$(...)``, ``-exec``,
    ``sed -i``). ``cat notes.md`` changes nothing, whatever the tool's annotations say of
    the commands it could run; ``rm notes.md`` or ``echo x > notes.md`` does."""
    import shlex

    props = (schema or {}).get("properties") or {}
    if not isinstance(arguments, dict):
        return False
    lines = [v if isinstance(v, str) else " ".join(shlex.quote(str(w)) for w in v)
             for k, v in arguments.items()
             if command_parameter(k, props.get(k), tool_text) and isinstance(v, (str, list)) and v]
    if not lines:
        return False
    for line in lines:
        if _WRITES_IN_COMMAND.search(line):
            return False
        for part in re.split(r"\|\||&&|[|;&\n]", line):
            try:
                words = shlex.split(part)
            except ValueError:
                return False
            while words and re.fullmatch(r"\w+=\S*", words[0]):
                words.pop(0)  # LC_ALL=C sort: an environment setting, then the program
            if words and words[0].rsplit("/", 1)[-1] not in READING_PROGRAMS:
                return False
    return True


# a statement that only reads: a query, a look at the schema or the plan
_READING_SQL = re.compile(r"(?is)^\s*(?:(?:select|with|show|describe|desc|explain)\b"
                          r"|pragma\s+[\w.]+\s*(?:\(\s*[\w'\"]*\s*\))?\s*$)")
_WRITING_SQL = re.compile(r"(?i)\b(?:insert|update|delete|create|drop|alter|replace|merge|truncate|grant|revoke|attach"
                          r"|detach|copy|vacuum|call|into|nextval|setval|lock|upsert|load|install|set)\b")
_SQL_NAMES = frozenset({"sql", "query", "statement", "stmt"})


def reads_by_query(schema: dict | None, arguments: dict | None, tool_text: str = "") -> bool:
    """Whether a call of a tool that runs SQL only reads: every SQL text it is given (a
    parameter named ``sql``, ``query`` or ``statement`` of a tool whose words speak of SQL, a
    database or tables) is one statement that reads (``SELECT``, ``WITH``, ``SHOW``,
    ``DESCRIBE``, ``EXPLAIN``, ``PRAGMA table_info(t)``) and names nothing that writes
    (``INTO``, ``nextval``, ``INSERT`` in a ``WITH``). ``SELECT * FROM products`` changes
    nothing, whatever the tool (``execute_query`` "with full write access") could run."""
    props = (schema or {}).get("properties") or {}
    if not isinstance(arguments, dict) or not re.search(r"(?i)\bsql\b|\bdatabase|\btables?\b", tool_text):
        return False
    texts = [v for k, v in arguments.items() if isinstance(v, str) and v.strip()
             and set(name_words(k)) & _SQL_NAMES and (props.get(k) or {}).get("type", "string") == "string"]
    if not texts:
        return False
    for text in texts:
        body = re.sub(r"--[^\n]*|/\*.*?\*/", " ", text, flags=re.S).strip().rstrip(";")
        if ";" in body or not _READING_SQL.match(body) or _WRITING_SQL.search(re.sub(r"'[^']*'|\"[^\"]*\"", "''", body)):
            return False
    return True


# -- the clock: a parameter a tool fills from it when left out

CLOCK_WORDS = frozenset({"date", "time", "datetime", "timestamp", "day", "month", "year", "week", "now"})
_SPEAKS_OF_NOW = re.compile(r"\b(?:current|now|today)\b", re.IGNORECASE)


def reads_now(name: str, description: str | None = None) -> bool:
    """Whether a tool's purpose is to tell the time now: its name is one of the clock
    (``get_current_time``, ``current_datetime``) and its name or description speaks of now
    ("Get current date and time in various formats"). What it returns is a reading of the
    clock: another call, another answer."""
    words = set(name_words(name))
    return bool(words & CLOCK_WORDS) and bool(_SPEAKS_OF_NOW.search(" ".join(name_words(name)) + " " + (description or "")))


def clock_parameter(name: str, schema: dict | None, description: str | None) -> bool:
    """Whether a parameter is one its tool takes from the clock when it is left out: the
    tool's description speaks of now ("If no date is provided, get the number of days in the
    current month"), the parameter is named for a date or a time and has no default. A call
    that leaves it out answers for the day it ran."""
    return (isinstance(description, str) and bool(_SPEAKS_OF_NOW.search(description))
            and bool(set(name_words(name)) & CLOCK_WORDS) and not (isinstance(schema, dict) and "default" in schema))
