"""The generic adapter: the default for every server without an adapter of its own.

It knows no server in particular; everything it does it reads from what the server says:
errors in any shape (:func:`firefly.adapters.judge.error_reason`), values in any JSON or text
result (:func:`firefly.explore.values.extract`), the tools it may call without arguments to
learn the server's world (read-only by annotation, or by a reading verb in the name when
the server gives no annotation; never a destructive one or one whose name says it changes
something), probes by parameter names (:func:`firefly.explore.probe.pick_probe`), facts
from any result, JSON or text (:func:`firefly.synth.facts.read_result`), and calls in words
from the tool's description, title or name and its arguments
(:func:`firefly.synth.phrasing.generic_scope`, :func:`~firefly.synth.phrasing.generic_effect`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import ServerRecord
from .judge import error_reason
from .verbs import reads_by_description, reads_by_name, writes_by_name

if TYPE_CHECKING:
    from ..explore.policy import CallRecord, ToolRef
    from ..explore.probe import Probe
    from ..explore.values import Value
    from ..synth.facts import Reading

__all__ = ["GenericAdapter", "needs_no_arguments", "safe_to_survey"]


def needs_no_arguments(tool: ToolRef) -> bool:
    schema = tool.input_schema if isinstance(tool.input_schema, dict) else {}
    required = schema.get("required")
    return not (isinstance(required, list) and required)


def safe_to_survey(tool: ToolRef) -> bool:
    """A tool that can be called with no arguments and cannot change the world."""
    ann = tool.annotations or {}
    if ann.get("destructiveHint") is True or ann.get("readOnlyHint") is False:
        return False
    if writes_by_name(tool.name) or not needs_no_arguments(tool):
        return False
    if ann.get("readOnlyHint") is True:
        return True
    return reads_by_name(tool.name, tool.server) or reads_by_description(tool.name, tool.description)


class GenericAdapter:
    """Serves any server; subclass it to write an adapter that overrides only what differs."""

    name = "generic"

    def matches(self, server: ServerRecord) -> float:
        return 0.0  # the fallback: never preferred to an adapter that claims the server

    def is_error(self, content: Any, structured: Any = None, is_error: bool = False) -> str | None:
        return error_reason(content, structured, is_error)

    def harvest(self, record: CallRecord) -> list[Value]:
        from ..explore.values import extract

        if record.is_error or self.is_error(record.content, record.structured):
            return []
        return extract(record)

    def fill(self, tool: ToolRef, name: str, schema: dict[str, Any]) -> Any:
        return None  # nothing known beyond the schema and the observed values

    def survey_tools(self, tools: list[ToolRef]) -> list[ToolRef]:
        return sorted((t for t in tools if safe_to_survey(t)), key=lambda t: t.name)

    def probe(self, call: CallRecord, tool: ToolRef, readers: list[ToolRef]) -> Probe | None:
        from ..explore.probe import pick_probe

        return pick_probe(call, tool, readers)

    def read_facts(self, step: int, tool: str, arguments: dict[str, Any], content: Any, structured: Any,
                   ref: ToolRef | None = None) -> Reading:
        from ..synth.facts import read_result

        return read_result(step, arguments, content, structured, ref, tool)

    def scope(self, tool: str, server: str, arguments: dict[str, Any],
              subst: dict[str, str] | None = None, ref: ToolRef | None = None) -> str | None:
        from ..synth.phrasing import generic_scope

        if arguments is None:
            return None
        return generic_scope(tool, arguments, subst or {}, ref)

    def effect(self, tool: str, server: str, arguments: dict[str, Any], ref: ToolRef | None = None) -> str | None:
        from ..synth.phrasing import generic_effect

        return generic_effect(tool, arguments, ref)

    def effect_marks(self, tool: str, arguments: dict[str, Any], marks: list[str]) -> list[str]:
        return marks
