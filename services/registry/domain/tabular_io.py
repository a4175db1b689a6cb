"""Reading and writing the household spreadsheet as a stream: CSV (UTF-8 with or without BOM,
or GB18030 as Excel in China writes it) and XLSX (openpyxl in read-only / write-only mode)."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from services.registry.domain.tabular import COLUMNS, HEADERS, clean, map_headers
from shared.errors import Unprocessable

CHUNK = 1 << 20
HEADER_SEARCH_ROWS = 10
# Magic numbers of files people upload by mistake instead of a spreadsheet.
_FOREIGN = (b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"\xd0\xcf\x11\xe0", b"Rar!",
            b"\x1f\x8b", b"7z\xbc\xaf", b"BM")
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


@dataclass
class Table:
    """An open spreadsheet: its header row and a stream of (row number, cells) records."""

    kind: str  # "csv" | "xlsx"
    encoding: str | None
    header_row: int
    positions: dict[str, int]  # column key -> cell position
    headers: dict[str, str]  # column key -> the header text as written in the file
    records: Iterator[tuple[int, list[str]]]

    def close(self) -> None:
        close = getattr(self.records, "close", None)
        if close is not None:
            close()


def unsupported(detail: str = "") -> Unprocessable:
    return Unprocessable("unsupported_file",
                         "文件不是 CSV 或 XLSX 表格 (not a CSV or XLSX spreadsheet)" + detail,
                         field="file")


def bad_encoding() -> Unprocessable:
    return Unprocessable("bad_encoding",
                         "CSV 文件编码无法识别，请另存为 UTF-8 或 GB18030 "
                         "(CSV is neither UTF-8 nor GB18030)", field="file")


def open_table(stream: IO[bytes]) -> Table:
    """Sniff the file type and encoding, find the header row; raise 422 problems."""
    head = stream.read(8192)
    stream.seek(0)
    if not head.strip():
        raise Unprocessable("empty_file", "文件为空 (the file is empty)", field="file")
    if head.startswith(b"PK\x03\x04"):
        return _open_xlsx(stream)
    if head.startswith(_FOREIGN):
        raise unsupported()
    if head.startswith(_UTF16_BOMS):
        raise bad_encoding()
    if b"\x00" in head:
        raise unsupported()
    return _open_csv(stream, detect_encoding(stream))


def detect_encoding(stream: IO[bytes]) -> str:
    """UTF-8 (BOM or not) if the whole file decodes strictly, else GB18030, else 422."""
    bom = stream.read(3) == codecs.BOM_UTF8
    stream.seek(0)
    for encoding in ("utf-8-sig" if bom else "utf-8", "gb18030"):
        if _decodes(stream, encoding):
            return encoding
    raise bad_encoding()


def _decodes(stream: IO[bytes], encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        while chunk := stream.read(CHUNK):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
        return True
    except UnicodeDecodeError:
        return False
    finally:
        stream.seek(0)


def _open_csv(stream: IO[bytes], encoding: str) -> Table:
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    reader = csv.reader(text)

    def records() -> Iterator[tuple[int, list[str]]]:
        # Numbered as a spreadsheet shows the records, not by physical lines.
        try:
            yield from enumerate(reader, start=1)
        except csv.Error:
            raise unsupported("：CSV 格式错误 (malformed CSV)") from None
        finally:
            text.detach()

    return _with_header("csv", encoding, records())


def _open_xlsx(stream: IO[bytes]) -> Table:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError):
        raise unsupported() from None
    sheet = workbook.worksheets[0] if workbook.worksheets else None
    if sheet is None:
        workbook.close()
        raise unsupported()

    def records() -> Iterator[tuple[int, list[str]]]:
        try:
            for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield number, [_cell_text(v) for v in row]
        finally:
            workbook.close()

    return _with_header("xlsx", None, records())


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return str(value)


def _with_header(kind: str, encoding: str | None,
                 records: Iterator[tuple[int, list[str]]]) -> Table:
    """The header is the first row (of the first few) naming the household-number column."""
    for number, cells in records:
        positions = map_headers(cells)
        if "household_no" in positions:
            missing = [c for c in COLUMNS if c.required and c.key not in positions]
            if missing:
                raise Unprocessable(
                    "missing_column", f"缺少必填列：{'、'.join(c.header for c in missing)} "
                    "(required columns missing)", field=missing[0].header)
            headers = {key: clean(cells[pos]) for key, pos in positions.items()}
            return Table(kind, encoding, number, positions, headers, records)
        if number >= HEADER_SEARCH_ROWS:
            break
    raise Unprocessable("missing_column", "未找到表头：须包含“户编号”等列 "
                        "(no header row with 户编号 / household_no found)", field="户编号")


def csv_bytes(rows: Iterable[list[str]], *, header: bool = False) -> bytes:
    """Rows as CSV text in UTF-8; with `header`, a BOM (so Excel opens it) and the headers."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if header:
        writer.writerow(HEADERS)
    writer.writerows(rows)
    return (codecs.BOM_UTF8 if header else b"") + buffer.getvalue().encode()
