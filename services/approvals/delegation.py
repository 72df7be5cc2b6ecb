"""Out-of-office windows: the delegate decides in the delegator's approver roles meanwhile."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.approvals import audit
from services.approvals.models import Delegation, idempotency
from services.approvals.repository import ApprovalRepository
from services.approvals.schemas import DelegationCreate, DelegationRead
from shared.contract.types import Role
from shared.kit.auth import Principal
from shared.kit.errors import NotFound, RuleViolated


async def delegate_once(
    session: AsyncSession,
    actor: Principal,
    data: DelegationCreate,
    key: str | None,
    now: datetime,
) -> DelegationRead:
    """Set an out-of-office window, once per Idempotency-Key."""
    return await idempotency.run(
        session,
        key=key,
        principal=actor.subject,
        scope="POST /approvals/delegations",
        request=data,
        produce=lambda: delegate(session, actor, data, now),
        model=DelegationRead,
    )


async def delegate(
    session: AsyncSession, actor: Principal, data: DelegationCreate, now: datetime
) -> DelegationRead:
    """Set an out-of-office window: the delegate decides in the caller's roles meanwhile."""
    if data.ends_at <= now:
        raise RuleViolated(
            f"the window ends at {data.ends_at.isoformat()}, which has passed "
            f"(now {now.isoformat()}); a delegation covers time still to come",
            field="ends_at",
            rule="delegation-window",
        )
    if data.delegate == actor.subject:
        raise RuleViolated("delegate to someone else", field="delegate", rule="self-delegation")
    # Admin is an operator's power, not an approver's: it is never lent.
    lent = sorted(r.value for r in actor.roles if r is not Role.ADMIN)
    if not lent:
        raise RuleViolated(
            "only approver roles can be delegated, and the caller holds none",
            field="delegate",
            rule="delegable-roles",
        )
    row = Delegation(
        delegator=actor.subject,
        delegate=data.delegate,
        roles=lent,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
    )
    await ApprovalRepository(session).add(row)
    await audit.append(
        session,
        request_id=None,
        actor=actor.subject,
        action="delegation.set",
        detail={"delegate": data.delegate, "from": data.starts_at, "to": data.ends_at},
    )
    return DelegationRead.model_validate(row)


async def get_delegation(
    session: AsyncSession, actor: Principal, delegation_id: uuid.UUID
) -> DelegationRead:
    """One delegation, shown to its delegator, its delegate and admins; 404 to anyone else."""
    row = await session.get(Delegation, delegation_id)
    if row is None or not (
        actor.subject in (row.delegator, row.delegate) or actor.has_any(frozenset({Role.ADMIN}))
    ):
        raise NotFound(f"there is no delegation {delegation_id} of yours")
    return DelegationRead.model_validate(row)
