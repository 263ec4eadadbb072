"""Generate the event reference from the code, so the docs cannot drift from it.

Writes, from ``firefly.events.EVENT_TYPES``:

* ``docs/events.md``: one section per event type (tag, stream, idempotency key, the
  docstring, and a table of its fields with their JSON types and defaults, from
  ``msgspec.inspect.type_info``);
* ``schema/events/<tag>.json``: the JSON Schema of each event type
  (``msgspec.json.schema``), pretty-printed with sorted keys and a trailing newline.
  JSON files there that belong to no event type are removed.

Run from the repository root after changing ``firefly/events.py``:

    python scripts/gen_event_docs.py            # write the files (dev venv: .venv/bin/python)
    python scripts/gen_event_docs.py --check    # exit 1 if any file is stale

``tests/test_event_docs.py`` runs the check.
"""

from __future__ import annotations

import argparse
import difflib
import inspect
import json
import re
import sys
from pathlib import Path
from typing import Any

import msgspec
import msgspec.inspect as mi

from firefly import events as events_module
from firefly.events import EVENT_TYPES, Event

ROOT = Path(__file__).resolve().parent.parent
DOC = Path("docs") / "events.md"
SCHEMAS = Path("schema") / "events"
COMMAND = "python scripts/gen_event_docs.py"


# -- reading the classes -------------------------------------------------------------------


def tag(cls: type[Event]) -> str:
    return cls.__struct_config__.tag  # type: ignore[return-value]


def markdown(text: str) -> str:
    """reStructuredText literals (````x````) as Markdown code (```x```)."""
    return re.sub(r"``(.+?)``", r"`\1`", text)


def split_docstring(cls: type) -> tuple[str, dict[str, str]]:
    """(the text before ``Fields:``, field name -> its description)."""
    doc = inspect.cleandoc(cls.__doc__ or "")
    head, _, fields_text = doc.partition("\nFields:\n")
    described: dict[str, str] = {}
    names: list[str] = []
    for line in fields_text.splitlines():
        entry = re.match(r"^ {0,4}(\w+(?:\s*,\s*\w+)*)\s*:\s*(.*)$", line)
        if entry and not line.startswith(" " * 5):
            names = [n.strip() for n in entry.group(1).split(",")]
            for name in names:
                described[name] = entry.group(2).strip()
        elif line.strip() and names:
            for name in names:
                described[name] = f"{described[name]} {line.strip()}"
    return head.strip(), described


def pattern(cls: type[Event], method: str) -> str | None:
    """The stream or key of an event as a pattern of its fields, e.g. ``tool:{server}/{name}``.

    Built by calling the property or method on an event whose fields hold placeholders; a
    part that is not a field's value verbatim (a hash, a slice ...) shows as ``<computed>``.
    """
    pad = "\x1f" * 16

    def render(suffix: str) -> str | None:
        event = cls(**{f.name: "{" + f.name + "}" + suffix for f in msgspec.structs.fields(cls)})
        result = getattr(event, method)
        return result() if callable(result) else result

    try:
        plain, padded = render(""), render(pad)
    except Exception:  # noqa: BLE001 - computed in a way placeholders cannot show
        return "<computed>"
    if plain is None or padded is None:
        return None
    padded = padded.replace("\x1f", "")
    if plain == padded:
        return plain
    a, b = re.split(r"([:/@|])", plain), re.split(r"([:/@|])", padded)
    out = []
    for op, i1, i2, _, _ in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        out.append("".join(a[i1:i2]) if op == "equal" else "<computed>")
    return "".join(out)


def type_name(t: mi.Type) -> str:
    """A field's type in JSON terms."""
    simple = {
        mi.StrType: "string", mi.IntType: "integer", mi.FloatType: "number", mi.BoolType: "boolean",
        mi.NoneType: "null", mi.AnyType: "any", mi.BytesType: "string (base64)",
        mi.DateTimeType: "string (date-time)", mi.DateType: "string (date)", mi.UUIDType: "string (uuid)",
    }
    if type(t) in simple:
        return simple[type(t)]
    if isinstance(t, mi.LiteralType):
        return " or ".join(json.dumps(v) for v in t.values)
    if isinstance(t, mi.UnionType):
        return " or ".join(type_name(x) for x in t.types)
    if isinstance(t, (mi.ListType, mi.SetType, mi.FrozenSetType, mi.VarTupleType)):
        return f"array of {type_name(t.item_type)}"
    if isinstance(t, mi.TupleType):
        return f"array [{', '.join(type_name(x) for x in t.item_types)}]"
    if isinstance(t, mi.DictType):
        if isinstance(t.value_type, mi.AnyType):
            return "object"
        return f"object of {type_name(t.value_type)}"
    if isinstance(t, (mi.StructType, mi.TypedDictType, mi.DataclassType, mi.NamedTupleType)):
        return f"object ({t.cls.__name__})"
    return type(t).__name__.removesuffix("Type").lower()


def nested_structs(t: mi.Type, seen: dict[type, mi.StructType]) -> dict[type, mi.StructType]:
    """Struct types used inside a field's type (recursively), in first-use order."""
    if isinstance(t, mi.StructType):
        if t.cls not in seen:
            seen[t.cls] = t
            for field in t.fields:
                nested_structs(field.type, seen)
    elif isinstance(t, mi.UnionType):
        for x in t.types:
            nested_structs(x, seen)
    elif isinstance(t, (mi.ListType, mi.SetType, mi.FrozenSetType, mi.VarTupleType)):
        nested_structs(t.item_type, seen)
    elif isinstance(t, mi.DictType):
        nested_structs(t.value_type, seen)
    elif isinstance(t, mi.TupleType):
        for x in t.item_types:
            nested_structs(x, seen)
    return seen


def default_text(field: mi.Field) -> str:
    if field.required:
        return "required"
    value = field.default_factory() if field.default is msgspec.NODEFAULT else field.default
    return f"`{msgspec.json.encode(value).decode()}`"


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# -- rendering -----------------------------------------------------------------------------


def render_doc() -> str:
    lines = [
        "# Event reference",
        "",
        f"<!-- Generated from firefly/events.py by `{COMMAND}`; do not edit by hand. -->",
        "",
        markdown(inspect.cleandoc(events_module.__doc__ or "")),
        "",
        "Every event is stored as one row of the `events` table: the envelope (position, id, type,",
        "stream, time, run, idempotency key) plus the payload, the event as JSON with its tag in",
        "`type`. The JSON Schema of each payload is in `schema/events/<tag>.json`.",
        "",
        "| tag | class | stream | idempotency key |",
        "| --- | --- | --- | --- |",
    ]
    for cls in EVENT_TYPES:
        key = pattern(cls, "key")
        lines.append(
            f"| [`{tag(cls)}`](#{tag(cls)}) | `{cls.__name__}` | `{cell(pattern(cls, 'stream') or '')}` |"
            f" {f'`{cell(key)}`' if key else 'none'} |"
        )
    for cls in EVENT_TYPES:
        info = mi.type_info(cls)
        head, described = split_docstring(cls)
        key = pattern(cls, "key")
        lines += [
            "",
            f"## {tag(cls)}",
            "",
            f"`{cls.__name__}`: stream `{pattern(cls, 'stream')}`; idempotency key "
            + (f"`{key}` (a second append with the same key is not written)." if key else
               "none (every occurrence is a new fact)."),
            "",
            markdown(head),
            "",
            "| field | type | default | description |",
            "| --- | --- | --- | --- |",
            f"| `type` | `\"{tag(cls)}\"` | required | the event's tag |",
        ]
        for field in info.fields:  # type: ignore[attr-defined]
            lines.append(
                f"| `{field.encode_name}` | {cell(type_name(field.type))} | {cell(default_text(field))} |"
                f" {cell(markdown(described.get(field.name, '(undocumented)')))} |"
            )
        nested: dict[type, mi.StructType] = {}
        for field in info.fields:  # type: ignore[attr-defined]
            nested_structs(field.type, nested)
        for struct in nested.values():
            sub_head, sub_described = split_docstring(struct.cls)
            lines += ["", f"`{struct.cls.__name__}`: {markdown(sub_head)}", ""]
            if sub_described:
                lines += ["| field | type | default | description |", "| --- | --- | --- | --- |"]
            else:
                lines += ["| field | type | default |", "| --- | --- | --- |"]
            for field in struct.fields:
                row = f"| `{field.encode_name}` | {cell(type_name(field.type))} | {cell(default_text(field))} |"
                if sub_described:
                    row += f" {cell(markdown(sub_described.get(field.name, '(undocumented)')))} |"
                lines.append(row)
    return "\n".join(lines) + "\n"


def normalised(node: Any) -> Any:
    """A schema with every ``description`` cleaned as :func:`inspect.cleandoc` does.

    msgspec copies docstrings into ``description``; how it indents them changed between
    releases (0.23 dedents them), so the reference is generated from our own cleaning and
    reads the same whichever msgspec built it.
    """
    if isinstance(node, dict):
        return {
            k: inspect.cleandoc(v) if k == "description" and isinstance(v, str) else normalised(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [normalised(v) for v in node]
    return node


def render_schema(cls: type[Event]) -> str:
    schema = normalised(msgspec.json.schema(cls))
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def generated() -> dict[Path, str]:
    """Every generated file (relative to the repository root) and its content."""
    files = {DOC: render_doc()}
    for cls in EVENT_TYPES:
        files[SCHEMAS / f"{tag(cls)}.json"] = render_schema(cls)
    return files


def undocumented() -> list[str]:
    """``tag.field`` of every field its class's docstring does not describe."""
    missing = []
    for cls in EVENT_TYPES:
        _, described = split_docstring(cls)
        missing += [f"{tag(cls)}.{f.name}" for f in msgspec.structs.fields(cls) if f.name not in described]
    return missing


# -- writing and checking ------------------------------------------------------------------


def stale(root: Path = ROOT) -> list[str]:
    """What differs between the generated files and the ones on disk (empty when current)."""
    files = generated()
    problems = []
    for rel, text in files.items():
        path = root / rel
        if not path.exists():
            problems.append(f"{rel} is missing")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{rel} is out of date")
    for path in sorted((root / SCHEMAS).glob("*.json")):
        if path.relative_to(root) not in files:
            problems.append(f"{path.relative_to(root)} belongs to no event type")
    return problems


def write(root: Path = ROOT) -> list[str]:
    """Write every generated file; remove schema files of event types that are gone."""
    files = generated()
    changed = []
    for rel, text in files.items():
        path = root / rel
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            changed.append(f"wrote {rel}")
    for path in sorted((root / SCHEMAS).glob("*.json")):
        if path.relative_to(root) not in files:
            path.unlink()
            changed.append(f"removed {path.relative_to(root)}")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate docs/events.md and schema/events/*.json from firefly/events.py.")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a generated file is stale")
    args = parser.parse_args(argv)
    for name in undocumented():
        print(f"warning: field {name} is not described in its class's docstring (Fields: section)", file=sys.stderr)
    if args.check:
        problems = stale()
        if problems:
            print("the event reference is stale:", file=sys.stderr)
            for problem in problems:
                print(f"  {problem}", file=sys.stderr)
            print(f"run {COMMAND} and commit the result", file=sys.stderr)
            return 1
        print(f"{DOC} and {SCHEMAS}/ are up to date ({len(EVENT_TYPES)} event types)")
        return 0
    changed = write()
    for line in changed:
        print(line)
    print(f"{len(EVENT_TYPES)} event types; {len(changed)} file(s) changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
