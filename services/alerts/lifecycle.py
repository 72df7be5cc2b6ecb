"""Alert lifecycle: observe, fire, acknowledge, resolve; notifications are queued, not sent here."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession

from services.alerts import SERVICE, evaluation, rules, windows
from services.alerts.models import Alert, Channel, Evaluation, Notification, Rule, bus
from services.alerts.repository import AlertRepository
from services.alerts.windows import BusinessHours
from shared.contract.events.alerts import (
    AlertAcknowledgedV1,
    AlertRaisedV1,
    AlertResolvedV1,
    FollowUpTask,
)
from shared.contract.types import Severity
from shared.kit.bus.outbox import Outbox

outbox = Outbox(bus.outbox, source=SERVICE)


def fingerprint(
    rule: Rule,
    plan_id: uuid.UUID | None,
    objective_id: uuid.UUID | None,
    channel_id: uuid.UUID | None,
) -> str:
    """One alert per rule and subject."""
    key = f"{rule.id}|{plan_id}|{objective_id}|{channel_id}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def labels_of(rule: Rule, alert: Alert) -> dict[str, str]:
    """What silences match on: the rule's labels plus where the alert is."""
    found = {"rule": rule.name, "severity": alert.severity, **rule.labels}
    for name, value in (
        ("plan_id", alert.plan_id),
        ("channel_id", alert.channel_id),
        ("metric", alert.metric),
    ):
        if value is not None:
            found[name] = str(value)
    return found


async def observe(
    session: AsyncSession,
    rule: Rule,
    seen: rules.Observation,
    now: datetime,
    *,
    plan_id: uuid.UUID | None,
    objective_id: uuid.UUID | None = None,
    channel_id: uuid.UUID | None = None,
    summary: str,
    data_at: datetime | None = None,
) -> Alert | None:
    """Judge one observation against a rule and move (or open) the subject's alert.

    ``data_at`` is when the observed data is from (the day, the snapshot time): an observation
    older than one already judged for the subject is ignored, whatever order it arrived in.
    """
    repo = AlertRepository(session)
    key = fingerprint(rule, plan_id, objective_id, channel_id)
    if data_at is not None and not await repo.advance_judged_through(key, data_at):
        return None
    alert = await repo.open_alert(key)
    verdict = rules.condition(rule, seen)
    state = cast(evaluation.State, alert.state if alert else "ok")
    moved = evaluation.step(
        state, alert.breaches if alert else 0, verdict, rule.for_evaluations, rule.no_data
    )
    if alert is None:
        if moved.state == "ok":
            return None
        alert = Alert(
            id=uuid.uuid4(),
            rule_id=rule.id,
            fingerprint=key,
            state="pending",
            severity=rule.severity,
            plan_id=plan_id,
            objective_id=objective_id,
            channel_id=channel_id,
            labels={},
            summary=summary,
            metric=rule.metric,
            started_at=now,
        )
        await repo.add(alert)
        alert.labels = labels_of(rule, alert)
    alert.breaches, alert.value, alert.summary = moved.breaches, seen.value, summary
    alert.threshold = seen.target if seen.target is not None else rule.target or rule.threshold
    await repo.add(Evaluation(alert_id=alert.id, at=now, value=seen.value, outcome=verdict))
    if moved.action == "fire":
        await fire(session, rule, alert, now)
    elif moved.action == "resolve":
        await resolve(session, alert, now, by=None, reason="the condition cleared")
    elif moved.state == "ok":
        alert.state, alert.resolved_at, alert.resolution = (
            "resolved",
            now,
            "recovered before firing",
        )
    else:
        alert.state = moved.state
    alert.row_version += 1
    await session.flush()
    return alert


async def fire(session: AsyncSession, rule: Rule, alert: Alert, now: datetime) -> None:
    """The alert fires: announce it (with a follow-up task if the rule asks) and notify."""
    alert.state, alert.fired_at = "firing", now
    follow_up = None
    if rule.follow_up:
        follow_up = FollowUpTask(
            title=rule.follow_up["title"],
            owner_id=rule.follow_up["owner_id"],
            approver_id=rule.follow_up["approver_id"],
            due_on=now.date() + timedelta(days=int(rule.follow_up.get("due_in_days", 1))),
        )
    await outbox.record(
        session,
        AlertRaisedV1(
            **_common(alert),
            summary=alert.summary,
            metric=alert.metric,
            value=alert.value,
            threshold=alert.threshold,
            started_at=alert.started_at,
            follow_up=follow_up,
        ),
        subject=str(alert.id),
    )
    await notify(session, rule, alert, "firing", now)


def _common(alert: Alert) -> dict[str, Any]:
    return {
        "alert_id": alert.id,
        "rule_id": alert.rule_id,
        "fingerprint": alert.fingerprint,
        "severity": Severity(alert.severity),
        "plan_id": alert.plan_id,
        "objective_id": alert.objective_id,
        "channel_id": alert.channel_id,
        "labels": alert.labels,
    }


async def resolve(
    session: AsyncSession, alert: Alert, now: datetime, *, by: str | None, reason: str
) -> None:
    """Close the alert and tell the channels that were told it fired.

    As in Alertmanager, a resolve is sent only when the firing was: an alert muted all its life
    ends unheard, while one whose firing went out is heard resolving even under a silence set
    since (its receivers would otherwise keep an open page forever)."""
    alert.state, alert.resolved_at, alert.resolved_by, alert.resolution = (
        "resolved",
        now,
        by,
        reason,
    )
    await outbox.record(
        session,
        AlertResolvedV1(**_common(alert), resolved_at=now, by=by, reason=reason),
        subject=str(alert.id),
    )
    repo = AlertRepository(session)
    for silence in await repo.active_silences(now):
        if silence.end_on_resolve and evaluation.matches(silence.matchers, alert.labels):
            silence.ends_at = now
    rule = await repo.rule(alert.rule_id)
    if rule is not None and alert.notified_count:
        await notify(session, rule, alert, "resolved", now)


async def acknowledge(
    session: AsyncSession, alert: Alert, by: str, note: str | None, now: datetime
) -> None:
    """Someone took the alert on: repeats and escalation stop."""
    alert.state, alert.acknowledged_by, alert.acknowledged_at, alert.note = (
        "acknowledged",
        by,
        now,
        note,
    )
    alert.assignee = alert.assignee or by
    alert.row_version += 1
    await outbox.record(
        session, AlertAcknowledgedV1(**_common(alert), by=by, note=note), subject=str(alert.id)
    )


async def suppressed(session: AsyncSession, alert: Alert, now: datetime) -> str | None:
    """Why a notification is muted: a matching silence, or a critical alert inhibiting a warning."""
    for silence in await AlertRepository(session).active_silences(now):
        if evaluation.matches(silence.matchers, alert.labels):
            return f"silenced by {silence.id}"
    if (
        alert.severity != "critical"
        and alert.plan_id
        and await AlertRepository(session).firing_critical(alert.plan_id)
    ):
        return "inhibited by a critical alert on the same plan"
    return None


async def notify(
    session: AsyncSession,
    rule: Rule,
    alert: Alert,
    kind: str,
    now: datetime,
    channels: list[str] | None = None,
) -> int:
    """Queue one message per channel (delivered by the notification job, retried on failure)."""
    if kind != "resolved" and (reason := await suppressed(session, alert, now)):
        await AlertRepository(session).add(
            Evaluation(alert_id=alert.id, at=now, value=alert.value, outcome=reason)
        )
        return 0
    targets = channels if channels is not None else rule.channels
    payload = {
        "kind": kind,
        "alert_id": str(alert.id),
        "severity": alert.severity,
        "state": alert.state,
        "summary": alert.summary,
        "labels": alert.labels,
        "value": None if alert.value is None else str(alert.value),
        "at": now.isoformat(),
    }
    repo = AlertRepository(session)
    for channel in await repo.channels(targets):
        hours = (
            BusinessHours.model_validate(channel.business_hours) if channel.business_hours else None
        )
        key = group_key(channel, alert.labels)
        if hours is not None and windows.bypasses(hours, alert.severity):
            key += ":anytime"  # never held in a batch that waits for office hours
        due = windows.next_open(hours, await _group_due(repo, channel, key, now), alert.severity)
        await repo.add(
            Notification(
                alert_id=alert.id,
                channel_id=channel.id,
                kind=kind,
                group_key=key,
                payload=payload,
                next_attempt_at=due,
            )
        )
    if kind != "resolved":
        alert.notified_count += 1
        alert.last_notified_at = now
    return len(targets)


def group_key(channel: Channel, labels: dict[str, str]) -> str:
    """Which batch a notification joins on a channel: the values of its ``group_by`` labels."""
    grouped = {name: labels.get(name, "") for name in channel.group_by}
    return f"{channel.id}:{json.dumps(grouped, sort_keys=True)}"


async def _group_due(repo: AlertRepository, channel: Channel, key: str, now: datetime) -> datetime:
    """Join the group's waiting batch; else wait ``group_wait`` for a new group, or
    ``group_interval`` after the group's last message (as Alertmanager does)."""
    waiting = await repo.waiting_batch(channel.id, key)
    if waiting is not None:
        return waiting
    last = await repo.last_sent(channel.id, key)
    if last is None:
        return now + timedelta(seconds=channel.group_wait_seconds)
    return max(now, last + timedelta(seconds=channel.group_interval_seconds))


def event_payload(alert: Alert) -> dict[str, Any]:
    """Fields every alert event carries (for other modules that publish alert events)."""
    return _common(alert)
