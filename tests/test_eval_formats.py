"""Pieces of the evaluation harness that need no tasks: function specs, tool messages,
pass@k, and the export line formats (every near miss of a line is caught)."""

from __future__ import annotations

import copy
import json

import pytest

from firefly.env import answer_text, parameters_of, result_text
from firefly.evaluation import pass_at_k
from firefly.export import line_problems

TOOLS = [
    {"type": "function", "function": {"name": "git__git_log", "description": "[git] Shows the log",
                                      "parameters": {"type": "object", "properties": {"repo_path": {"type": "string"}}}}},
]
CHAT = {
    "messages": [
        {"role": "system", "content": "You call tools."},
        {"role": "user", "content": "How many commits?"},
        {"role": "assistant", "tool_calls": [
            {"id": "call_0", "type": "function", "function": {"name": "git__git_log", "arguments": '{"repo_path": "/workspace/repo"}'}}]},
        {"role": "tool", "tool_call_id": "call_0", "content": "commit a\ncommit b"},
        {"role": "assistant", "content": "2"},
    ],
    "tools": TOOLS,
}
RL = {
    "task_id": "t1", "kind": "lookup", "split": "train",
    "prompt": [{"role": "system", "content": "You call tools."}, {"role": "user", "content": "How many commits?"}],
    "question": "How many commits?", "tools": json.dumps(TOOLS), "label": "2", "match": '{"rule": "number", "tolerance": 1e-6}',
    "probe": "null", "hops": 1, "servers": ["git"], "tool_targets": '{"git__git_log": {"server": "git", "tool": "git_log"}}',
    "answer_schema": "null",
}


def test_parameters_of_recorded_schemas():
    assert parameters_of({"$schema": "x", "properties": {"a": {}}}) == {"type": "object", "properties": {"a": {}}}
    assert parameters_of(None) == {"type": "object", "properties": {}}


def test_tool_messages_from_results():
    assert result_text([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}], None, False) == "a\nb"
    assert result_text([], {"n": 1}, False) == '{"n": 1}'
    assert result_text([{"type": "text", "text": "no such file"}], None, True) == "Error: no such file"
    assert result_text([{"type": "text", "text": "Error: bad"}], None, True) == "Error: bad"
    assert json.loads(result_text([{"type": "image", "data": "AA==", "mimeType": "image/png"}], None, False))["type"] == "image"
    assert answer_text(["a, b", "c"]) == '["a, b", "c"]' and answer_text(3) == "3" and answer_text("x") == "x"


def test_pass_at_k():
    assert pass_at_k(1, 1, 1) == 1.0 and pass_at_k(1, 0, 1) == 0.0
    assert pass_at_k(4, 1, 1) == pytest.approx(0.25)
    assert pass_at_k(4, 1, 2) == pytest.approx(0.5)   # 1 - C(3,2)/C(4,2)
    assert pass_at_k(4, 3, 2) == 1.0


def test_valid_lines_pass():
    assert line_problems("chat", CHAT) == []
    assert line_problems("rl", RL) == []


def _mutate(line, path, value):
    line = copy.deepcopy(line)
    target = line
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return line


@pytest.mark.parametrize("path, value", [
    (("tools",), KeyError),                                                    # no tools
    (("tools",), []),
    (("tools", 0, "function", "name"), "git log"),                             # a name OpenAI refuses
    (("tools", 0, "function", "parameters"), {"type": "string"}),              # parameters not an object schema
    (("messages", 0, "role"), "developer"),
    (("messages", 1, "content"), ""),                                          # an empty question
    (("messages", 2, "tool_calls", 0, "function", "arguments"), {"a": 1}),     # arguments must be JSON text
    (("messages", 2, "tool_calls", 0, "function", "arguments"), "[1]"),        # ... of an object
    (("messages", 2, "tool_calls", 0, "function", "name"), "git__git_show"),   # not among the tools
    (("messages", 2, "tool_calls", 0, "type"), "tool"),
    (("messages", 3, "tool_call_id"), "call_9"),                               # answers no call
    (("messages", 3, "content"), None),
    (("messages", 4), {"role": "assistant", "tool_calls": [                    # ends on a call
        {"id": "call_1", "type": "function", "function": {"name": "git__git_log", "arguments": "{}"}}]}),
    (("messages", 4, "extra"), 1),
])
def test_chat_near_misses_are_caught(path, value):
    assert line_problems("chat", _mutate(CHAT, path, value))


def test_chat_tools_with_one_name_are_caught():
    assert any("one name" in p for p in line_problems("chat", dict(CHAT, tools=TOOLS * 2)))


def test_chat_unanswered_call_is_caught():
    line = copy.deepcopy(CHAT)
    del line["messages"][3]
    assert any("no tool result" in p for p in line_problems("chat", line))


@pytest.mark.parametrize("path, value", [
    (("task_id",), KeyError), (("kind",), "trivia"), (("match",), '{"tolerance": 1}'), (("match",), '{"rule": "fuzzy"}'),
    (("prompt",), [{"role": "user", "content": "q"}]), (("probe",), '{"server": "git"}'), (("hops",), -1),
    (("servers",), []), (("tools",), json.dumps([dict(TOOLS[0], type="tool")])), (("extra",), 1),
    (("tool_targets",), KeyError), (("tool_targets",), "{}"),                   # no way back to the tools
    (("tool_targets",), '{"git__git_log": {"server": "git"}}'),
    (("tools",), json.dumps(TOOLS * 2)),                                        # two tools, one name
    (("label",), 2), (("match",), {"rule": "number"}), (("probe",), None),      # values, not JSON text
    (("tools",), TOOLS), (("label",), "two"),                                   # "two" is not JSON
])
def test_rl_near_misses_are_caught(path, value):
    assert line_problems("rl", _mutate(RL, path, value))
