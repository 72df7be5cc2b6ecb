"""Deciding a stage: one decision wins, duties stay separate, the request moves on or closes."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.approvals import audit, notices, rules, service
from services.approvals.models import ApprovalRequest, Decision, Delegation
from services.approvals.repository import ApprovalRepository
from services.approvals.schemas import DecisionCreate, RequestRead
from services.approvals.service import RequestClosed, RequestNotFound, StageAlreadyDecided
from services.approvals.workflows import stage_outcome
from shared.contract.events.approvals import ApprovalStepDecidedV1
from shared.contract.types import Role
from shared.kit.auth import Principal
from shared.kit.errors import Forbidden
from shared.kit.http import check_version


async def decide(
    session: AsyncSession,
    request_id: uuid.UUID,
    data: DecisionCreate,
    actor: Principal,
    now: datetime,
    *,
    if_match: str | None = None,
    client_address: str | None = None,
) -> RequestRead:
    """Record one decision; exactly one of several racing deciders of a stage wins."""
    repo = ApprovalRepository(session)
    request = await repo.request(request_id, for_update=True)
    if request is None:
        raise RequestNotFound(f"no approval request {request_id}")
    check_version(request.row_version, if_match)
    if request.status != "pending":
        raise RequestClosed(f"the request is already {request.status}", rule="open-request")
    if data.stage != request.current_stage:
        raise StageAlreadyDecided(
            f"stage {data.stage} is no longer open; "
            f"the request is at stage {request.current_stage}",
            rule="current-stage",
            field="stage",
        )
    stage = request.stages[request.current_stage]
    decisions = await repo.decisions(request.id)
    refused = rules.separation_of_duties(
        actor.subject, request.requester, [(d.decided_by, d.stage) for d in decisions], data.stage
    )
    if refused is not None:
        raise Forbidden(refused, rule="separation-of-duties")
    if any(d.decided_by == actor.subject and d.stage == data.stage for d in decisions):
        raise StageAlreadyDecided("you already decided this stage", rule="one-decision-each")
    taken = {d.role for d in decisions if d.stage == data.stage and d.decision == "approve"}
    allowed = await service.roles_for(session, actor, now)
    if Role.ADMIN.value in allowed:
        allowed.update(dict.fromkeys(stage["roles"] + stage.get("escalated_to", [])))
    eligible = [r for r in stage["roles"] + stage.get("escalated_to", []) if r in allowed]
    role = next((r for r in eligible if r not in taken), eligible[0] if eligible else None)
    if role is None:
        await _refuse_outside_window(repo, actor, stage, now)
        raise Forbidden(
            f"stage {stage['name']!r} is decided by {', '.join(stage['roles'])}",
            rule="stage-role",
        )
    decision = Decision(
        request_id=request.id,
        stage=data.stage,
        decided_by=actor.subject,
        acting_for=allowed.get(role),
        role=role,
        decision=data.decision,
        comment=data.comment,
        decided_at=now,
    )
    await repo.add(decision)
    request.row_version += 1
    await audit.append(
        session,
        request_id=request.id,
        actor=actor.subject,
        action=f"decision.{data.decision}",
        detail={
            "stage": data.stage,
            "role": role,
            "acting_for": decision.acting_for,
            "comment": data.comment,
            "delegate_to": data.delegate_to,
        },
        client_address=client_address,
    )
    decided = [*decisions, decision]
    # The request row changes twice here (its version, then its stage and status): it is
    # written once, at commit, not flushed before each statement that follows a change.
    with session.no_autoflush:
        await service.publish_outcome(
            session,
            request,
            ApprovalStepDecidedV1,
            stage=stage["name"],
            decision=data.decision,
            decided_by=actor.subject,
            comment=data.comment,
        )
        await _advance(session, request, data, actor, role, decided, now)
    # Every decision of the request is in hand (the request row is locked): no second read.
    return await service.read(session, request, decisions=decided)


async def _refuse_outside_window(
    repo: ApprovalRepository, actor: Principal, stage: dict[str, Any], now: datetime
) -> None:
    """A delegate whose delegation for this stage's roles is not in force now is told its
    window, not only the stage's roles."""
    roles = stage["roles"] + stage.get("escalated_to", [])
    delegations = await repo.delegations_of(actor.subject, roles)
    if not delegations:
        return
    windows = "; ".join(
        f"for {d.delegator} from {d.starts_at.isoformat()} to {d.ends_at.isoformat()}"
        for d in delegations
    )
    raise Forbidden(
        f"stage {stage['name']!r} is decided by {', '.join(stage['roles'])}; your delegation "
        f"is in force only within its window ({windows}), and it is now {now.isoformat()}",
        rule="delegation-window",
    )


async def _advance(
    session: AsyncSession,
    request: ApprovalRequest,
    data: DecisionCreate,
    actor: Principal,
    role: str,
    decisions: list[Decision],
    now: datetime,
) -> None:
    if data.decision == "delegate":
        assert data.delegate_to is not None  # noqa: S101 — the schema requires it
        await ApprovalRepository(session).add(
            Delegation(
                delegator=actor.subject,
                delegate=data.delegate_to,
                roles=[role],
                starts_at=now,
                ends_at=now + timedelta(days=30),
            )
        )
        return
    if data.decision == "return":
        await service.close_request(
            session,
            request,
            approved=False,
            by=actor.subject,
            reason=data.comment,
            now=now,
            returned=True,
        )
        return
    stage = request.stages[request.current_stage]
    outcome = stage_outcome(
        stage["mode"],
        stage["roles"],
        stage["quorum"],
        [(d.role, d.decision) for d in decisions if d.stage == data.stage],
    )
    if outcome == "open":
        return
    stages = [dict(s) for s in request.stages]
    stages[request.current_stage]["status"] = outcome
    request.stages = stages
    if outcome == "rejected":
        await service.close_request(
            session, request, approved=False, by=actor.subject, reason=data.comment, now=now
        )
        return
    service.start_next_stage(request, now)
    await notices.stage_opened(session, request, now)
    if request.status == "approved":
        await service.close_request(
            session, request, approved=True, by=actor.subject, reason=None, now=now
        )
