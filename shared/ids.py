"""Time-ordered identifiers, so ids sort by creation and serve as pagination cursors."""

from __future__ import annotations

import os
import time

_last_ms = 0
_counter = 0


def new_id() -> str:
    """A UUIDv7-style id: 48-bit millisecond time, a 12-bit counter, then random bits;
    monotonic within a process."""
    return new_ids(1)[0]


_VARIANT = bytes((b & 0x3F) | 0x80 for b in range(256))  # a byte's top bits set to 0b10


def new_ids(count: int) -> list[str]:
    """`count` ids in creation order, as `new_id` called `count` times in a row would give them
    (one clock reading and one call for the random bits: for bulk writes, where `new_id` per
    row costs more than the row). When the 12-bit counter of a millisecond is used up, the
    ids continue in the next millisecond, so they stay ordered."""
    global _last_ms, _counter
    if count <= 0:
        return []
    ms = time.time_ns() // 1_000_000
    if ms <= _last_ms:
        ms, first = _last_ms, _counter + 1
    else:
        first = 0
    rand = bytearray(os.urandom(8 * count))
    rand[::8] = rand[::8].translate(_VARIANT)
    tails = rand.hex()
    out: list[str] = []
    while True:
        if first > 0xFFF:
            ms, first = ms + 1, 0
        take = min(count - len(out), 0x1000 - first)
        stamp = f"{ms:012x}"
        head = f"{stamp[:8]}-{stamp[8:]}-7"
        at = 16 * len(out)
        out.extend(f"{head}{first + i:03x}-{tails[at + 16 * i:at + 16 * i + 4]}-"
                   f"{tails[at + 16 * i + 4:at + 16 * i + 16]}" for i in range(take))
        if len(out) == count:
            _last_ms, _counter = ms, first + take - 1
            return out
        first += take
