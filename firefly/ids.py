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
_PAIRS = [a + b for a in _CROCKFORD for b in _CROCKFORD]  # 10 bits -> 2 characters
_lock = threading.Lock()
_last_ms = -1
_last_rand = 0


def _encode_ulid(value: int) -> str:
    """26 Crockford base32 characters of a 128-bit ULID (48-bit ms time, 80 random bits)."""
    p = _PAIRS
    return (
        p[value >> 120] + p[value >> 110 & 1023] + p[value >> 100 & 1023] + p[value >> 90 & 1023]
        + p[value >> 80 & 1023] + p[value >> 70 & 1023] + p[value >> 60 & 1023] + p[value >> 50 & 1023]
        + p[value >> 40 & 1023] + p[value >> 30 & 1023] + p[value >> 20 & 1023] + p[value >> 10 & 1023]
        + p[value & 1023]
    )


def _reserve(count: int) -> tuple[int, int]:
    """The time and the first of ``count`` consecutive random parts (monotonic per process)."""
    global _last_ms, _last_rand
    with _lock:
        now = time.time_ns() // 1_000_000
        if now <= _last_ms:
            now = _last_ms
            first = _last_rand + 1
        else:
            first = int.from_bytes(os.urandom(10), "big") >> 1  # room to increment
        if first + count > 1 << 80:  # (never in practice: 2**79 ids in one millisecond)
            raise RuntimeError("ULID random part exhausted within one millisecond")
        _last_ms, _last_rand = now, first + count - 1
        return now, first


def new_id() -> str:
    """A new ULID (monotonic: ids made in the same millisecond still sort in creation order)."""
    now, rand = _reserve(1)
    return _encode_ulid(now << 80 | rand)


def new_ids(count: int) -> list[str]:
    """``count`` new ULIDs in creation order, as :func:`new_id` would make them one by one
    (consecutive random parts within one millisecond), but encoded in bulk."""
    if count <= 0:
        return []
    now, rand = _reserve(count)
    low = rand & 0xFFFFF
    if low + count > 0x100000:  # the last 20 bits would carry: encode each id in full
        base = now << 80 | rand
        return [_encode_ulid(base + i) for i in range(count)]
    # only the last 4 characters (20 bits) differ between the ids
    prefix = _encode_ulid(now << 80 | rand)[:22]
    p = _PAIRS
    return [prefix + p[v >> 10] + p[v & 1023] for v in range(low, low + count)]


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
