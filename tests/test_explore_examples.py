"""Arguments shaped as the tool's documentation and errors say: calls written out in a
description, values a parameter's description lists, a data set passed whole (with the
labels that make its rows a panel), a series as long as an error said."""

from __future__ import annotations

import random

import pytest

from firefly.explore.examples import documented_calls, documented_choices
from firefly.explore.offline import OfflinePolicy
from firefly.explore.policy import CallRecord, ToolRef, Ungrounded, WorkspaceInfo

FINANCE = {"type": "object", "properties": {
    "operation": {"type": "string", "description": "Operation. Supports: 'compound_interest', 'npv', 'annuity'"},
    "principal": {"anyOf": [{"type": "number"}, {"type": "null"}], "default": None},
    "rate": {"anyOf": [{"type": "number"}, {"type": "null"}], "default": None},
    "time": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None},
    "cash_flows": {"anyOf": [{"type": "array", "items": {"type": "number"}}, {"type": "null"}], "default": None}},
    "required": ["operation"]}
FINANCE_DOC = """Financial mathematics.
Examples:
    finance(operation='compound_interest', principal=1000, rate=0.05, time=10)
    finance(operation='npv', cash_flows=[-1000, 300, 400], rate=0.1)
    finance('npv', [1, 2])
    finance(operation='npv', currency='EUR')
    finance(operation='annuity', time=now())
"""


def _propose(tool: ToolRef, history: list[CallRecord] | None = None, seed: int = 0, attempt: int = 0):
    return OfflinePolicy().propose(tool, history or [], WorkspaceInfo(), random.Random(seed), attempt=attempt)


def test_documented_calls_are_keyword_calls_of_literals_valid_against_the_schema():
    calls = documented_calls("finance", FINANCE_DOC, FINANCE)
    # positional arguments, a name the schema lacks and an expression are left out
    assert calls == [{"operation": "compound_interest", "principal": 1000, "rate": 0.05, "time": 10},
                     {"operation": "npv", "cash_flows": [-1000, 300, 400], "rate": 0.1}]
    assert documented_calls("finance", "finance(operation=3)", FINANCE) == []  # invalid against the schema
    assert documented_calls("other", FINANCE_DOC, FINANCE) == []


def test_documented_choices_need_a_list_the_description_calls_the_choices():
    assert documented_choices("Operation type. Supports: 'add', 'subtract', etc.") == ["add", "subtract"]
    assert documented_choices("Output format, one of: csv, json, xml") == ["csv", "json", "xml"]
    assert documented_choices("fast | slow") == ["fast", "slow"]
    assert documented_choices("The name of the sheet, e.g. 'Sales'") == []
    assert documented_choices("Supports: 'only'") == []


def test_an_observed_value_of_another_field_of_the_same_name_outside_the_listed_choices_is_not_sent():
    schema = {"type": "object", "properties": {
        "operation": {"type": "string", "description": "Operation type. Supports: 'add', 'subtract', 'multiply'"},
        "numbers": {"type": "array", "items": {"type": "number"}}}, "required": ["operation", "numbers"]}
    tool = ToolRef("m", "precise", "High-precision arithmetic.", schema)
    seen = CallRecord(0, "m", "arithmetic", {"numbers": [1, 2]}, [], {"operation": "Addition", "result": 3}, False)
    picked = {_propose(tool, [seen], seed=seed).arguments["operation"] for seed in range(8)}
    assert picked and picked <= {"add", "subtract", "multiply"}
    listed = CallRecord(0, "m", "arithmetic", {"numbers": [1, 2]}, [], {"operation": "subtract", "result": -1}, False)
    assert {_propose(tool, [listed], seed=seed).arguments["operation"] for seed in range(4)} == {"subtract"}


def test_a_retry_and_some_first_calls_take_a_call_the_documentation_writes_out():
    tool = ToolRef("m", "finance", FINANCE_DOC, FINANCE)
    written = documented_calls("finance", FINANCE_DOC, FINANCE)
    firsts = [_propose(tool, seed=seed).arguments for seed in range(12)]
    assert any(a in written for a in firsts) and any(a not in written for a in firsts)
    failed = CallRecord(0, "m", "finance", {"operation": "annuity"}, [{"type": "text", "text": "Error: payment required"}],
                        None, True)
    for seed in range(6):
        retry = _propose(tool, [failed], seed=seed, attempt=1)
        assert retry.arguments in written and "documentation writes out" in retry.note
    # a written call that failed in this exploration is not made again
    tried = CallRecord(0, "m", "finance", written[0], [{"type": "text", "text": "Error: overflow"}], None, True)
    assert {str(_propose(tool, [tried], seed=seed, attempt=1).arguments) for seed in range(6)} == {str(written[1])}


PANEL = {"type": "object", "properties": {
    "file_path": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
    "x_data": {"anyOf": [{"type": "array", "items": {"type": "array", "items": {"type": "number"}}}, {"type": "null"}],
               "default": None},
    "y_data": {"anyOf": [{"type": "array", "items": {"type": "number"}}, {"type": "null"}], "default": None},
    "weights": {"anyOf": [{"type": "array", "items": {"type": "number"}}, {"type": "null"}], "default": None},
    "entity_ids": {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}], "default": None},
    "time_periods": {"anyOf": [{"type": "array", "items": {"type": "integer"}}, {"type": "null"}], "default": None},
    "feature_names": {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}], "default": None}}}


def test_a_retry_after_the_file_failed_passes_the_data_whole_as_a_balanced_panel():
    tool = ToolRef("e", "fixed_effects", "Fixed effects model.", PANEL)
    for text in ("'NoneType' object is not iterable", "Must provide either file_path or (y_data, x_data, entity_ids)"):
        failed = CallRecord(0, "e", "fixed_effects", {"file_path": "/workspace/econ/regression.csv"},
                            [{"type": "text", "text": text}], None, True)
        args = _propose(tool, [failed], attempt=1).arguments
        assert "file_path" not in args and "feature_names" not in args
        n = len(args["y_data"])
        assert len(args["x_data"]) == len(args["weights"]) == len(args["entity_ids"]) == len(args["time_periods"]) == n
        # each entity is seen in more than one period, each period for every entity
        assert len(set(args["entity_ids"])) >= 2 and all(args["entity_ids"].count(e) >= 2 for e in args["entity_ids"])
        assert sorted(args["time_periods"]) == sorted(args["time_periods"][: n // len(set(args["entity_ids"]))]
                                                      * len(set(args["entity_ids"])))
    # left alone: a first call passes no labels and no more than its data
    assert "entity_ids" not in _propose(tool).arguments


def test_required_group_labels_are_filled_after_the_series_they_label():
    schema = {"type": "object", "properties": {"groups": {"type": "array", "items": {"type": "string"}},
                                               "values": {"type": "array", "items": {"type": "number"}}},
              "required": ["groups", "values"]}
    for seed in range(4):
        args = _propose(ToolRef("e", "anova", "Variance decomposition.", schema), seed=seed).arguments
        assert len(args["groups"]) == len(args["values"]) and len(set(args["groups"])) >= 2


def test_a_series_is_made_longer_when_an_error_cited_its_length_beside_a_larger_number():
    schema = {"type": "object", "properties": {"data": {"type": "array", "items": {"type": "number"}},
                                               "period": {"type": "integer", "default": 12}}, "required": ["data"]}
    tool = ToolRef("e", "decompose", "Time series decomposition.", schema)
    failed = CallRecord(0, "e", "decompose", {"data": [6, 7, 11, 13]},
                        [{"type": "text", "text": "error: 数据点数(4)应至少为季节周期(12)的2倍"}], None, True)
    assert len(_propose(tool, [failed], attempt=1).arguments["data"]) == 24
    # left alone: an error citing no length of what was sent
    other = CallRecord(0, "e", "decompose", {"data": [6, 7, 11, 13]},
                       [{"type": "text", "text": "error: period must be below 100"}], None, True)
    assert len(_propose(tool, [other], attempt=1).arguments["data"]) <= 6


def test_an_id_a_successful_close_ended_is_not_given_again():
    schema = {"type": "object", "properties": {"session_id": {"type": "string"}}, "required": ["session_id"]}
    info = ToolRef("c", "get_session_info", "Session info.", schema)
    loaded = CallRecord(0, "c", "load_csv", {"file_path": "/workspace/a.csv"}, [], {"session_id": "s-1"}, False)
    assert _propose(info, [loaded]).arguments == {"session_id": "s-1"}
    closed = CallRecord(1, "c", "close_session", {"session_id": "s-1"}, [], {"success": True}, False)
    with pytest.raises(Ungrounded):  # skipped, not sent to fail with "Invalid session ID"
        _propose(info, [loaded, closed])
    again = CallRecord(2, "c", "load_csv", {"file_path": "/workspace/b.csv"}, [], {"session_id": "s-2"}, False)
    assert {_propose(info, [again, loaded, closed], seed=seed).arguments["session_id"] for seed in range(4)} == {"s-2"}


def test_a_matrix_is_first_written_as_another_tool_of_the_server_took_it():
    schema = {"type": "object", "properties": {"matrix": {"type": "string"}}, "required": ["matrix"]}
    tool = ToolRef("m", "matrix_inverse", "Matrix inverse.", schema)
    assert _propose(tool).arguments["matrix"] == "[[2, 1], [1, 3]]"
    # another parameter's name (matrix1): the form, not the value, carries over
    took = CallRecord(0, "m", "matrix_add", {"matrix1": "Matrix([[2, 1], [1, 3]])"}, [], {"result": 2}, False)
    assert _propose(tool, [took]).arguments["matrix"] == "Matrix([[2, 1], [1, 3]])"
    read_as_list = CallRecord(0, "m", "matrix_rank", {"matrix": "[[2, 1], [1, 3]]"},
                              [{"type": "text", "text": "Error: 'list' object has no attribute 'rank'"}], None, True)
    assert _propose(tool, [read_as_list]).arguments["matrix"] == "Matrix([[2, 1], [1, 3]])"
    # left alone: rows of numbers a constructor parsed itself say nothing of the other tools
    rows = CallRecord(0, "m", "matrix", {"rows": "2, 1; 1, 3"}, [], {"result": "Matrix([[2, 1], [1, 3]])"}, False)
    assert _propose(tool, [rows]).arguments["matrix"] == "[[2, 1], [1, 3]]"
    elsewhere = CallRecord(0, "other", "matrix_add", {"matrix1": "Matrix([[2, 1], [1, 3]])"}, [], {"result": 2}, False)
    assert _propose(tool, [elsewhere]).arguments["matrix"] == "[[2, 1], [1, 3]]"


def test_a_path_named_for_a_kind_of_file_is_a_file_even_for_a_tool_that_lists():
    schema = {"type": "object", "properties": {"pdf_path": {"type": "string", "description": "Path to the PDF."}},
              "required": ["pdf_path"]}
    ws = WorkspaceInfo(files=("/workspace/data/sample.pdf", "/workspace/files/a.txt"),
                       directories=("/workspace/data", "/workspace/files", "/workspace/db"))
    tool = ToolRef("p", "extract_links", "List the hyperlinks in a PDF.", schema)
    picked = {OfflinePolicy().propose(tool, [], ws, random.Random(seed)).arguments["pdf_path"] for seed in range(6)}
    assert picked == {"/workspace/data/sample.pdf"}
    # left alone: a folder for a listing tool's bare path
    bare = {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}
    listing = ToolRef("p", "list_entries", "List the entries of a folder.", bare)
    assert {OfflinePolicy().propose(listing, [], ws, random.Random(seed)).arguments["path"]
            for seed in range(6)} <= set(ws.directories)


def test_an_ordinary_differential_equation_is_written_in_an_unknown_function():
    schema = {"type": "object", "properties": {"eq": {"type": "string"}, "func": {"type": "string"}},
              "required": ["eq", "func"]}
    args = _propose(ToolRef("m", "dsolve", "Solve ordinary differential equation.", schema)).arguments
    assert args == {"eq": "Derivative(f(x), x) - f(x)", "func": "f(x)"}
    check = {"type": "object", "properties": {"eq": {"type": "string"}, "sol": {"type": "string"}},
             "required": ["eq", "sol"]}
    math = WorkspaceInfo(math=frozenset({"m"}))  # a server about mathematics
    checked = OfflinePolicy().propose(ToolRef("m", "checkodesol", "Check ODE solution.", check), [], math, random.Random(0))
    assert checked.arguments["sol"] == "Eq(f(x), C1*exp(x))"
    # left alone: an equation of another tool
    assert "f(x)" not in _propose(ToolRef("m", "solve", "Solve an equation.", schema)).arguments["eq"]


def test_either_this_or_that_alternative_beside_cjk_text_asks_for_the_alternative_begun():
    tool = ToolRef("e", "wls", "Weighted least squares.", PANEL)
    said = "必须提供文件路径(file_path)或直接数据(y_data、x_data和weights)"
    failed = CallRecord(0, "e", "wls", {"x_data": [[1, 2], [2, 3], [4, 4]], "y_data": [1, 2, 3]},
                        [{"type": "text", "text": said}], None, True)
    args = _propose(tool, [failed], attempt=1).arguments
    assert {"x_data", "y_data", "weights"} <= set(args) and "file_path" not in args


def test_a_tool_that_worked_with_its_data_and_labels_is_given_them_whole_first():
    shapes = {frozenset({"x_data", "y_data", "entity_ids", "time_periods"})}
    ws = WorkspaceInfo(files=("/workspace/econ/regression.csv",), worked_with=lambda server, tool: shapes)
    tool = ToolRef("e", "fixed_effects", "Fixed effects model.", PANEL)
    for seed in range(3):
        args = OfflinePolicy().propose(tool, [], ws, random.Random(seed)).arguments
        assert set(args) == {"x_data", "y_data", "entity_ids", "time_periods"}
        assert len(args["entity_ids"]) == len(args["y_data"])


def test_an_entity_name_is_no_panel_label_observations_deleted_are_the_entitys_own():
    import random

    from firefly.explore.offline import OfflinePolicy
    from firefly.explore.policy import CallRecord, ToolRef, WorkspaceInfo

    item = {"type": "object", "required": ["entityName", "observations"], "properties": {
        "entityName": {"type": "string", "description": "The name of the entity containing the observations"},
        "observations": {"type": "array", "items": {"type": "string"}}}}
    tool = ToolRef("memory", "delete_observations", "Delete specific observations from entities in the knowledge graph",
                   {"type": "object", "required": ["deletions"],
                    "properties": {"deletions": {"type": "array", "items": item}}})
    graph = {"entities": [{"name": "Maya Okafor", "entityType": "person", "observations": ["Founder", "Sets prices"]},
                          {"name": "harbor-shop", "entityType": "project", "observations": ["Python package"]},
                          {"name": "Priya Raman", "entityType": "person", "observations": ["Analyst since 2024"]}],
             "relations": []}
    read = CallRecord(0, "memory", "read_graph", {}, [{"type": "text", "text": "{}"}], graph, False)
    owned = {e["name"]: e["observations"] for e in graph["entities"]}
    for seed in range(8):  # the entity is chosen first, then one of its own observations
        args = OfflinePolicy().propose(tool, [read], WorkspaceInfo(), random.Random(seed)).arguments
        (d,) = args["deletions"]
        assert set(d["observations"]) <= set(owned[d["entityName"]]), d
