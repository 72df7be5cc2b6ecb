"""Approvals' routes: parse, authorise, call the service, shape the response."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from services.approvals import admin, decisions, delegation, filing, listing, notices, service
from services.approvals.schemas import (
    AuditEntryRead,
    DecisionCreate,
    DelegationCreate,
    DelegationRead,
    NoticePreferenceIn,
    NoticePreferenceRead,
    NoticeRead,
    RequestCreate,
    RequestPage,
    RequestRead,
    RoutePreview,
    WorkflowRead,
)
from services.approvals.workflows import WorkflowDefinition
from shared.contract.events.approvals import RequestKind
from shared.contract.types import Role
from shared.kit.app import Session
from shared.kit.auth import Authenticated, Principal, require
from shared.kit.http import IfMatch, set_etag, set_location
from shared.kit.idempotency import IdempotencyKey
from shared.kit.pagination import Page, Paging

Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
Auditor = Annotated[Principal, Depends(require(Role.ADMIN, Role.FINANCE, Role.LEGAL, Role.TECH))]
WorkflowKey = Annotated[str, Path(pattern=r"^[a-z_]+(\.[a-z_]+)?$", max_length=60)]

router = APIRouter(tags=["approvals"])


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.post("/requests/preview", response_model=RoutePreview)
async def preview(data: RequestCreate, session: Session, _caller: Authenticated) -> RoutePreview:
    """The chain and policy results a request would get, computed by the real router."""
    return await filing.preview(session, data, service.utc_now())


@router.post("/requests", status_code=status.HTTP_201_CREATED, response_model=RequestRead)
async def file_request(
    data: RequestCreate,
    session: Session,
    actor: Authenticated,
    request: Request,
    response: Response,
    key: IdempotencyKey = None,
) -> RequestRead:
    """File an expense, contract or periodic-plan request; refused by a failing policy."""
    filed = await filing.file_request(
        session, data, actor, service.utc_now(), _client(request), key=key
    )
    set_etag(response, filed.row_version)
    set_location(response, request, "get_request", request_id=filed.id)
    return filed


@router.get("/requests", response_model=RequestPage)
async def list_requests(
    session: Session,
    _caller: Authenticated,
    paging: Paging,
    status: Annotated[str | None, Query(pattern="^(pending|approved|rejected|returned)$")] = None,
    kind: RequestKind | None = None,
    plan_id: Annotated[uuid.UUID | None, Query(description="requests about this plan")] = None,
    requester: Annotated[str | None, Query(max_length=100, description="who filed it")] = None,
) -> RequestPage:
    """Requests, filtered, in a stable order."""
    page = await listing.list_requests(
        session,
        cursor=paging.window.cursor,
        limit=paging.window.limit,
        status=status,
        kind=kind,
        plan_id=plan_id,
        requester=requester,
    )
    return paging.respond(page)


@router.get("/requests/{request_id}", response_model=RequestRead)
async def get_request(
    request_id: uuid.UUID, session: Session, _caller: Authenticated, response: Response
) -> RequestRead:
    """One request with its route and decisions; the ETag is its row version."""
    found = await service.get(session, request_id)
    set_etag(response, found.row_version)
    return found


@router.post("/requests/{request_id}/decisions", response_model=RequestRead)
async def decide(
    request_id: uuid.UUID,
    data: DecisionCreate,
    session: Session,
    actor: Authenticated,
    request: Request,
    response: Response,
    if_match: IfMatch = None,
) -> RequestRead:
    """Approve, reject, return or delegate the open stage named in the body."""
    decided = await decisions.decide(
        session,
        request_id,
        data,
        actor,
        service.utc_now(),
        if_match=if_match,
        client_address=_client(request),
    )
    set_etag(response, decided.row_version)
    return decided


@router.get("/requests/{request_id}/history", response_model=Page[AuditEntryRead])
async def history(
    request_id: uuid.UUID, session: Session, _caller: Authenticated, paging: Paging
) -> Page[AuditEntryRead]:
    """Every audit entry of one request, in order."""
    return paging.respond(await admin.history(session, request_id, paging.window))


@router.get("/inbox", response_model=Page[RequestRead])
async def inbox(session: Session, actor: Authenticated, paging: Paging) -> Page[RequestRead]:
    """Requests waiting for me (my roles, or roles I stand in for), soonest due first."""
    return paging.respond(await listing.inbox(session, actor, service.utc_now(), paging.window))


@router.post("/delegations", status_code=status.HTTP_201_CREATED, response_model=DelegationRead)
async def delegate(
    data: DelegationCreate,
    session: Session,
    actor: Authenticated,
    request: Request,
    response: Response,
    key: IdempotencyKey = None,
) -> DelegationRead:
    """Out of office: a delegate decides in my roles during the window (once per key)."""
    made = await delegation.delegate_once(session, actor, data, key, service.utc_now())
    set_location(response, request, "get_delegation", delegation_id=made.id)
    return made


@router.get("/delegations/{delegation_id}", response_model=DelegationRead)
async def get_delegation(
    delegation_id: uuid.UUID, session: Session, actor: Authenticated
) -> DelegationRead:
    """One delegation (its delegator's, its delegate's or, for admins, anyone's)."""
    return await delegation.get_delegation(session, actor, delegation_id)


@router.get("/workflows/{key}", response_model=WorkflowRead)
async def get_workflow(key: WorkflowKey, session: Session, _caller: Authenticated) -> WorkflowRead:
    """The workflow in force for a key (plan, adjustment, expense.venue …)."""
    return await admin.workflow(session, key)


@router.put("/workflows/{key}", response_model=WorkflowRead)
async def put_workflow(
    key: WorkflowKey, definition: WorkflowDefinition, session: Session, actor: Admin
) -> WorkflowRead:
    """Save a new version of a workflow (open requests keep their route)."""
    return await admin.set_workflow(session, key, definition, actor)


@router.get("/audit/verify", response_model=admin.ChainVerification)
async def verify_audit(session: Session, _caller: Auditor) -> admin.ChainVerification:
    """Recompute the hash chain and report the first broken entry, if any."""
    return await admin.verify(session)


@router.get("/audit/export", response_model=Page[AuditEntryRead])
async def export_audit(session: Session, _caller: Auditor, paging: Paging) -> Page[AuditEntryRead]:
    """The whole trail in chain order with the hashes, page by page (follow ``Link``)."""
    return paging.respond(await admin.export(session, paging.window))


@router.put("/notice-preferences/me", response_model=NoticePreferenceRead)
async def set_notice_preference(
    data: NoticePreferenceIn, session: Session, actor: Authenticated
) -> NoticePreferenceRead:
    """Choose where you hear that a request waits for you, nears its SLA or is escalated to you
    (for the approver roles your token carries now: set it again when they change)."""
    return await notices.set_preference(session, actor, data, service.utc_now())


@router.get("/notice-preferences/me", response_model=NoticePreferenceRead)
async def get_notice_preference(session: Session, actor: Authenticated) -> NoticePreferenceRead:
    """Your notice channel; 404 when you chose none (you are then not notified)."""
    return await notices.preference(session, actor.subject)


@router.get("/requests/{request_id}/notices", response_model=Page[NoticeRead])
async def request_notices(
    request_id: uuid.UUID, session: Session, _auditor: Auditor, paging: Paging
) -> Page[NoticeRead]:
    """Who was told about a request, why, and each delivery attempt, by stage."""
    return paging.respond(await notices.notices_of(session, request_id, paging.window))
