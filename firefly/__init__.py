"""firefly: verified tool-calling training data from real MCP servers.

The library is organised around one append-only event log (:mod:`firefly.store`) and the
projections derived from it (:mod:`firefly.projections`). Each pipeline stage reads
projections, does its work and appends typed events (:mod:`firefly.events`).
"""

__version__ = "0.1.0"

# the distribution firefly is installed as (its import name stays ``firefly``)
DIST_NAME = "firefly-mcp"


def installed_version() -> str:
    """The installed distribution's version (its metadata), else ``__version__`` (a source
    checkout that is not installed, or installed under another name)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DIST_NAME)
    except PackageNotFoundError:
        return __version__
