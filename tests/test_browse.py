"""The Datasette plugin, through Datasette's own client: metadata, canned queries, the
exploration and task pages, the pictures, and that tool and model text is always escaped."""

from __future__ import annotations

import asyncio
import shutil
import xml.etree.ElementTree as ET

import pytest
from datasette.app import Datasette
from datasette.plugins import get_plugins

from firefly_datasette.metadata import TABLES, table_metadata
from firefly_datasette.pages import call_view, folded, highlight
from firefly_datasette.settings import SETTINGS
from firefly.events import (
    DagSampled, DagTool, EdgeJudged, ExplorationFinished, ExplorationStarted, TaskSynthesized, TaskVerdict, ToolCalled,
)
from firefly.store import Store

from .browse_fixtures import HOSTILE

HOSTILE_NAME = '<b>"srv"</b>&amp;'
LONG = "\n".join(f"line {i}: {'x' * 70}" for i in range(40))


@pytest.fixture(scope="module")
def db(tmp_path_factory, toy_explored):
    path = tmp_path_factory.mktemp("browse") / "fire.db"
    shutil.copy(toy_explored, path)
    with Store.open(path) as store:
        # an exploration recorded with a long result and hostile names (as a server could send them)
        store.append(ExplorationStarted(exploration_id="xlong", dag_id="dhostile", policy="offline", tools=["toy/list_notes", "toy/read_note"]))
        store.append(ToolCalled(exploration_id="xlong", step=0, server="toy", tool="list_notes", content=[{"type": "text", "text": LONG}],
                                read_only=True, arguments_hash="h0"))
        store.append(ToolCalled(exploration_id="xlong", step=1, server="toy", tool="read_note", arguments={"title": "line 7"},
                                content=[{"type": "text", "text": "the note says 42 and <b>bold</b>"}], structured_content={"n": 42},
                                read_only=True, arguments_hash="h1"))
        store.append(ExplorationFinished(exploration_id="xlong", calls=2, successes=2, errors=0))
        store.append(DagSampled(dag_id="dhostile", tools=[DagTool(server="toy", name="list_notes", schema_hash="h"),
                                                          DagTool(server=HOSTILE_NAME, name=HOSTILE, schema_hash="h")],
                                edges=[(0, 1)], seed=9, index=0, sampler="test"))
        store.append(EdgeJudged(a_server="toy", a_name="list_notes", a_hash="h", b_server="toy", b_name="read_note", b_hash="h",
                                judge="rules-v1", direction="a->b", score_ab=0.9, reason="titles feed read_note"))
        store.append(EdgeJudged(a_server="toy", a_name="delete_note", a_hash="h", b_server="toy", b_name="read_note", b_hash="h",
                                judge="rules-v1", direction="b->a", score_ba=0.7, reason="<i>model</i> text"))
        store.append(TaskSynthesized(
            task_id="t1", exploration_id="xlong", dag_id="dhostile", kind="multi-hop",
            question=f"What number does the note say? {HOSTILE}", answer=42, match={"rule": "number", "tolerance": 1e-6},
            trajectory=[{"step": 0, "server": "toy", "tool": "list_notes", "arguments": {}},
                        {"step": 1, "server": "toy", "tool": "read_note", "arguments": {"title": "line 7"}}],
            provenance=[{"step": 1, "path": "$.content[0].text", "value": 42}, {"step": 0, "path": "$.content[0].text", "value": "line 7"}],
            derivation={"op": "value"}, calls=2, servers=1, hops=2, synthesizer="offline-v1", template="chain"))
        store.append(TaskVerdict(task_id="t1", verifier="grounded", passed=True))
        store.append(TaskVerdict(task_id="t1", verifier="no-leak", passed=False, reasons=[f"the question quotes the answer {HOSTILE}"]))
        store.catch_up()
    return path


@pytest.fixture(scope="module")
def client(db):
    ds = Datasette([str(db)], settings=SETTINGS)
    asyncio.run(ds.invoke_startup())

    def get(path: str):
        return asyncio.run(ds.client.get(path))

    get.datasette = ds
    return get


def exploration_of(db, dag_id: str) -> str:
    with Store.open(db) as store:
        return store.conn.execute("SELECT exploration_id FROM explorations WHERE dag_id = ?", (dag_id,)).fetchone()[0]


def test_plugin_is_registered_through_the_entry_point():
    names = {p["name"]: p for p in get_plugins()}
    assert "firefly-mcp" in names, names  # Datasette names a plugin after its distribution
    plugin = names["firefly-mcp"]
    assert {"get_metadata", "canned_queries", "register_routes", "render_cell"} <= set(plugin["hooks"])
    assert plugin["templates_path"].endswith("firefly_datasette/templates")


def test_every_table_has_metadata_that_matches_its_columns(db):
    from firefly.projections import all_projections

    with Store.open(db) as store:
        tables = [t for p in all_projections() for t in p.tables] + ["events", "tasks", "verdicts", "dataset"]
        for table in tables:
            meta = table_metadata(table)
            assert meta.get("title") and meta.get("description"), table
            columns = {r[1] for r in store.conn.execute(f"PRAGMA table_info([{table}])")}
            described = set(meta.get("columns", {}))
            if table in TABLES:  # written by hand: every column described, no stale names
                assert described == columns, (table, described ^ columns)
            for key in ("sort", "sort_desc"):
                assert meta.get(key) is None or meta[key] in columns, (table, key)
            assert set(meta.get("facets", [])) <= columns, table
    # tables a later migration adds are described from the comment above their CREATE TABLE
    assert "schema drift" in table_metadata("tool_versions")["title"].lower()
    assert "SQL migrations" not in table_metadata("tool_versions")["description"]


def test_table_pages_have_titles_facets_descriptions_and_links(client, db):
    page = client("/fire/calls")
    assert page.status_code == 200
    assert "<h1>Tool calls</h1>" in page.text and 'id="facet-server"' in page.text and 'id="facet-is_error"' in page.text
    assert 'data-column-description="hash of their canonical JSON"' in page.text
    # the hostile result is escaped in Datasette's own table view
    assert "&lt;script&gt;document.body" in page.text and "<script>document.body" not in page.text
    explorations = client("/fire/explorations").text
    link = f'/fire/-/firefly/exploration/{exploration_of(db, "toy-dag0")}">toy/list_notes → toy/read_note</a>'
    assert link in explorations and "/fire/-/firefly/dag/toy-dag0.svg" in explorations
    tools = client("/fire/tools").text
    assert '<a href="/fire/-/firefly/tool/toy/read_note.svg">read_note</a>' in tools
    tasks = client("/fire/tasks").text
    assert 'href="/fire/-/firefly/task/t1">What number does the note say? &lt;script&gt;' in tasks
    assert 'id="facet-kind"' in tasks and 'id="facet-split"' in tasks and 'id="facet-verified"' in tasks
    assert 'id="facet-passed"' in client("/fire/verdicts").text
    index = client("/fire").text
    assert "firefly dataset" in index and "dataset_files" not in index and "_projections" not in index


def test_exploration_page_lists_calls_in_order_escaped_and_folded(client, db):
    hostile = exploration_of(db, "toy-dag1")
    page = client(f"/fire/-/firefly/exploration/{hostile}")
    assert page.status_code == 200
    text = page.text
    assert "<script>document" not in text and "<img src=x" not in text
    assert "&lt;script&gt;document.body.appendChild" in text and "&lt;img src=x onerror=" in text
    assert text.index('id="step-0-0"') < text.index('id="step-0-1"')
    assert "tool error" in text and "eggs, milk" in text
    assert f'src="/fire/-/firefly/dag/toy-dag1.svg?exploration={hostile}"' in text
    long = client("/fire/-/firefly/exploration/xlong").text
    assert '<details class="result">' in long and "(3,189 characters, 40 lines)" in long
    assert long.index('id="step-0-0"') < long.index('id="step-1-0"')
    assert "&lt;b&gt;bold&lt;/b&gt;" in long and "structured content" in long
    assert "/fire/-/firefly/task/t1" in long  # the task written from it
    assert client("/fire/-/firefly/exploration/nope").status_code == 404


def test_task_page_shows_label_trajectory_provenance_and_verdicts(client):
    page = client("/fire/-/firefly/task/t1")
    assert page.status_code == 200
    text = page.text
    assert "<script>document" not in text and "&lt;script&gt;document.body" in text
    assert '<p class="question">What number does the note say? &lt;script&gt;' in text
    assert 'toy.read_note(title=&#34;line 7&#34;)' in text and "toy.list_notes()" in text
    assert text.index('id="step-0"') < text.index('id="step-1"')
    # provenance: the value is marked inside the recorded result of its step
    assert 'the note says <mark class="provenance">42</mark> and &lt;b&gt;bold&lt;/b&gt;' in text
    assert '<mark class="provenance">line 7</mark>: ' in text
    assert "<code>number</code>" in text and "tolerance 1e-06" in text
    assert "grounded" in text and "no-leak" in text and "rejected" in text
    assert "<li>the question quotes the answer &lt;script&gt;" in text
    assert client("/fire/-/firefly/task/missing").status_code == 404


def test_dag_picture_is_valid_svg_with_escaped_labels(client, db):
    svg = client("/fire/-/firefly/dag/dhostile.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert "default-src 'none'" in svg.headers["content-security-policy"]
    root = ET.fromstring(svg.text)
    labels = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "list_notes" in labels and HOSTILE_NAME in labels  # a short hostile name survives as text
    assert any(label.startswith("<script>document") and label.endswith("…") for label in labels)  # long ones are cut
    assert len(list(root.iter("{http://www.w3.org/2000/svg}line"))) == 1
    coloured = client(f"/fire/-/firefly/dag/toy-dag1.svg?exploration={exploration_of(db, 'toy-dag1')}").text
    assert "#1e8e3e" in coloured  # the step's final attempt succeeded
    assert client("/fire/-/firefly/dag/none.svg").status_code == 404


def test_tool_neighbourhood_picture(client):
    svg = client("/fire/-/firefly/tool/toy/read_note.svg")
    root = ET.fromstring(svg.text)
    nodes = {g.get("data-tool") for g in root.iter("{http://www.w3.org/2000/svg}g")}
    assert nodes == {"toy/read_note", "toy/list_notes", "toy/delete_note"}
    titles = [t.text for t in root.iter("{http://www.w3.org/2000/svg}title")]
    assert "toy/list_notes → toy/read_note (score 0.90)" in titles and "toy/read_note → toy/delete_note (score 0.70)" in titles
    wider = ET.fromstring(client("/fire/-/firefly/tool/toy/list_notes.svg?radius=2").text)
    assert {g.get("data-tool") for g in wider.iter("{http://www.w3.org/2000/svg}g")} == nodes
    alone = client("/fire/-/firefly/tool/toy/broken_schema.svg").text
    assert "no edges yet" in alone
    assert client("/fire/-/firefly/tool/toy/nothing.svg").status_code == 404


def test_canned_queries_answer(client):
    index = client("/fire").text
    for name in ("tasks_per_server", "rejection_reasons", "tool_coverage", "schema_drift", "call_outcomes"):
        assert f'href="/fire/{name}"' in index, name
    rows = client("/fire/tasks_per_server.json?_shape=array").json()
    assert rows == [{"server": "toy", "tasks": 1, "verified": 0, "rejected": 1, "unverified": 0, "train": 0, "test": 0}]
    reasons = client("/fire/rejection_reasons.json?_shape=array").json()
    assert reasons == [{"verifier": "no-leak", "reason": f"the question quotes the answer {HOSTILE}", "tasks": 1}]
    needed = client("/fire/tools_needed.json?_shape=array").json()  # the quality report (firefly.quality)
    assert needed and {r["tool"] for r in needed} >= {"read_note"} and all(r["verified_tasks"] == 0 for r in needed)
    assert client("/fire/question_templates.json?_shape=array").json() == []
    assert client("/fire/rejections_by_verifier.json?_shape=array").json() == [{"verifier": "no-leak", "tasks": 1}]
    coverage = {r["tool"]: r for r in client("/fire/tool_coverage.json?_shape=array").json()}
    assert coverage["read_note"]["in_dags"] == 3 and coverage["read_note"]["tasks"] == 1
    assert coverage["broken_schema"]["calls"] == 0
    drift = client("/fire/schema_drift.json?_shape=array").json()
    assert drift[0]["server"] == "toy" and drift[0]["added"] == 4
    history = client("/fire/tool_history.json?_shape=array&server=toy&tool=read_note").json()
    assert [r["change"] for r in history] == ["added"]


def test_highlight_and_fold_escape_everything():
    marked = str(highlight("a <b>42</b> 42", ["42", "<b>"]))
    assert marked == 'a <mark class="provenance">&lt;b&gt;</mark><mark class="provenance">42</mark>&lt;/b&gt; <mark class="provenance">42</mark>'
    assert str(highlight("<i>", [])) == "&lt;i&gt;"
    assert str(highlight("cid id 142 42", ["id", "42"])) == 'cid <mark class="provenance">id</mark> 142 <mark class="provenance">42</mark>'
    assert folded("short")["fold"] is False and folded("x\n" * 20)["fold"] is True
    view = call_view({"step": 0, "attempt": 0, "server": "s", "tool": "t", "arguments": "{}", "content": "[]", "result_text": "",
                      "error_class": "timeout", "error": "<no answer>", "is_error": 0, "ok": 0})
    assert view["status"] == "no result: timeout" and str(view["result"]) == "&lt;no answer&gt;"


def test_browse_needs_an_existing_database(tmp_path):
    from typer.testing import CliRunner

    from firefly.cli import app

    result = CliRunner().invoke(app, ["browse", str(tmp_path / "missing.db")])
    assert result.exit_code == 1 and "no firefly database at" in result.output and not (tmp_path / "missing.db").exists()
