"""Generic wording and labels a researcher would train on: questions phrased from the first
clause of a tool's description (never its elaboration, never a quoted document), and labels
that say something the question does not already say (no echo of an argument, no status of
the call, no id the server made up for this run)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from firefly.explore.policy import ToolRef
from firefly.synth.facts import (echoes_of, generated_id_in, is_dull, item_noun, read_result, singular,
                                 _line_label)
from firefly.synth.model import Candidate, Exploration, Step
from firefly.synth.offline import OfflineSynthesizer, _self_contained
from firefly.synth.phrasing import generic_effect, generic_scope, tool_sentence


def ref(description: str | None, props: dict[str, Any] | None = None, name: str = "t") -> ToolRef:
    return ToolRef("s", name, description, {"type": "object", "properties": props or {}})


# --------------------------------------------------------------------------- the first clause


@pytest.mark.parametrize(("description", "args", "scope"), [
    # a parenthetical is no part of the name, an unclosed one is cut off
    ("Model Selection Criteria (AIC, BIC, HQIC, Cross-Validation)", {"file_path": "a.csv"},
     'the model selection criteria for file path "a.csv"'),
    ("Convert an image between formats by extension (e.g. .jpg, .png).\n    `quality` applies to JPEG.", {},
     "the result of converting an image between formats by extension"),
    ("Detect logical structure (chapters, sections, headings of a PDF", {}, "the result of detecting logical structure"),
    # a label before the description, a clause that only names the input
    ("Brief description: High-precision calculation tool using decimal arithmetic. //", {},
     "the high-precision calculation tool using decimal arithmetic"),
    ("Given a 'requestId', return the next pending task (not done yet).", {"requestId": "req-1"},
     'the next pending task for request id "req-1"'),
    # two actions: the one the result is about
    ("Search and list database objects (schemas, tables, columns) on the sqlite database", {},
     "the database objects on the sqlite database"),
    ("Fetch a website and return the content as HTML", {"url": "http://a.example/x"},
     'the website for URL "http://a.example/x"'),
    ("List SaaS scenario templates and optionally computes custom projections for given inputs.", {},
     "the SaaS scenario templates"),
    # a title-cased noun phrase is lower-cased, its acronyms are not
    ("Support Vector Machine Analysis", {}, "the support vector machine analysis"),
    ("OLS Regression Analysis", {}, "the OLS regression analysis"),
    ("Time-Varying Parameter Models", {}, "the time-varying parameter models"),
    # a verb ending in -ly is no adverb; "a list of numbers" is the numbers given
    ("Multiply a list of numbers", {"numbers": [2, 7, 9]}, "the result of multiplying the numbers 2, 7 and 9"),
    ("Reset the persistent bash environment, clearing all files.", {}, "the result of resetting the persistent bash environment"),
    ("Load a CSV file into a session.", {"file_path": "/w/a.csv"},
     'the result of loading a CSV file into a session for file path "/w/a.csv"'),
    ("Look up a word in the dictionary.", {"word": "tide"}, 'the results of looking up the word "tide" in the dictionary'),
    # "a specific timezone" names the argument's slot as "a timezone" does
    ("Get current time in a specific timezone", {"timezone": "Asia/Singapore"},
     'the current time in the timezone "Asia/Singapore"'),
    # "given fixed costs": the participle stays, the other values join its list
    ("Calculate break-even units and revenue given fixed costs, price per unit, and variable cost per unit.",
     {"fixed_costs": 3, "price_per_unit": 3, "variable_cost_per_unit": 1},
     "the result of calculating break-even units and revenue given the fixed costs 3, price per unit 3 and "
     "variable cost per unit 1"),
    # an argument the phrase names bare, after "of", "in", "to": the value goes there
    ("Get the head function of expression.", {"expression": "sqrt(9)"}, 'the head function of the expression "sqrt(9)"'),
    ("Compute the derivative of expression with respect to variable", {"expression": "x**2", "variable": "x"},
     'the result of computing the derivative of the expression "x**2" with respect to the variable "x"'),
])
def test_a_tool_is_worded_from_the_first_clause_of_its_description(description, args, scope):
    assert generic_scope("t", args, {}, ref(description)) == scope


def test_a_description_that_names_no_action_is_run_as_an_effect():
    said = generic_effect("detect_circles", {"input_path": "/w/logo.png"}, ref("Hough circle detection."))
    assert said == 'run the hough circle detection with input path "/w/logo.png"'
    assert generic_effect("t", {}, ref("Register a new user request and plan its associated tasks.")) == \
        "register a new user request"
    # a description that only names its tool says in a later sentence what it helps do: that is the action
    thinker = ref("A detailed tool for reflective problem-solving through thoughts.\nThis tool helps analyze problems"
                  " through a flexible thinking process that can adapt.", {"thought": {"type": "string"}})
    assert generic_effect("t", {"thought": "Check prices"}, thinker) == \
        'analyze problems through a flexible thinking process with thought "Check prices"'
    # its article is no variable named A: "In a detailed tool ...", never "In A detailed tool ..."
    assert generic_scope("t", {"thought": "Check prices"}, {}, thinker) == \
        'a detailed tool for reflective problem-solving through thoughts with thought "Check prices"'


def test_a_long_or_multi_line_argument_is_never_quoted():
    r = ref("Count words in a text.")
    assert generic_scope("t", {"text": "# Standup\n\nAttendees: Maya"}, {}, r) is None
    assert generic_scope("t", {"text": "x" * 61}, {}, r) is None
    assert generic_scope("t", {"text": "Checked text"}, {}, r) == 'the result of counting words in the text "Checked text"'
    assert generic_effect("t", {"tasks": [{"title": "a"}] * 4}, ref("Add tasks to a request.")) is None
    assert generic_scope("t", {"values": [f"w{i}" for i in range(11)]}, {}, r) is None
    # a series of numbers is said up to the size of a small table of them (a time series), not past it
    series = ref("Decompose a time series into trend and seasonality.")
    said = generic_scope("t", {"data": list(range(11, 35))}, {}, series)
    assert said is not None and said.endswith("for data 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, "
                                              "27, 28, 29, 30, 31, 32, 33 and 34"), said
    assert generic_scope("t", {"data": list(range(31))}, {}, series) is None
    # numbers are no quoted text
    assert generic_scope("t", {"x_data": [66, 11, 1]}, {}, ref("Poisson Regression Model")) == \
        "the poisson regression model for x data 66, 11 and 1"


def test_tool_sentence_keeps_short_descriptions_whole():
    assert tool_sentence("t", ref("Get the current weather for a city.")) == "get the current weather for a city"
    assert tool_sentence("t", ref("Set a JSON value in Redis at a given path with an optional expiration time.")) == \
        "set a JSON value in Redis at a given path"


def test_tool_sentence_leaves_out_a_namespace_before_a_tool_name():
    """No description to use (one in another language): "mcp_howtocook_whatToEat" of the
    server howtocook is "what to eat", not "mcp howtocook what to eat"; "git_log" stays."""
    cook = ToolRef("howtocook", "mcp_howtocook_whatToEat", "推荐今天吃什么", {"type": "object", "properties": {}})
    assert tool_sentence(cook.name, cook) == "what to eat"
    assert tool_sentence("git_log", ToolRef("git", "git_log", None, {})) == "git log"


# --------------------------------------------------------------------------- labels worth asking


def test_a_label_that_echoes_the_call_or_reports_on_it_is_dull():
    echoes = echoes_of({"old_value": 10, "output_path": "/workspace/files/a-moved.png", "numbers": [7, 10]},
                       ref("x", {"quantile": {"type": "number", "default": 0.5}}))
    assert is_dull("quantile", 0.5, echoes)  # a default given back
    assert is_dull("Old Value", "$10.00", echoes)  # the argument of that name, formatted
    assert is_dull("result", "Saved /workspace/files/a-moved.png", echoes)  # a message that repeats an argument
    assert not is_dull("result", "7.0", echoes)  # the least of the numbers: computed, not echoed
    assert is_dull("value", 7.0, echoes, any_name=True)  # ... unless a whole list is the numbers passed
    assert is_dull("cursor", 0) and is_dull("pagination.next_cursor", "abc")
    assert is_dull("status", "ok", whole=True) and is_dull("message", "Successfully loaded CSV file", whole=True)
    assert not is_dull("status", "shipped")  # an order's status in a table of orders is a fact
    assert is_dull("run_id", "4ca89fb43d143e69b4548621a1ecdc3181f923eb")
    assert is_dull("session_id", "aa0b43b6-3309-4526-8d67-b8358ef6c954")
    assert not is_dull("hash", "4ca89fb43d143e69b4548621a1ecdc3181f923eb")  # content-derived, no made-up id
    assert not is_dull("total_tools", 32, echoes) and not is_dull("name", "PowerPoint MCP Server", echoes)
    # a search that found nothing says so whatever the world holds
    assert is_dull("result", "No matches found for pattern: md") and is_dull("result", "No results.")
    assert is_dull("message", "0 files found") and is_dull("result", "Nothing found for 'x'")
    assert not is_dull("result", "No. 7 Harbor Street") and not is_dull("title", "No Country for Old Men")
    # a mathematics tool that gives its call back unevaluated answers nothing
    assert is_dull("result", "cos(290)", whole=True, tool="sympy_cos Cosine function")
    assert is_dull("result", "Polylog(10, z)", whole=True, tool="polylog Polylogarithm")
    assert not is_dull("result", "2*sqrt(2)", whole=True, tool="sqrt Square root")  # simplified: an answer
    assert not is_dull("result", "Matrix([[3/5, -1/5], [-1/5, 2/5]])", whole=True, tool="matrix_inverse Inverse")
    assert not is_dull("result", "sin(x)", whole=True, tool="diff Derivative")  # another function: computed


def test_a_task_quoting_an_id_of_this_run_or_a_secret_is_dropped():
    assert generated_id_in('the auto-save status for session id "aa0b43b6-3309-4526-8d67-b8358ef6c954"')
    assert generated_id_in('the epic with epic id "epic-9660608e"')
    assert generated_id_in('the task details by ID for task id "task-97542894"')  # hex that drew no letter
    assert not generated_id_in('the report "report-20250318"') and not generated_id_in("order-1042")
    assert generated_id_in('the website for url "http://[secret]:18765/data.json"')
    assert not generated_id_in('the commit "Release 0.2.0" of the repository at /workspace/repo')
    skipped: Counter = Counter()

    def ok(question: str, answer: Any) -> bool:
        return _self_contained(Candidate("lookup", "t", question, answer, {"rule": "normalized"}, {0}, [], {}), skipped)

    assert not ok('What is the mode for session id "30e1f1d3-7249-491a-85ef-b275fb1ce5a8"?', "csv")
    assert not ok("Which session was opened?", "30e1f1d3-7249-491a-85ef-b275fb1ce5a8")
    assert ok('What is the mode for the file "a.csv"?', "csv")
    assert skipped["a made-up id or a secret in the task"] == 2


# --------------------------------------------------------------------------- names of values


def test_nouns_of_keys():
    assert [singular(w) for w in ("warehouses", "statuses", "boxes", "analysis", "status", "categories")] == [
        "warehouse", "status", "box", "analysis", "status", "category"]
    assert item_noun("columns_affected", True) == ("column affected", "columns affected")
    assert item_noun("data_analysis", True) == ("data analysis entry", "data analysis entries")
    assert item_noun("excluded_folders", True) == ("excluded folder", "excluded folders")
    assert item_noun("config") == ("config", "configs")


def test_fields_named_alike_in_two_records_are_named_with_their_record():
    doc = {"model_type": "svm", "train_results": {"mse": 8.1, "rmse": 2.8, "predictions": [1.5, 2.5]},
           "test_results": {"mse": 9.2, "rmse": 3.0, "predictions": [3.5]}}
    found = read_result(0, {}, [{"type": "text", "text": json.dumps(doc)}], None, ref("SVM"), "svm").tables
    labels = {t.noun: {t.label(f) for f in t.items[0].cells} for t in found}
    assert labels["test result"] == {"MSE of the test results", "RMSE of the test results"}
    assert labels["train result"] == {"MSE of the train results", "RMSE of the train results"}


def test_labelled_lines_are_named_in_words():
    assert _line_label("Monthly Payment") == "monthly payment"
    assert _line_label("asm") == '"asm" entry'
    notes = "Attendees: Maya Okafor, Daniel Brandt, Priya Raman\n\nDaniel: merge the branch by Friday.\nStatus Report\n"
    assert _line_label("Daniel", notes) == "entry for Daniel" and _line_label("Status", notes) == "status"
    assert _line_label("Federal Tax (USD)") == '"Federal Tax (USD)" entry'


# --------------------------------------------------------------------------- the synthesizer


def _exploration(tool: ToolRef, arguments: dict[str, Any], result: Any) -> Exploration:
    step = Step(0, "s", tool.name, arguments, [{"type": "text", "text": json.dumps(result)}], None, True, True, [],
                "initial")
    return Exploration("x1", "d1", [step], tools={("s", tool.name): tool})


def _questions(x: Exploration) -> list[Candidate]:
    found, _ = OfflineSynthesizer().candidates(x)
    return found


def test_no_question_echoes_the_arguments_or_counts_bare_numbers():
    tool = ref("Find the minimum number in a list", {"numbers": {"type": "array"}}, name="min")
    found = _questions(_exploration(tool, {"numbers": [7, 10, 12]},
                                    {"result": "7.0", "operation": "min", "numbers": [7.0, 10.0, 12.0]}))
    answers = [c.answer for c in found]
    assert "7.0" in answers  # the least number is asked
    assert "min" not in answers  # the operation of the reply is not
    assert 3 not in answers and not any(isinstance(a, list) for a in answers)  # nor the numbers passed back
    tool = ref("Quantile Regression", {"quantile": {"type": "number", "default": 0.5}}, name="qr")
    found = _questions(_exploration(tool, {}, {"quantile": 0.5, "pseudo_r_squared": 0.79, "coefficients": [2.5, 1.4, -0.7]}))
    assert [c.answer for c in found if c.kind != "lookup" or not isinstance(c.answer, dict)] == [0.79]
    assert found[0].question in ("What is the pseudo r squared of the quantile regression?",
                                 "In the quantile regression, what is the pseudo r squared?")


def test_a_multi_hop_through_a_one_record_reply_names_the_call():
    load = ref("Load a CSV file into a session.", {"file_path": {"type": "string"}}, name="load_csv")
    stats = ref("Get statistical summary of numerical columns.", {"session_id": {"type": "string"}}, name="stats")
    a = Step(0, "s", "load_csv", {"file_path": "/w/a.csv"},
             [{"type": "text", "text": json.dumps({"message": "Loaded", "session_id": "s-1", "rows": 12})}], None,
             True, True, [], "initial")
    b = Step(1, "s", "stats", {"session_id": "s-1"},
             [{"type": "text", "text": json.dumps({"statistics": {"qty": {"mean": 4.5, "max": 9}}})}], None, True,
             True, [{"argument": "/session_id", "step": 0, "path": "$.content[0].text#json=$.session_id",
                     "value": "s-1"}], "initial")
    x = Exploration("x1", "d1", [a, b], tools={("s", "load_csv"): load, ("s", "stats"): stats})
    hops = [c.question for c in _questions(x) if c.kind == "multi-hop"]
    assert hops, hops
    assert all('the session id given by the result of loading a CSV file into a session for file path "/w/a.csv"' in q
               for q in hops), hops
    assert not any("whose message" in q for q in hops)


def test_fields_of_nested_objects_are_named_without_their_object_when_that_is_clear():
    doc = {"dtypes": {"date": "str", "qty": "int64"}, "query": {"context_length": 100, "mode": "x"},
           "stats": {"word_count": 3}, "critical_values": {"1%": 54.7, "5%": 47.9},
           "data_types": {"unit_price": "float64"}, "unit_price": 9.5}
    (t,) = read_result(0, {}, [{"type": "text", "text": json.dumps(doc)}], None, ref("X"), "x").tables
    assert {f: t.label(f) for f in t.items[0].cells} == {
        "dtypes.date": "date dtype", "dtypes.qty": "qty dtype",  # entries of a plural object: the entry, then what it is
        "query.context_length": "context length",  # its own name says enough
        "query.mode": "query mode",  # "mode" alone does not
        "stats.word_count": "word count stat",
        # a plural of two words too: "the 1% critical value", never "the critical values 1%"
        "critical_values.1%": "1% critical value", "critical_values.5%": "5% critical value",
        "data_types.unit_price": "unit price data type",  # though the record has a unit price of its own
        "unit_price": "unit price"}


def test_a_reply_that_names_its_own_tool_or_a_sum_of_list_lengths_is_not_asked():
    assert is_dull("model_type", "negative_binomial", whole=True, tool="micro_negative_binomial negative binomial model")
    assert not is_dull("model_type", "negative_binomial", tool="micro_negative_binomial")  # one of many records: a fact
    assert not is_dull("author", "Stockfish developers", whole=True, tool="engine_info get information about the engine")
    tool = ref("Discover catalog actions.", name="menu")
    rows = [{"action": f"a{i}", "required": ["x"] * (i + 1), "weight": i} for i in range(3)]
    found = _questions(_exploration(tool, {}, {"actions": rows}))
    assert any(c.template == "sum:action:weight" for c in found)
    assert not any(c.template.startswith("sum:") and "#count" in c.template for c in found)


def test_a_when_clause_and_you_can_use_this_tool_are_no_part_of_what_a_tool_does():
    assert tool_sentence("t", ref("When you need to plan tasks, you can use this tool to receive task planning guidance."
                                  " You are expected to follow it.")) == "receive task planning guidance"


def test_a_tool_without_usable_description_is_worded_from_its_name_after_its_namespace():
    r = ToolRef("s", "mcp_howtocook_getRecipeById", "根据菜谱名称或ID查询指定菜谱的完整详情", {})
    assert generic_scope(r.name, {"query": "x"}, {}, r) == 'the recipe by id for query "x"'
    assert tool_sentence("git_log") == "git log" and tool_sentence("git_commit") == "commit in git"
    assert generic_scope("t", {"amount": 5}, {}, ref("Format a number as USD currency string")) == \
        "the result of formatting a number as USD currency string for amount 5"
    assert is_dull("pagination.total_pages", 0) and not is_dull("pagination.total_entries", 3)


def test_a_question_agrees_with_its_label():
    from firefly.synth.offline import _verb_for

    assert [_verb_for(x) for x in ("todo tasks", "width in pixels", "total templates", "rmse of the test results",
                                   "aic", "status")] == ["are", "is", "is", "is", "is", "is"]
    assert [_verb_for(x) for x in ("questions about this folder", "size on disk")] == ["are", "is"]


def test_a_zero_of_a_one_record_reply_and_a_sum_of_positions_are_not_asked():
    assert is_dull("node_count", 0, whole=True) and is_dull("file_size_mb", 0.0, whole=True)
    assert not is_dull("quantity", 0)  # one item's zero among others is a fact
    tool = ref("Read cells of a worksheet.", name="read_cells")
    cells = [{"address": a, "row": r, "value": v} for a, r, v in (("A1", 1, 4), ("A2", 2, 9), ("A3", 3, 5))]
    templates = {c.template for c in _questions(_exploration(tool, {}, {"cells": cells, "empty": 0}))}
    assert {"max:cell:row", "sum:cell:value", "min:cell:value"} <= templates
    assert not {"sum:cell:row", "min:cell:row"} & templates
    assert not any(t.endswith(":empty") for t in templates)


def test_abbreviated_keys_are_spelled_out_and_counted_things_read_as_numbers():
    from firefly.synth.facts import spelled_out
    from firefly.synth.offline import _counted

    assert spelled_out("n obs") == "number of observations" and spelled_out("avg price") == "average price"
    assert _line_label("webidl") == '"webidl" entry' and _line_label("Owner") == "owner"
    assert _counted("notes checked") and _counted("pages without watermarks")
    assert _counted("rows") and _counted("files") and not _counted("degrees") and not _counted("rmse")
    assert spelled_out("expr") == "expr" and spelled_out("expr", alone=True) == "expression"
    assert not _counted("total issues") and not _counted("todo tasks") and not _counted("rmse")
    tool = ref("Find all broken links in the vault.", name="broken_links")
    found = _questions(_exploration(tool, {}, {"notes_checked": 2, "broken_count": 1}))
    assert any("the number of notes checked" in c.question for c in found), [c.question for c in found]
    assert tool_sentence("t", ref("Look for probable watermark markings on every page and report where they are.")) \
        == "look for probable watermark markings on every page"


def test_a_command_that_was_run_is_named_by_its_command_line():
    schema = {"type": "object", "properties": {"command": {"type": "string"}, "force_user_confirm": {"type": "boolean"}}}
    ref = ToolRef("s", "shell_execute", "Execute shell commands securely with intelligent output handling.", schema)
    assert generic_scope("shell_execute", {"command": "head -n 5 /workspace/files/data/sales.csv",
                                           "force_user_confirm": True}, {}, ref) == (
        "the output of the command `head -n 5 /workspace/files/data/sales.csv`")
    argv = {"type": "object", "properties": {"command": {"type": "array", "items": {"type": "string"}}}}
    ref = ToolRef("s", "shell_execute", "Execute an allowed command as an argv array.", argv)
    assert generic_scope("shell_execute", {"command": ["wc", "-l", "/workspace/a b.md"]}, {}, ref) == (
        "the output of the command `wc -l '/workspace/a b.md'`")
    parse = ToolRef("s", "bash_transform", "Transform a bash script with the AST pipeline without executing it.", schema)
    assert "output of the command" not in (generic_scope("bash_transform", {"command": "ls /w"}, {}, parse) or "")
    # a command parameter of a tool that runs no commands keeps the tool's words
    uci = ToolRef("s", "engine", "Send an instruction to the chess engine.", schema)
    assert "output of the command" not in (generic_scope("engine", {"command": "go depth 3"}, {}, uci) or "")


def test_a_small_object_holding_one_small_list_of_objects_is_quoted_and_nothing_deeper():
    r = ref("Read text file contents from multiple files and line ranges.")
    args = {"files": [{"file_path": "/workspace/files/data/suppliers.csv", "ranges": [{"start": 5}]}]}
    assert generic_scope("t", args, {}, r) == ('the text file contents from multiple files and line ranges for files'
                                               ' file path "/workspace/files/data/suppliers.csv", ranges start 5')
    deeper = {"files": [{"file_path": "/w/a.csv", "ranges": [{"start": {"line": 5}}]}]}
    assert generic_scope("t", deeper, {}, r) is None


@pytest.mark.parametrize("tool, noun", [
    ("list_orders", "order"),
    ("list_files_in_dir", "file"),  # what follows "in" says where, not what comes back (not "dir")
    ("get_user_by_id", "user"),
    ("search_by_date_tool", "item"),  # notes found by date are no dates
    ("mcp_howtocook_getRecipesByCategory", "recipe"),  # what the last verb acts on (not "get recipe")
    ("git_log", "git log"),  # a verb with nothing after it is a noun here
])
def test_what_a_tool_returns_is_named_by_what_its_verb_acts_on(tool, noun):
    from firefly.synth.facts import Names

    assert Names(tool).noun()[0] == noun
