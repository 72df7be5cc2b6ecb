"""Every query of the approvals service (the audit chain keeps its own in audit.py)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import array, insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.approvals.models import (
    ApprovalRequest,
    BudgetLine,
    Decision,
    Delegation,
    Notice,
    NoticePreference,
    Workflow,
)
from shared.kit.pagination import PageWindow, keyset


class ApprovalRepository:
    """Requests, decisions, delegations and workflows in one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: object) -> None:
        """Insert a row."""
        self.session.add(row)
        await self.session.flush()

    async def request(
        self, request_id: uuid.UUID, *, for_update: bool = False
    ) -> ApprovalRequest | None:
        """One request; ``for_update`` makes concurrent deciders queue behind each other."""
        query = select(ApprovalRequest).where(ApprovalRequest.id == request_id)
        if for_update:
            query = query.with_for_update()
        return (await self.session.scalars(query)).first()

    async def decisions(self, request_id: uuid.UUID) -> Sequence[Decision]:
        """A request's decisions in the order they were taken."""
        query = (
            select(Decision)
            .where(Decision.request_id == request_id)
            .order_by(Decision.decided_at, Decision.id)
        )
        return (await self.session.scalars(query)).all()

    async def list_page(
        self,
        *,
        after: uuid.UUID | None,
        limit: int,
        status: str | None,
        kind: str | None,
        plan_id: uuid.UUID | None,
        requester: str | None,
    ) -> Sequence[ApprovalRequest]:
        """Up to ``limit + 1`` requests by id after a cursor, filtered."""
        query = select(ApprovalRequest).order_by(ApprovalRequest.id).limit(limit + 1)
        if after is not None:
            query = query.where(ApprovalRequest.id > after)
        for column, value in (
            (ApprovalRequest.status, status),
            (ApprovalRequest.kind, kind),
            (ApprovalRequest.plan_id, plan_id),
            (ApprovalRequest.requester, requester),
        ):
            if value is not None:
                query = query.where(column == value)
        return (await self.session.scalars(query)).all()

    async def pending(self, *, lock: bool = False) -> Sequence[ApprovalRequest]:
        """Every pending request; ``lock`` skips rows another replica is working on."""
        query = (
            select(ApprovalRequest)
            .where(ApprovalRequest.status == "pending")
            .order_by(ApprovalRequest.created_at)
        )
        if lock:
            query = query.with_for_update(skip_locked=True)
        return (await self.session.scalars(query)).all()

    async def delegations_to(self, delegate: str, at: datetime) -> Sequence[Delegation]:
        """Delegations in force for ``delegate`` at a moment."""
        query = select(Delegation).where(
            Delegation.delegate == delegate, Delegation.starts_at <= at, Delegation.ends_at > at
        )
        return (await self.session.scalars(query)).all()

    async def delegations_at(self, at: datetime) -> Sequence[Delegation]:
        """Every delegation in force at a moment."""
        query = select(Delegation).where(Delegation.starts_at <= at, Delegation.ends_at > at)
        return (await self.session.scalars(query)).all()

    async def delegations_of(self, delegate: str, roles: Sequence[str]) -> Sequence[Delegation]:
        """Every delegation to ``delegate`` lending one of ``roles``, whatever its window."""
        query = (
            select(Delegation)
            .where(Delegation.delegate == delegate, Delegation.roles.has_any(array(list(roles))))
            .order_by(Delegation.starts_at)
        )
        return (await self.session.scalars(query)).all()

    async def workflow(self, key: str) -> Workflow | None:
        """The newest admin-edited version of a workflow, if any."""
        query = (
            select(Workflow).where(Workflow.key == key).order_by(Workflow.version.desc()).limit(1)
        )
        return (await self.session.scalars(query)).first()

    async def replace_budget_lines(self, plan_id: uuid.UUID, lines: Sequence[BudgetLine]) -> None:
        """A plan version's budget lines replace the previous version's."""
        await self.session.execute(delete(BudgetLine).where(BudgetLine.plan_id == plan_id))
        self.session.add_all(lines)
        await self.session.flush()

    async def budget_line(self, line_id: uuid.UUID) -> BudgetLine | None:
        """A known budget line, locked: filings against one line go one at a time."""
        return await self.session.get(BudgetLine, line_id, with_for_update=True)

    async def spoken_for(self, line_id: uuid.UUID) -> Decimal:
        """What expenses pending or approved already hold on a budget line."""
        query = select(func.coalesce(func.sum(ApprovalRequest.amount), 0)).where(
            ApprovalRequest.budget_line_id == line_id,
            ApprovalRequest.kind == "expense",
            ApprovalRequest.status.in_(("pending", "approved")),
        )
        return Decimal(await self.session.scalar(query) or 0)

    async def notice_preference(self, person: str) -> NoticePreference | None:
        """One person's notice channel."""
        return await self.session.get(NoticePreference, person)

    async def notice_preferences(self) -> Sequence[NoticePreference]:
        """Everyone who chose a notice channel (people, not rows of requests: a short list)."""
        return (await self.session.scalars(select(NoticePreference))).all()

    async def add_notice_once(self, values: dict[str, object]) -> bool:
        """Queue a notice unless its request, stage, reason and person already have one."""
        query = (
            insert(Notice)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["request_id", "stage", "reason", "person"])
            .returning(Notice.id)
        )
        return (await self.session.execute(query)).first() is not None

    async def due_notices(self, now: datetime) -> Sequence[Notice]:
        """Notices to send now; a replica running the same job skips the rows this one holds."""
        query = (
            select(Notice)
            .where(Notice.status == "pending", Notice.next_attempt_at <= now)
            .order_by(Notice.next_attempt_at)
            .limit(100)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.scalars(query)).all()

    async def notices_of(self, request_id: uuid.UUID, window: PageWindow) -> Sequence[Notice]:
        """Up to ``limit + 1`` of a request's notices after the cursor, by stage."""
        query = select(Notice).where(Notice.request_id == request_id)
        ordered = keyset(query, window, Notice.stage, Notice.reason, Notice.person)
        return (await self.session.scalars(ordered)).all()
