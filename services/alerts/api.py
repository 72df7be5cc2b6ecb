"""Alerts' routes: parse, authorise, call the service, shape the response."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from pydantic import AwareDatetime

from services.alerts import configuration, service
from services.alerts.schemas import (
    Acknowledge,
    AlertFilter,
    AlertRead,
    Assign,
    ChannelIn,
    ChannelRead,
    Resolve,
    RuleCreate,
    RuleRead,
    RuleUpdate,
    SilenceCreate,
    SilenceRead,
)
from shared.contract.types import Role
from shared.kit.app import Session
from shared.kit.auth import Authenticated, Principal, require
from shared.kit.http import IfMatch, set_etag, set_location
from shared.kit.idempotency import IdempotencyKey
from shared.kit.input import TEXT_DATETIME
from shared.kit.pagination import Page, Paging

Responder = Annotated[
    Principal, Depends(require(Role.SPECIALIST, Role.SUPERVISOR, Role.MANAGER, Role.TECH))
]
Operator = Annotated[Principal, Depends(require(Role.TECH, Role.ADMIN))]

router = APIRouter(tags=["alerts"])


def _now() -> datetime:
    return datetime.now(UTC)


@router.post("/rules", status_code=status.HTTP_201_CREATED, response_model=RuleRead)
async def create_rule(
    data: RuleCreate,
    session: Session,
    actor: Responder,
    request: Request,
    response: Response,
    key: IdempotencyKey = None,
) -> RuleRead:
    """A rule on a dictionary metric or on an event type (once per Idempotency-Key)."""
    rule = await configuration.create_rule_once(session, data, actor.subject, key)
    set_location(response, request, "update_rule", rule_id=rule.id)
    return rule


@router.get("/rules", response_model=Page[RuleRead])
async def list_rules(
    session: Session,
    _caller: Authenticated,
    paging: Paging,
    plan_id: Annotated[
        uuid.UUID | None, Query(description="this plan's rules and the global ones")
    ] = None,
) -> Page[RuleRead]:
    """Rules of a plan (with the global ones), or all, oldest first."""
    return paging.respond(await configuration.list_rules(session, plan_id, paging.window))


@router.patch("/rules/{rule_id}", response_model=RuleRead)
async def update_rule(
    rule_id: uuid.UUID,
    data: RuleUpdate,
    session: Session,
    _actor: Responder,
    response: Response,
    if_match: IfMatch = None,
) -> RuleRead:
    """Tune a rule."""
    rule = await configuration.update_rule(session, rule_id, data, if_match)
    set_etag(response, rule.row_version)
    return rule


@router.get("/alerts", response_model=Page[AlertRead])
async def list_alerts(
    session: Session,
    _caller: Authenticated,
    paging: Paging,
    plan_id: Annotated[uuid.UUID | None, Query(description="alerts of this plan")] = None,
    state: Annotated[str | None, Query(pattern="^(pending|firing|acknowledged|resolved)$")] = None,
    severity: Annotated[str | None, Query(pattern="^(info|warning|critical)$")] = None,
    since: Annotated[
        AwareDatetime | None, TEXT_DATETIME, Query(description="started at or after")
    ] = None,
    until: Annotated[
        AwareDatetime | None, TEXT_DATETIME, Query(description="started before")
    ] = None,
) -> Page[AlertRead]:
    """Alerts newest first with their evaluations and notifications."""
    where = AlertFilter(plan_id=plan_id, state=state, severity=severity, since=since, until=until)
    return paging.respond(await service.list_alerts(session, where, paging.window))


@router.get("/alerts/{alert_id}", response_model=AlertRead)
async def get_alert(
    alert_id: uuid.UUID, session: Session, _caller: Authenticated, response: Response
) -> AlertRead:
    """One alert and its history."""
    alert = await service.read(session, await service.get_alert(session, alert_id))
    set_etag(response, alert.row_version)
    return alert


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertRead)
async def acknowledge(
    alert_id: uuid.UUID,
    data: Acknowledge,
    session: Session,
    actor: Responder,
    if_match: IfMatch = None,
) -> AlertRead:
    """I'm on it: repeats and escalation stop."""
    return await service.acknowledge(session, alert_id, actor.subject, data.note, _now(), if_match)


@router.post("/alerts/{alert_id}/resolve", response_model=AlertRead)
async def resolve(
    alert_id: uuid.UUID, data: Resolve, session: Session, actor: Responder, if_match: IfMatch = None
) -> AlertRead:
    """Close an alert by hand, with the reason."""
    return await service.resolve(session, alert_id, actor.subject, data.reason, _now(), if_match)


@router.post("/alerts/{alert_id}/assign", response_model=AlertRead)
async def assign(
    alert_id: uuid.UUID, data: Assign, session: Session, _actor: Responder
) -> AlertRead:
    """Give the alert an owner."""
    return await service.assign(session, alert_id, data.assignee)


@router.post("/silences", status_code=status.HTTP_201_CREATED, response_model=SilenceRead)
async def create_silence(
    data: SilenceCreate,
    session: Session,
    actor: Responder,
    request: Request,
    response: Response,
    key: IdempotencyKey = None,
) -> SilenceRead:
    """Mute matching alerts' notifications for a window (once per Idempotency-Key)."""
    silence = await configuration.create_silence_once(session, data, actor.subject, key)
    set_location(response, request, "get_silence", silence_id=silence.id)
    return silence


@router.get("/silences/{silence_id}", response_model=SilenceRead)
async def get_silence(
    silence_id: uuid.UUID, session: Session, _caller: Authenticated
) -> SilenceRead:
    """One silence: what it mutes, and when."""
    return await configuration.get_silence(session, silence_id)


@router.post("/silences/{silence_id}/expire", response_model=SilenceRead)
async def expire_silence(silence_id: uuid.UUID, session: Session, _actor: Responder) -> SilenceRead:
    """End a silence now."""
    return await configuration.expire_silence(session, silence_id, _now())


@router.put("/channels/{channel_id}", response_model=ChannelRead)
async def put_channel(
    channel_id: Annotated[str, Path(pattern=r"^[a-z0-9_-]{1,50}$")],
    data: ChannelIn,
    session: Session,
    _op: Operator,
) -> ChannelRead:
    """Create or change a channel (a Standard Webhooks receiver, a WeCom, DingTalk or Feishu
    group robot, or email recipients), its language, grouping and business hours."""
    return await configuration.put_channel(session, channel_id, data)


@router.get("/channels", response_model=Page[ChannelRead])
async def list_channels(session: Session, _op: Operator, paging: Paging) -> Page[ChannelRead]:
    """The notification channels by id (secrets are never shown)."""
    return paging.respond(await configuration.list_channels(session, paging.window))
