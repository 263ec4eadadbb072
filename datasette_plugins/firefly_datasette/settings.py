"""How firefly serves Datasette: the settings ``firefly browse`` passes (and the benchmark
and tests use, so they measure what users get)."""

from __future__ import annotations

SETTINGS: dict[str, object] = {
    # suggesting facets runs a query per column on every table page; firefly names the
    # useful facets of each table in its metadata instead
    "suggest_facets": False,
    # tool results can be long: cut them in table views (the exploration page folds them)
    "truncate_cells_html": 300,
    "sql_time_limit_ms": 3000,
    "facet_time_limit_ms": 500,
}


def datasette_arguments() -> list[str]:
    """``--setting NAME VALUE`` arguments for ``datasette serve``."""
    args: list[str] = []
    for name, value in SETTINGS.items():
        text = ("on" if value else "off") if isinstance(value, bool) else str(value)
        args += ["--setting", name, text]
    return args
