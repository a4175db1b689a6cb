"""The append-only ledger: allocations (分配), disbursements (支付) and reversals (冲正).

Invariants, kept under concurrency by locking before summing:
- a source is never over-allocated: the source row is locked (SELECT ... FOR UPDATE) and
  its allocations summed before a new one is added;
- an allocation is never over-disbursed: the allocation row is locked and its
  non-reversed disbursements summed before a new one is added.
On SQLite every write transaction starts with BEGIN IMMEDIATE, which serialises writers."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from services.funds.db.tables import Allocation, AllocationBalance, Disbursement, Reversal
from services.funds.domain import projects, sources
from services.funds.domain.enums import ProjectStatus
from services.funds.domain.projection import check_households
from shared.errors import NotFound, Unprocessable
from shared.events.funds import AllocationMade, DisbursementMade, DisbursementReversed
from shared.ids import new_id
from shared.money import format_yuan as yuan_text
from shared.regions import within
from shared.tx import Tx


async def allocate(tx: Tx, *, source_id: str, project_id: str, amount_fen: int,
                   document_no: str, allocated_on: dt.date) -> Allocation:
    """Allocate part of a source to an approved project of a permitted category."""
    _positive(amount_fen)
    source = await sources.get_source(tx, source_id, lock=True)
    project = await projects.get_project(tx, project_id)
    if project.status != ProjectStatus.approved:
        raise Unprocessable("project_not_approved", "项目尚未审定 (project not approved)",
                            field="project_id")
    if not within(project.region_code, source.region_code):
        raise Unprocessable("region_mismatch",
                            "项目不在资金来源所属区域内 (project outside the source's region)",
                            field="project_id")
    if project.category not in source.permitted_categories:
        raise Unprocessable("category_not_permitted",
                            f"该资金不得用于 {project.category} 类项目 (专款专用: category not "
                            "permitted)", field="project_id")
    available = source.amount_fen - await sources.allocated_fen(tx, source.id)
    if amount_fen > available:
        raise Unprocessable("insufficient_funds",
                            f"资金来源可分配余额不足，余额 {yuan_text(available)} 元 "
                            "(insufficient unallocated funds)", field="amount")
    allocation = Allocation(id=new_id(), source_id=source.id, project_id=project.id,
                            region_code=project.region_code, amount_fen=amount_fen,
                            document_no=document_no, allocated_on=allocated_on,
                            created_by=tx.actor)
    tx.session.add(allocation)
    tx.session.add(AllocationBalance(allocation_id=allocation.id))
    await tx.session.flush()
    tx.emit(AllocationMade(allocation_id=allocation.id, source_id=source.id,
                           project_id=project.id, region_code=project.region_code,
                           amount_fen=amount_fen, allocated_on=allocated_on),
            subject=allocation.id, region_code=project.region_code)
    tx.audit("allocation.make", "allocation", allocation.id, region_code=project.region_code,
             after=allocation.model_dump(mode="json"))
    return allocation


async def disburse(tx: Tx, *, allocation_id: str, amount_fen: int, payee: str,
                   paid_on: dt.date, voucher_no: str,
                   household_id: str | None = None) -> Disbursement:
    """Pay out of an allocation, never beyond what remains of it."""
    _positive(amount_fen)
    allocation = await get_allocation(tx, allocation_id, lock=True)
    if household_id is not None:
        await check_households(tx, [household_id], region_code=allocation.region_code,
                               field="household_id")
    remaining = allocation.amount_fen - await disbursed_fen(tx, allocation.id)
    if amount_fen > remaining:
        raise Unprocessable("exceeds_allocation",
                            f"超出分配额度，剩余 {yuan_text(remaining)} 元 "
                            "(exceeds what remains of the allocation)", field="amount")
    entry = Disbursement(id=new_id(), allocation_id=allocation.id,
                         project_id=allocation.project_id, region_code=allocation.region_code,
                         amount_fen=amount_fen, payee=payee, paid_on=paid_on,
                         voucher_no=voucher_no, household_id=household_id, created_by=tx.actor)
    tx.session.add(entry)
    await tx.session.flush()
    await _move_balance(tx, allocation.id, amount_fen)
    tx.emit(DisbursementMade(disbursement_id=entry.id, allocation_id=allocation.id,
                             project_id=allocation.project_id,
                             region_code=allocation.region_code, amount_fen=amount_fen,
                             paid_on=paid_on, household_id=household_id),
            subject=allocation.id, region_code=allocation.region_code)
    tx.audit("disbursement.make", "disbursement", entry.id, region_code=allocation.region_code,
             after=_entry_snapshot(entry))
    return entry


async def reverse(tx: Tx, *, disbursement_id: str, reason: str) -> Reversal:
    """冲正: a new entry that undoes a disbursement; a disbursement is reversed at most once."""
    entry = await get_disbursement(tx, disbursement_id)
    await get_allocation(tx, entry.allocation_id, lock=True)
    taken = await tx.session.scalar(
        sa.select(Reversal.id).where(Reversal.disbursement_id == entry.id))
    if taken is not None:
        raise Unprocessable("already_reversed", "该笔支付已冲正 (disbursement already reversed)",
                            field="disbursement_id")
    reversal = Reversal(id=new_id(), disbursement_id=entry.id,
                        allocation_id=entry.allocation_id, amount_fen=entry.amount_fen,
                        reason=reason, created_by=tx.actor)
    tx.session.add(reversal)
    await tx.session.flush()
    await _move_balance(tx, entry.allocation_id, -entry.amount_fen)
    tx.emit(DisbursementReversed(disbursement_id=entry.id, reversal_id=reversal.id,
                                 allocation_id=entry.allocation_id,
                                 region_code=entry.region_code, amount_fen=entry.amount_fen),
            subject=entry.allocation_id, region_code=entry.region_code)
    tx.audit("disbursement.reverse", "disbursement", entry.id, region_code=entry.region_code,
             after={"reversal_id": reversal.id, "reason": reason,
                    "amount_fen": entry.amount_fen})
    return reversal


async def disbursed_fen(tx: Tx, allocation_id: str) -> int:
    """Non-reversed disbursements of an allocation, summed from the ledger itself."""
    paid = await tx.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Disbursement.amount_fen), 0))
        .where(Disbursement.allocation_id == allocation_id))
    undone = await tx.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Reversal.amount_fen), 0))
        .where(Reversal.allocation_id == allocation_id))
    return int(paid or 0) - int(undone or 0)


async def get_allocation(tx: Tx, allocation_id: str, *, lock: bool = False) -> Allocation:
    allocation = await tx.session.get(Allocation, allocation_id, with_for_update=lock,
                                      populate_existing=lock)
    if allocation is None:
        raise NotFound("资金分配")
    return allocation


async def get_disbursement(tx: Tx, disbursement_id: str) -> Disbursement:
    entry = await tx.session.get(Disbursement, disbursement_id)
    if entry is None:
        raise NotFound("支付记录")
    return entry


async def reversal_of(tx: Tx, disbursement_id: str) -> Reversal | None:
    return (await tx.session.execute(sa.select(Reversal).where(
        Reversal.disbursement_id == disbursement_id))).scalar_one_or_none()


async def _move_balance(tx: Tx, allocation_id: str, delta: int) -> None:
    t = AllocationBalance.__table__
    await tx.session.execute(t.update().where(t.c.allocation_id == allocation_id).values(
        disbursed_fen=t.c.disbursed_fen + delta, entries=t.c.entries + 1))


def _positive(amount_fen: int) -> None:
    if amount_fen <= 0:
        raise Unprocessable("invalid_amount", "金额必须大于零 (amount must be positive)",
                            field="amount")


def _entry_snapshot(entry: Disbursement) -> dict:
    data = entry.model_dump(mode="json")
    data.pop("payee", None)  # may be a person's name: kept in the ledger, not in the audit
    return data
