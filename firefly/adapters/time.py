"""The time family: mcp-server-time (``serverInfo`` ``mcp-time``) and servers shaped like it.

Its world: the clock and the IANA time zones; no workspace part, nothing it changes, so it
shares nothing with the other servers. What firefly knows: the current time is no fact (a
question about it has no stable answer; it is asked only as a reading bound to the call that
told it, :meth:`firefly.synth.offline.OfflineSynthesizer._readings`); a conversion between
zones is read as any JSON result.
"""

from __future__ import annotations

from .family import FamilyAdapter

__all__ = ["ADAPTER", "TimeAdapter"]


class TimeAdapter(FamilyAdapter):
    name = "time"
    server_names = frozenset({"mcp-time", "mcp-server-time"})
    tools = {
        "convert_time": frozenset(["source_timezone", "target_timezone", "time"]),
        "get_current_time": frozenset(["timezone"]),
    }
    no_facts = frozenset({"get_current_time"})  # the clock


ADAPTER = TimeAdapter()
