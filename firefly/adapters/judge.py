"""Is a tool result an error? One judgement for every shape a server reports a failure in.

Servers report failures in many ways: ``isError`` set, a text block that says
``Error: ...`` (``isError`` false), a JSON text or ``structuredContent`` holding
``{"error": ...}``, ``{"status": "error"}``, ``{"success": false}``, or a result field whose
text is an error (``{"result": "Error: No data provided to write"}``). :func:`error_reason`
sees them all; every stage that judges a result (the explore stage when it records a call,
value harvesting, the pool of grounded values, and through the recorded ``error_class`` the
synthesizer and the statistics) uses it, through the server's adapter.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["error_reason"]

MAX_JUDGED_TEXT = 4000  # characters of a text looked at; a long text is a document, not an error message

ERROR_TEXT = re.compile(
    r"^\s*(?:\*\*)?(?:[A-Za-z]+ ){0,2}(?:error|exception)(?:\s+[-\w]+){0,2}\s*[:!]"
    r"|^\s*(?:Error|Exception|Database error|Error executing tool)\b[:\s]"
    r"|^\s*Traceback \(most recent call last\)"
    r"|^\s*(?:Failed to|Unknown tool|Invalid (?:arguments?|input|params?|parameters?)\b)",
    re.IGNORECASE)
# "Column 'TEXT' not found in table products", "Field 'vector' not found in hash ...": a thing
# named at the start of a text, then that it is not there
MISSING_TEXT = re.compile(r"^\s*[A-Z][\w -]{0,40}?\s*(?:'[^'\n]{1,80}'|\"[^\"\n]{1,80}\")?\s*(?:was\s+)?"
                          r"(?:not found|does not exist)\b")
# a reply whose own section rule says the run failed: "--- Error (status code: 1) ---" before a
# script's traceback (a tool that runs code and sets no error flag when the code fails)
ERROR_SECTION = re.compile(r"(?m)^\s*(?:-{3,}|={3,})\s*(?:Error|Exception|Traceback|Failed)\b[^\n]*?(?:-{3,}|={3,})\s*$")
# an error said in Chinese or Japanese on a short reply's first line ("tasksRaw 參數格式錯誤" : the
# parameter's format is wrong), or a JSON parser's complaint about what the call sent
FOREIGN_ERROR = re.compile(r"錯誤|错误|失敗|失败|無效|无效|エラー")
INVALID_JSON = re.compile(r"\bis not valid JSON\b|\bUnexpected token\b.{0,40}\bJSON\b|\bJSON\.parse\b")
MAX_FOREIGN_ERROR = 600
# a short reply that says the call lacked an argument: "Either keys array or keyPattern must be
# provided", "Keys must be a non-empty array", "Parameter 'query' is required", "Missing
# required argument: path"
MISSING_ARGUMENT = re.compile(r"\bmust be (?:provided|specified|given|supplied|set)\b"
                              r"|\b(?:must be a non-empty|must not be empty|cannot be empty|can't be empty)(?![\w-])"
                              r"|^\W*(?:missing (?:required )?|no required )(?:argument|parameter|field|input)s?\b"
                              r"|^[^\n]{0,80}\b(?:argument|parameter|field|input)\b[^\n]{0,60}\bis required\b",
                              re.IGNORECASE)
MAX_MISSING_ARGUMENT = 300
# a validator's list of issues (zod): '"code": "invalid_enum_value"' and the path it found it at
ZOD_CODE = re.compile(r'"code"\s*:\s*"(?:invalid_[a-z_]+|too_small|too_big|unrecognized_keys|not_multiple_of)"')
ZOD_PATH = re.compile(r'"path"\s*:\s*\[')
ERROR_STATUS = frozenset({"error", "failed", "failure", "fail", "err", "exception"})
ERROR_KEYS = ("error", "errors", "error_message", "errorMessage", "exception")
FLAG_KEYS = ("success", "ok", "succeeded")
MESSAGE_KEYS = ("result", "message", "text", "output", "content", "detail", "details", "response")


def error_reason(content: Any = None, structured: Any = None, is_error: bool = False) -> str | None:
    """Why a result is an error (a short text), or None when it is not one. Never raises.

    ``content`` is the list of MCP content blocks (wire JSON), ``structured`` the
    structured content, ``is_error`` the result's ``isError``.
    """
    try:
        texts = [b.get("text") for b in content or [] if isinstance(b, dict) and b.get("type") == "text"
                 and isinstance(b.get("text"), str)]
        if is_error:
            return "isError: " + _first_line(texts[0] if texts else "the result is flagged as an error")
        if isinstance(structured, dict):
            why = _structured_error(structured)
            if why:
                return "structuredContent: " + why
        if len(texts) == 1 and len(texts[0]) <= MAX_JUDGED_TEXT:
            text = texts[0]
            stripped = text.strip()
            if stripped[:1] == "{":
                try:
                    parsed = json.loads(stripped)
                except ValueError:
                    parsed = None
                if isinstance(parsed, dict):
                    why = _structured_error(parsed)
                    return ("content: " + why) if why else None
            if ERROR_TEXT.match(text) or MISSING_TEXT.match(text):
                return "content: " + _first_line(text)
            if ZOD_CODE.search(text) and ZOD_PATH.search(text):
                return "content: " + _first_line(text)
            head = stripped.split("\n", 1)[0]
            if len(stripped) <= MAX_FOREIGN_ERROR and (FOREIGN_ERROR.search(head) or INVALID_JSON.search(stripped)):
                return "content: " + _first_line(text)
            if len(stripped) <= MAX_MISSING_ARGUMENT and MISSING_ARGUMENT.search(stripped):
                return "content: " + _first_line(text)
            section = ERROR_SECTION.search(text)
            if section:
                return "content: " + _first_line(text[section.start():].strip())
        return None
    except Exception:  # noqa: BLE001 - a malformed result is judged not to be an error report
        return None


def _structured_error(d: dict[str, Any], top: bool = True) -> str | None:
    """An error field or error text at the top of a JSON object (or, at the top, in every
    entry of an object of per-thing reports)."""
    for key in ERROR_KEYS:
        if key in d and _present(d[key]):
            return f"{key}: {_first_line(_show(d[key]))}"
    if d.get("isError") is True or d.get("is_error") is True:
        return "isError: true"
    status = d.get("status") if "status" in d else d.get("state")
    if isinstance(status, str) and status.strip().lower() in ERROR_STATUS:
        return f"status: {status}" + _message_of(d)
    for key in FLAG_KEYS:
        if d.get(key) is False:
            return f"{key}: false" + _message_of(d)
    for key in MESSAGE_KEYS:
        v = d.get(key)
        if isinstance(v, str) and len(v) <= MAX_JUDGED_TEXT and ERROR_TEXT.match(v):
            return f"{key}: {_first_line(v)}"
    outcome = d.get("result") if "result" in d else d.get("outcome")
    if isinstance(outcome, str) and outcome.strip().lower() in ERROR_STATUS:
        return f"result: {outcome}" + _reason_of(d)
    if top and 0 < len(d) <= 20 and all(isinstance(v, dict) for v in d.values()):
        # a report per thing named ({"/a.md": {"result": "error", "reason": "Hash mismatch"}}):
        # an error when every thing failed
        whys = [_structured_error(v, top=False) for v in d.values()]
        if all(whys):
            return f"{next(iter(d))}: {whys[0]}"
    return None


def _reason_of(d: dict[str, Any]) -> str:
    for key in ("reason", "error_reason", "cause", *MESSAGE_KEYS):
        if key != "result" and isinstance(d.get(key), str) and d[key].strip():
            return f" ({_first_line(d[key])})"
    return ""


def _message_of(d: dict[str, Any]) -> str:
    for key in MESSAGE_KEYS:
        if isinstance(d.get(key), str) and d[key].strip():
            return f" ({_first_line(d[key])})"
    return ""


def _present(v: Any) -> bool:
    return v not in (None, "", False, [], {}, 0)


def _show(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, dict) and isinstance(v.get("message"), str):
        return v["message"]
    try:
        return json.dumps(v, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(v)


def _first_line(text: str, limit: int = 300) -> str:
    line = next((ln.strip() for ln in str(text).splitlines() if ln.strip()), "")
    return line[:limit]
