"""Time-ordered identifiers, so ids sort by creation and serve as pagination cursors."""

from __future__ import annotations

import os
import time
import uuid

_last_ms = 0
_counter = 0


def new_id() -> str:
    """A UUIDv7-style id: 48-bit millisecond time, then random bits; monotonic within a process."""
    global _last_ms, _counter
    ms = time.time_ns() // 1_000_000
    if ms <= _last_ms:
        ms = _last_ms
        _counter += 1
    else:
        _counter = 0
    _last_ms = ms
    rand = int.from_bytes(os.urandom(8), "big")
    value = (ms << 80) | (0x7 << 76) | ((_counter & 0xFFF) << 64) | (0b10 << 62) | (rand >> 2)
    return str(uuid.UUID(int=value))
