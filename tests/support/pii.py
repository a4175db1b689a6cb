"""The personal-data check: every ID number the tests sent is searched for in every
database dump, every event and every log line of the run. Finding one fails the run."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from shared.idnumber import is_valid_id_number

_CANDIDATE = re.compile(rb"(?<![0-9A-Za-z])[1-9]\d{16}[\dXx](?![0-9A-Za-z])")


@dataclass
class Ledger:
    used: set[str] = field(default_factory=set)
    leaks: list[str] = field(default_factory=list)
    databases: int = 0
    events: int = 0
    log_lines: int = 0

    def record_from(self, content: bytes) -> None:
        """Remember every valid ID number in a request the tests sent."""
        for match in _CANDIDATE.findall(content):
            number = match.decode().upper()
            if is_valid_id_number(number):
                self.used.add(number)

    def scan(self, content: bytes, where: str) -> None:
        found = {m.decode().upper() for m in _CANDIDATE.findall(content)} & self.used
        if b"\\x" in content:  # pg_dump writes bytea as hex: look for numbers hidden there
            lowered = content.lower()
            found |= {n for n in self.used if n.encode().hex().encode() in lowered}
        for number in sorted(found):
            self.leaks.append(f"{where}: {number[:6]}…{number[-4:]}")


LEDGER = Ledger()


class CapturingHandler(logging.Handler):
    """Keeps every formatted log line of the run for the final scan."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[bytes] = []

    def emit(self, record: logging.LogRecord) -> None:
        from shared.logs import JsonFormatter

        self.lines.append(JsonFormatter().format(record).encode())


async def record_request(request) -> None:
    """httpx request hook for the test clients."""
    LEDGER.record_from(await request.aread())
