"""Routes for the ledger: allocations (分配), disbursements (支付), reversals (冲正)."""

from __future__ import annotations

from fastapi import Response

from services.funds.api.deps import Reader, Writer
from services.funds.api.schemas import (
    AllocationCreate,
    AllocationRead,
    DisbursementCreate,
    DisbursementRead,
    ReversalRead,
    ReverseRequest,
)
from services.funds.db.tables import Reversal
from services.funds.domain import ledger, projects, sources
from shared.web import TxDep, service_router

router = service_router("funds", tags=["funds: ledger 资金台账"])


@router.post("/allocations", status_code=201, response_model=AllocationRead,
             summary="资金分配到已审定项目 / allocate to an approved project")
async def allocate(body: AllocationCreate, tx: TxDep, principal: Writer,
                   response: Response) -> AllocationRead:
    source = await sources.get_source(tx, body.source_id)
    principal.ensure_visible(source.region_code, "资金来源")
    project = await projects.get_project(tx, body.project_id)
    principal.ensure_visible(project.region_code, "项目")
    principal.ensure_writable(project.region_code)
    allocation = await ledger.allocate(
        tx, source_id=body.source_id, project_id=body.project_id, amount_fen=body.amount,
        document_no=body.document_no, allocated_on=body.allocated_on)
    response.headers["Location"] = f"/api/v1/funds/allocations/{allocation.id}"
    return AllocationRead(**allocation.model_dump(), amount=allocation.amount_fen,
                          disbursed=0, available=allocation.amount_fen)


@router.get("/allocations/{allocation_id}", response_model=AllocationRead,
            summary="查询资金分配 / read an allocation")
async def get_allocation(allocation_id: str, tx: TxDep, principal: Reader) -> AllocationRead:
    allocation = await ledger.get_allocation(tx, allocation_id)
    principal.ensure_visible(allocation.region_code, "资金分配")
    paid = await ledger.disbursed_fen(tx, allocation.id)
    return AllocationRead(**allocation.model_dump(), amount=allocation.amount_fen,
                          disbursed=paid, available=allocation.amount_fen - paid)


@router.post("/disbursements", status_code=201, response_model=DisbursementRead,
             summary="资金支付 / pay out of an allocation")
async def disburse(body: DisbursementCreate, tx: TxDep, principal: Writer,
                   response: Response) -> DisbursementRead:
    allocation = await ledger.get_allocation(tx, body.allocation_id)
    principal.ensure_visible(allocation.region_code, "资金分配")
    principal.ensure_writable(allocation.region_code)
    entry = await ledger.disburse(
        tx, allocation_id=body.allocation_id, amount_fen=body.amount, payee=body.payee,
        paid_on=body.paid_on, voucher_no=body.voucher_no, household_id=body.household_id)
    response.headers["Location"] = f"/api/v1/funds/disbursements/{entry.id}"
    return DisbursementRead(**entry.model_dump(), amount=entry.amount_fen)


@router.get("/disbursements/{disbursement_id}", response_model=DisbursementRead,
            summary="查询支付记录 / read a disbursement")
async def get_disbursement(disbursement_id: str, tx: TxDep,
                           principal: Reader) -> DisbursementRead:
    entry = await ledger.get_disbursement(tx, disbursement_id)
    principal.ensure_visible(entry.region_code, "支付记录")
    reversed_ = await ledger.reversal_of(tx, entry.id) is not None
    return DisbursementRead(**entry.model_dump(), amount=entry.amount_fen, reversed=reversed_)


@router.post("/disbursements/{disbursement_id}/reverse", status_code=201,
             response_model=ReversalRead, summary="冲正 / reverse a disbursement")
async def reverse(disbursement_id: str, body: ReverseRequest, tx: TxDep,
                  principal: Writer) -> ReversalRead:
    entry = await ledger.get_disbursement(tx, disbursement_id)
    principal.ensure_visible(entry.region_code, "支付记录")
    principal.ensure_writable(entry.region_code)
    reversal: Reversal = await ledger.reverse(tx, disbursement_id=disbursement_id,
                                              reason=body.reason)
    return ReversalRead(**reversal.model_dump(), amount=reversal.amount_fen)
