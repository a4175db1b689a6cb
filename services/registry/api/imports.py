"""Routes for bulk import and export of households (批量导入导出)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import File, Query, Request, Response, UploadFile
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from services.registry.domain import imports
from services.registry.domain.enums import Attribute, Cause, HouseholdStatus
from services.registry.domain.tabular_export import (
    export_file_name,
    export_page,
    export_rows,
    template_xlsx,
)
from services.registry.domain.tabular_io import csv_bytes, open_table
from shared.auth import Principal, require
from shared.ids import new_id
from shared.service import ServiceRuntime
from shared.tx import Tx
from shared.web import TxDep, service_router

router = service_router("registry", tags=["registry: imports 批量导入"])
Reader = Annotated[Principal, require("registry:read")]
Writer = Annotated[Principal, require("registry:write")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ImportRowError(BaseModel):
    row: int
    code: str
    field: str | None
    detail: str


class ImportResult(BaseModel):
    imported: int
    rejected: int
    errors: list[ImportRowError]
    already_imported: int
    people: int
    rows: int
    mode: str
    import_id: str
    errors_truncated: bool


@contextlib.asynccontextmanager
async def batch_unit(runtime: ServiceRuntime, actor: str) -> AsyncIterator[Tx]:
    """Partial mode: each batch in a transaction of its own, committed when it succeeds."""
    async with runtime.sessionmaker() as session:
        tx = runtime.new_tx(session, actor=actor)
        yield tx
        await tx.flush()
        await session.commit()
    runtime.relay.wake()


@router.post(
    "/imports/households", response_model=ImportResult,
    responses={200: {"description": "nothing new (every household already imported)"},
               201: {"description": "households imported"},
               422: {"description": "strict mode with bad rows (problem+json, errors carry "
                                    "`row`), unsupported_file, bad_encoding, missing_column"}},
    summary="批量导入贫困户 / bulk import households from CSV or XLSX",
    description="One row per member; rows of a household are adjacent and share 户编号. "
                "`strict` (default) stores nothing if any row fails; `partial` commits every "
                "batch of 1,000 households and stores the good ones. Re-running a file skips "
                "households already imported from it (`already_imported`). See docs/imports.md.")
async def import_households(
    request: Request, tx: TxDep, principal: Writer, response: Response,
    file: Annotated[UploadFile, File(description="CSV (UTF-8 or GB18030) or XLSX")],
    mode: Annotated[Literal["strict", "partial"], Query()] = "strict",
) -> dict[str, Any]:
    table = open_table(file.file)
    name = file.filename or ""
    try:
        if mode == "strict":
            report = await imports.import_households(
                lambda: imports.shared_unit(tx), table=table, mode=mode, file_name=name,
                cipher=tx.cipher, scope=principal.region)
        else:
            runtime = request.app.state.services["registry"]
            report = await imports.import_households(
                lambda: batch_unit(runtime, principal.sub), table=table, mode=mode,
                file_name=name, cipher=runtime.cipher, scope=principal.region)
    finally:
        table.close()
    response.status_code = 201 if report.imported else 200
    return report.body()


@router.get("/imports/template.xlsx", response_class=Response,
            responses={200: {"content": {XLSX: {}}}},
            summary="下载导入模板 / download the import template")
async def import_template(principal: Reader) -> Response:
    return Response(template_xlsx(), media_type=XLSX, headers={
        "Content-Disposition": "attachment; filename=household-import-template.xlsx"})


@router.get("/exports/households", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}, XLSX: {}}}},
            summary="导出贫困户 / export a household search as CSV or XLSX",
            description="Same columns as the import. ID numbers are masked unless the caller "
                        "has pii:read; only households inside the caller's region.")
async def export_households(
    request: Request, tx: TxDep, principal: Reader,
    format: Annotated[Literal["csv", "xlsx"], Query()] = "csv",
    region: Annotated[str | None, Query(max_length=12)] = None,
    status: HouseholdStatus | None = None, cause: Cause | None = None,
    attribute: Attribute | None = None,
) -> StreamingResponse:
    scope = principal.narrow(region)
    reveal = principal.has("pii:read")
    filters = {"within": scope, "status": status and status.value,
               "cause": cause and cause.value, "attribute": attribute and attribute.value}
    tx.audit("household.export", "export", new_id(), region_code=scope or None,
             after={**filters, "format": format, "pii": reveal})
    runtime = request.app.state.services["registry"]
    pages = _pages(runtime, filters, reveal)
    headers = {"Content-Disposition": f"attachment; filename={export_file_name(format)}"}
    if format == "csv":
        return StreamingResponse(_csv(pages), media_type="text/csv; charset=utf-8",
                                 headers=headers)
    path = await _xlsx_file(pages)
    return StreamingResponse(_file_chunks(path), media_type=XLSX, headers=headers)


async def _pages(runtime: ServiceRuntime, filters: dict, reveal: bool
                 ) -> AsyncIterator[list[list[str]]]:
    """Pages read in short transactions of their own: the body streams after the request's
    transaction has ended."""
    after = None
    while True:
        async with runtime.sessionmaker() as session:
            tx = runtime.new_tx(session)
            page = await export_page(tx, **filters, after=after)
            rows = export_rows(tx, page, reveal=reveal)
            after = page[-1][0].id if page else None
            await session.rollback()
        if not page:
            return
        yield rows


async def _csv(pages: AsyncIterator[list[list[str]]]) -> AsyncIterator[bytes]:
    yield csv_bytes([], header=True)
    async for rows in pages:
        yield csv_bytes(rows)


async def _xlsx_file(pages: AsyncIterator[list[list[str]]]) -> str:
    """openpyxl's write-only mode keeps rows on disk; the finished file is then streamed."""
    from openpyxl import Workbook

    from services.registry.domain.tabular import HEADERS

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("贫困户成员")
    sheet.append(HEADERS)
    async for rows in pages:
        for row in rows:
            sheet.append(row)
    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    workbook.save(path)
    return path


async def _file_chunks(path: str) -> AsyncIterator[bytes]:
    try:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 16):
                yield chunk
    finally:
        os.unlink(path)
