"""Single-value questions: every fact left unasked says why (the synthesizer's skipped
counter), a bulleted list of "name: value" lines is one record whose fields are asked, and a
description that names the tool itself is worded as what the tool gave."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from firefly.explore.policy import ToolRef
from firefly.synth.facts import dull_reason, is_dull, read_call
from firefly.synth.model import Exploration, Step
from firefly.synth.offline import OfflineSynthesizer
from firefly.synth.phrasing import generic_scope


def ref(description: str | None, props: dict[str, Any] | None = None, name: str = "t") -> ToolRef:
    return ToolRef("s", name, description, {"type": "object", "properties": props or {}})


def _single(tool: ToolRef, arguments: dict[str, Any], text: str) -> tuple[list[Any], Counter]:
    step = Step(0, "s", tool.name, arguments, [{"type": "text", "text": text}], None, True, True, [], "initial")
    x = Exploration("x1", "d1", [step], tools={("s", tool.name): tool})
    reading = read_call(0, "s", tool.name, arguments, step.content, None, x.adapter("s"), tool)
    skipped: Counter = Counter()
    return OfflineSynthesizer()._single(x, step, reading.tables, skipped), skipped


def test_a_dull_value_says_why_it_is_dull():
    echoes = {"/w/a.png": {"output path"}}
    assert dull_reason("status", "ok", whole=True) == "status or message about the call"
    assert dull_reason("count", 0, whole=True) == "zero in a one-record reply"
    # a value that says no value is known ("unknown", "N/A") is none to ask for
    assert dull_reason("template", "unknown") == "empty value" and dull_reason("owner", "N/A") == "empty value"
    assert dull_reason("status", "known") == "" and dull_reason("name", "Nadia") == ""
    # an empty folder's tally in words is as guessable as its zero
    assert dull_reason("total", "0 files, 0 directories", whole=True) == "zero in a one-record reply"
    assert dull_reason("total", "3 files, 0 directories", whole=True) == ""
    assert dull_reason("result", "Saved /w/a.png now", echoes) == "echo of an argument"
    assert dull_reason("session_id", "aa0b43b6-3309-4526-8d67-b8358ef6c954") == "made-up id"
    assert dull_reason("cursor", "abc") == "bookkeeping or run-chosen field"
    assert dull_reason("name", "alpha") == "" and not is_dull("name", "alpha")


def test_every_fact_a_single_question_leaves_out_is_counted_with_its_reason():
    tool = ref("Get the statistics of a graph.", {"graph": {"type": "string"}}, name="graph_info")
    found, skipped = _single(tool, {"graph": "roads"},
                             json.dumps({"graph": "roads", "node_count": 0, "status": "ok", "density": 0.25}))
    assert [c.answer for c in found if not isinstance(c.answer, dict)] == [0.25]
    assert skipped["fact: echo of an argument"] == 1
    assert skipped["fact: zero in a one-record reply"] == 1
    assert skipped["fact: status or message about the call"] == 1


def test_a_bulleted_list_of_named_values_is_one_record_whose_fields_are_asked():
    tool = ref("Read a file from the workspace.", {"path": {"type": "string"}}, name="read_file")
    text = "# Follow-up\n\n- name: Harbor Coffee Supply\n- currency: USD\n- sales tax rate: 0.055\n"
    found, skipped = _single(tool, {"path": "/w/notes.md"}, text)
    answers = {c.answer: c.question for c in found if not isinstance(c.answer, dict)}
    assert {"USD", 0.055, "Harbor Coffee Supply"} <= set(answers), (answers, skipped)
    assert "currency" in answers["USD"] and "/w/notes.md" in answers["USD"]
    assert "fact: an item without a short key" not in skipped


def test_a_description_that_names_the_tool_itself_is_worded_as_what_it_gave():
    tool = ref("Matrix and linear algebra calculation tool", {"operation": {"type": "string"}})
    assert generic_scope("t", {"operation": "determinant"}, {}, tool) == \
        'the result of the matrix and linear algebra calculation tool for operation "determinant"'
    assert generic_scope("t", {}, {}, ref("Natural logarithm")) == "the natural logarithm"


def test_a_bulleted_list_of_things_named_by_their_heading_stays_a_list():
    tool = ref("Describe a table.", {"table": {"type": "string"}}, name="describe_table")
    found, _ = _single(tool, {"table": "products"}, "Table: products\n\nColumns:\n- id: INTEGER\n- name: TEXT\n- price: REAL\n")
    assert not any(c.answer == "REAL" and "price?" in c.question for c in found)  # "what is the price?" asks another thing


def test_a_sentence_that_ends_after_a_word_in_capitals_ends_the_first_clause():
    tool = ref("Get task details by ID. Use fields parameter to control response size.", {"task_id": {"type": "string"}})
    assert generic_scope("t", {"task_id": "t-1"}, {}, tool) == 'the task details by ID for task id "t-1"'
    assert generic_scope("t", {}, {}, ref("Query the U.S. census")) == "the results of querying the U.S. census"


def test_a_one_value_result_of_a_search_is_asked_in_the_plural():
    tool = ref("Find the minimum number in a list", {"numbers": {"type": "array"}}, name="min")
    for n in range(6):  # every template the seed may pick
        found, _ = _single(tool, {"numbers": [7 + n, 10, 12]}, json.dumps({"result": f"{7 + n}.0"}))
        assert found and all(c.question.startswith(("What are the results of finding", "Can you tell me the results"))
                             for c in found), [c.question for c in found]


def test_a_list_of_bare_numbers_left_unasked_says_so():
    tool = ref("Matrix and linear algebra calculation tool", {"operation": {"type": "string"}}, name="matrix")
    found, skipped = _single(tool, {"operation": "eigenvalues"}, json.dumps({"eigenvalues": [5.0, 2.0]}))
    assert skipped["fact: a list of bare numbers"] == 2, (skipped, [c.question for c in found])


def test_a_description_praising_its_tool_is_worded_without_the_praise():
    tool = ref("Professional financial mathematics calculation tool", {"operation": {"type": "string"}})
    assert generic_scope("t", {"operation": "npv"}, {}, tool) == \
        'the result of the financial mathematics calculation tool for operation "npv"'
    assert generic_scope("t", {}, {}, ref("Advanced search")) == "the advanced search"  # a name, not praise


def test_the_words_naming_a_kind_of_tool_are_no_place_for_an_argument():
    tool = ref("Number format conversion tool", {"number": {"type": "string"}, "from_base": {"type": "integer"}})
    assert generic_scope("t", {"number": "1010", "from_base": 2}, {}, tool) == \
        'the result of the number format conversion tool for number "1010" and from base 2'
    assert generic_scope("t", {}, {}, ref("Robust standard errors regression")) == \
        "the robust standard errors regression"  # a technical term, no praise
