"""The event reference (docs/events.md, schema/events/*.json) is generated from firefly/events.py
and must be up to date."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from firefly.events import EVENT_TYPES, TAGS

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def gen():
    path = ROOT / "scripts" / "gen_event_docs.py"
    spec = importlib.util.spec_from_file_location("gen_event_docs", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def test_event_reference_is_up_to_date(gen):
    problems = gen.stale(ROOT)
    assert not problems, "the event reference is stale: " + "; ".join(problems) + "; run python scripts/gen_event_docs.py"


def test_every_event_type_has_a_section_and_a_schema(gen):
    files = gen.generated()
    doc = files[gen.DOC]
    for tag, cls in TAGS.items():
        assert f"\n## {tag}\n" in doc
        schema = json.loads(files[gen.SCHEMAS / f"{tag}.json"])
        definition = schema["$defs"][cls.__name__]
        assert definition["properties"]["type"] == {"enum": [tag]}
    assert len(files) == 1 + len(EVENT_TYPES)


def test_check_reports_missing_changed_and_extra_files(gen, tmp_path):
    assert gen.write(tmp_path)
    assert gen.stale(tmp_path) == []
    (tmp_path / gen.DOC).write_text("# edited by hand\n")
    first = sorted(tmp_path.joinpath(gen.SCHEMAS).glob("*.json"))[0]
    first.unlink()
    (tmp_path / gen.SCHEMAS / "gone-event.json").write_text("{}\n")
    problems = gen.stale(tmp_path)
    assert f"{gen.DOC} is out of date" in problems
    assert f"{first.relative_to(tmp_path)} is missing" in problems
    assert f"{gen.SCHEMAS / 'gone-event.json'} belongs to no event type" in problems
    gen.write(tmp_path)
    assert gen.stale(tmp_path) == []
    assert not (tmp_path / gen.SCHEMAS / "gone-event.json").exists()


def test_schemas_do_not_depend_on_how_msgspec_indents_docstrings(gen, monkeypatch):
    """msgspec < 0.23 copied docstrings as written (indented); 0.23 dedents them. Both give
    the same reference."""
    import msgspec

    real = msgspec.json.schema
    current = gen.generated()

    def as_written(cls):  # what msgspec < 0.23 put in "description": the docstring as indented
        schema = real(cls)
        for definition in schema.get("$defs", {}).values():
            if "description" in definition:
                definition["description"] = definition["description"].replace("\n", "\n    ")
        return schema

    monkeypatch.setattr(msgspec.json, "schema", as_written)
    indented = as_written(EVENT_TYPES[0])["$defs"][EVENT_TYPES[0].__name__]["description"]
    assert "\n    " in indented
    assert gen.generated() == current
