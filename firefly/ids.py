"""Identifiers, canonical JSON and content hashes.

* :func:`new_id` gives ULIDs: 26 characters, lexicographically sortable by creation time,
  monotonic within a process, unique across processes (80 random bits), so logs written by
  separate workers can be merged.
* :func:`canonical_json` is the one serialisation used for anything that serves as a key:
  sorted keys, compact separators, UTF-8, integral floats written as integers (``1.0 == 1``).
* :func:`content_hash` prefixes the algorithm (``sha256:...``) so hashes stay self-describing.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from datetime import datetime, timezone
from typing import Any

import msgspec

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_lock = threading.Lock()
_last_ms = -1
_last_rand = 0


def _encode_base32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_id() -> str:
    """A new ULID (monotonic: ids made in the same millisecond still sort in creation order)."""
    global _last_ms, _last_rand
    with _lock:
        now = time.time_ns() // 1_000_000
        if now <= _last_ms:
            now = _last_ms
            _last_rand += 1
        else:
            _last_rand = int.from_bytes(os.urandom(10), "big") >> 1  # room to increment
        _last_ms = now
        return _encode_base32(now, 10) + _encode_base32(_last_rand & ((1 << 80) - 1), 16)


def utc_now() -> str:
    """The current UTC time as ISO 8601 with microseconds and a ``Z`` suffix."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _normalise(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {str(k): _normalise(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normalise(v) for v in value]
    return value


_canonical_encoder = msgspec.json.Encoder(order="sorted")


def canonical_json(value: Any) -> str:
    """Canonical JSON text: sorted keys, no whitespace, integral floats as integers."""
    return _canonical_encoder.encode(_normalise(value)).decode()


def content_hash(value: Any) -> str:
    """``sha256:<hex>`` of the canonical JSON of ``value`` (or of ``value`` itself if bytes/str)."""
    if isinstance(value, bytes):
        data = value
    elif isinstance(value, str):
        data = value.encode()
    else:
        data = canonical_json(value).encode()
    return "sha256:" + hashlib.sha256(data).hexdigest()


def short_hash(value: Any, length: int = 16) -> str:
    """The first ``length`` hex digits of :func:`content_hash` (for readable keys)."""
    return content_hash(value).split(":", 1)[1][:length]
