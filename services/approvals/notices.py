"""Approvers hear where they are: a request enters their inbox, its SLA nears, it is escalated.

Notices are rows written in the same transaction as their cause (an outbox), one per request,
stage, reason and person; a job delivers them through the person's chosen channel with retries
and back-off, logging each attempt. Formats and signatures are shared with alerts
(shared/kit/notify).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from services.approvals.models import ApprovalRequest, Delegation, Notice, NoticePreference
from services.approvals.repository import ApprovalRepository
from services.approvals.schemas import NoticePreferenceIn, NoticePreferenceRead, NoticeRead
from shared.contract.types import Role
from shared.kit import notify
from shared.kit.auth import Principal
from shared.kit.errors import NotFound
from shared.kit.notify.targets import stored_secrets
from shared.kit.notify.texts import text
from shared.kit.pagination import Page, PageWindow, page_of
from shared.kit.secrets import secret_box
from shared.kit.settings import Settings

Reason = Literal["inbox", "sla_near", "escalated"]
MAX_ATTEMPTS = 8
# Replaced in tests by an httpx.MockTransport; None means the real network.
TRANSPORT: httpx.AsyncBaseTransport | None = None


async def set_preference(
    session: AsyncSession, actor: Principal, data: NoticePreferenceIn, now: datetime
) -> NoticePreferenceRead:
    """The caller's channel, told for the approver roles their token carries now."""
    repo = ApprovalRepository(session)
    fields: dict[str, Any] = {
        "roles": sorted(r.value for r in actor.roles if r is not Role.ADMIN),
        "kind": data.kind,
        "url": None if data.url is None else str(data.url),
        "email": data.email,
        "sealed_secret": secret_box().seal(data.secret or ""),
        "language": data.language,
        "updated_at": now,
    }
    row = await repo.notice_preference(actor.subject)
    if row is None:
        row = NoticePreference(person=actor.subject, **fields)
        await repo.add(row)
    else:
        for name, value in fields.items():
            setattr(row, name, value)
        await session.flush()
    return NoticePreferenceRead.model_validate(row)


async def preference(session: AsyncSession, person: str) -> NoticePreferenceRead:
    """A person's channel, or 404 when they chose none (they are then not notified)."""
    row = await ApprovalRepository(session).notice_preference(person)
    if row is None:
        raise NotFound(f"{person} has chosen no notice channel")
    return NoticePreferenceRead.model_validate(row)


async def notices_of(
    session: AsyncSession, request_id: uuid.UUID, window: PageWindow
) -> Page[NoticeRead]:
    """A page of what approvers were sent about a request, with the delivery log."""
    rows = await ApprovalRepository(session).notices_of(request_id, window)
    return page_of(rows, window, lambda n: (n.stage, n.reason, n.person), NoticeRead.model_validate)


def addressees(
    preferences: Iterable[NoticePreference],
    roles: Iterable[str],
    requester: str,
    delegations: Iterable[Delegation] = (),
) -> list[str]:
    """Who among those with a channel decides in ``roles``: holders of a role, and whoever
    stands in for one now (as the inbox counts them); never the requester themselves."""
    wanted = set(roles)
    standing_in = {d.delegate for d in delegations if wanted & set(d.roles)}
    return sorted(
        p.person
        for p in preferences
        if (wanted & set(p.roles) or p.person in standing_in) and p.person != requester
    )


async def queue(
    session: AsyncSession,
    request: ApprovalRequest,
    reason: Reason,
    roles: Sequence[str],
    now: datetime,
) -> int:
    """Write one notice per addressee of the request's open stage; returns how many are new."""
    repo = ApprovalRepository(session)
    stage = request.stages[request.current_stage]
    payload = {
        "request_id": str(request.id),
        "title": request.title,
        "kind": request.kind,
        "requester": request.requester,
        "amount": None if request.amount is None else str(request.amount),
        "currency": request.currency,
        "stage": stage["name"],
        "due_at": stage.get("due_at"),
    }
    queued = 0
    chosen, lent = await repo.notice_preferences(), await repo.delegations_at(now)
    for person in addressees(chosen, roles, request.requester, lent):
        queued += await repo.add_notice_once(
            {
                "id": uuid.uuid4(),
                "request_id": request.id,
                "stage": request.current_stage,
                "reason": reason,
                "person": person,
                "payload": payload,
                "status": "pending",
                "attempts": [],
                "next_attempt_at": now,
            }
        )
    return queued


async def stage_opened(session: AsyncSession, request: ApprovalRequest, now: datetime) -> None:
    """A stage became due: tell its deciders it waits in their inbox."""
    if request.status == "pending":
        await queue(session, request, "inbox", request.stages[request.current_stage]["roles"], now)


def compose(notice: Notice, language: str, settings: Settings) -> notify.Message:
    """The notice in the person's language."""
    data = notice.payload
    fields = [
        (text(language, "approval.request"), str(data["title"])),
        (text(language, "approval.stage"), str(data["stage"])),
        (text(language, "approval.requester"), str(data["requester"])),
    ]
    if data.get("amount") is not None:
        fields.append((text(language, "approval.amount"), f"{data['amount']} {data['currency']}"))
    if data.get("due_at"):
        fields.append((text(language, "approval.due_at"), str(data["due_at"])))
    return notify.Message(
        message_id=f"notice_{notice.id.hex}",
        title=text(language, f"approval.{notice.reason}", title=data["title"]),
        fields=fields,
        link=f"{settings.public_base_url.rstrip('/')}/approvals/requests/{data['request_id']}",
        link_text=text(language, "approval.open"),
        data={"reason": notice.reason, "person": notice.person, **data},
    )


def target(preference: NoticePreference) -> notify.Target:
    """The person's channel with its opened secret."""
    opened = secret_box().open(preference.sealed_secret)
    return notify.Target(
        kind=preference.kind,  # type: ignore[arg-type]  # the schema admits only known kinds
        address=preference.url or "",
        secrets=stored_secrets(opened),
        recipients=(preference.email,) if preference.email else (),
    )


async def deliver(session: AsyncSession, now: datetime, settings: Settings) -> None:
    """Send due notices; a failure is logged on the notice and retried with back-off."""
    repo = ApprovalRepository(session)
    due = await repo.due_notices(now)
    if not due:
        return
    async with httpx.AsyncClient(transport=TRANSPORT, timeout=5) as client:
        for notice in due:
            chosen = await repo.notice_preference(notice.person)
            if chosen is None:  # they withdrew their channel since
                notice.status = "cancelled"
                continue
            message = compose(notice, chosen.language or settings.company_language, settings)
            outcome = await notify.send(client, target(chosen), message, now, settings)
            _record_attempt(notice, now, outcome)
    await session.flush()


def _record_attempt(notice: Notice, now: datetime, outcome: notify.Outcome) -> None:
    notice.attempts = [*notice.attempts, {"at": now.isoformat(), "outcome": outcome.detail}]
    if outcome.delivered:
        notice.status, notice.sent_at = "sent", now
    elif len(notice.attempts) >= MAX_ATTEMPTS:
        notice.status = "failed"
    else:
        notice.next_attempt_at = now + timedelta(seconds=30 * 2 ** (len(notice.attempts) - 1))
