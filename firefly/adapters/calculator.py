"""The calculator family: mcp-server-calculator (``serverInfo`` ``calculator``) and servers
shaped like it: one tool that evaluates an arithmetic expression.

Its world: arithmetic; no workspace part, nothing it changes, so it shares nothing with the
other servers. Its result is read as any JSON result; its words are the generic ones.
"""

from __future__ import annotations

from . import ServerRecord
from .family import FamilyAdapter

__all__ = ["ADAPTER", "CalculatorAdapter"]


class CalculatorAdapter(FamilyAdapter):
    name = "calculator"
    server_names = frozenset({"calculator", "mcp-server-calculator"})
    tools = {"calculate": frozenset(["expression"])}
    min_tools = 1

    def matches(self, server: ServerRecord) -> float:
        if server.server_name not in self.server_names and len(server.tools) != 1:
            return 0.0  # by its shape alone: a server of that one tool, not a tool among many
        return super().matches(server)


ADAPTER = CalculatorAdapter()
