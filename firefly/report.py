"""What ``firefly status`` prints: counts per stage, computed from the projections."""

from __future__ import annotations

from .store import Store

Section = tuple[str, list[tuple[str, object]]]


def status_report(store: Store) -> list[Section]:
    store.catch_up()
    q = store.conn.execute

    def one(sql: str, *params: object) -> object:
        return q(sql, params).fetchone()[0]

    sections: list[Section] = []
    sections.append(
        (
            "log",
            [
                ("database", store.path),
                ("events", store.count()),
                ("runs", one("SELECT count(*) FROM runs")),
                ("errors recorded", one("SELECT count(*) FROM errors")),
            ],
        )
    )
    servers: list[tuple[str, object]] = [
        (f"servers {status}", n)
        for status, n in q("SELECT status, count(*) FROM servers GROUP BY status ORDER BY status")
    ]
    per_server = [
        (f"  {name}", f"{tools} tools" + (f"  ({status}: {error})" if status == "failed" else f"  ({status})"))
        for name, tools, status, error in q(
            "SELECT name, tools, status, coalesce(last_error, '') FROM servers WHERE callable = 1 AND status != 'removed' ORDER BY name"
        )
    ]
    sections.append(("servers", servers + per_server or [("servers", 0)]))
    sections.append(
        (
            "tools",
            [
                ("callable", one("SELECT count(*) FROM tools WHERE callable = 1 AND removed = 0")),
                ("catalog (not callable)", one("SELECT count(*) FROM tools WHERE callable = 0 AND removed = 0")),
                ("removed", one("SELECT count(*) FROM tools WHERE removed = 1")),
                ("invalid schema (kept, flagged)", one("SELECT count(*) FROM tools WHERE schema_valid = 0 AND removed = 0")),
                ("schema changes recorded", one("SELECT count(*) FROM tool_versions WHERE change = 'changed'")),
            ],
        )
    )
    return sections
