"""The projection contract.

A projection is a set of tables derived from the log. It names the tables it owns (emptied
on rebuild), the event types it handles, the indexes a rebuild may build after the replay,
and applies one event at a time inside the
transaction the store opened for the batch. It must be deterministic: everything it writes
comes from the events (their envelope time, never the wall clock), so that rebuilding from
the log gives the same content as the incremental path.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, ClassVar

import msgspec

if TYPE_CHECKING:
    from ..store import Recorded

_json = msgspec.json.Encoder(order="sorted")


def dumps(value: object) -> str:
    """JSON text for a projection column (sorted keys, so rebuilds compare equal)."""
    return _json.encode(value).decode()


class Projection:
    name: ClassVar[str]
    tables: ClassVar[tuple[str, ...]]
    handles: ClassVar[frozenset[str]]
    #: secondary indexes on its tables that :meth:`apply` never reads (lookups it makes go
    #: through primary keys or other indexes): a rebuild drops them for the replay and
    #: creates them again at the end, once, instead of maintaining them row by row
    deferred_indexes: ClassVar[tuple[str, ...]] = ()

    def apply(self, db: sqlite3.Connection, rec: Recorded) -> None:
        raise NotImplementedError
