"""firefly: verified tool-calling training data from real MCP servers.

The library is organised around one append-only event log (:mod:`firefly.store`) and the
projections derived from it (:mod:`firefly.projections`). Each pipeline stage reads
projections, does its work and appends typed events (:mod:`firefly.events`).
"""

__version__ = "0.1.0"
