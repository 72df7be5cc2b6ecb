"""Deliver notifications with retries, repeat and escalate unacknowledged alerts."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
from prometheus_client import Gauge
from sqlalchemy.ext.asyncio import AsyncSession

from services.alerts import lifecycle, messages, rules
from services.alerts.models import Notification
from services.alerts.repository import AlertRepository
from shared.contract.events.alerts import AlertEscalatedV1
from shared.kit import notify
from shared.kit.jobs import PeriodicJob
from shared.kit.settings import Settings

MAX_ATTEMPTS = 8
# Replaced in tests by an httpx.MockTransport; None means the real network.
TRANSPORT: httpx.AsyncBaseTransport | None = None


async def deliver(session: AsyncSession, now: datetime, settings: Settings) -> None:
    """Send due notifications, one message per channel and group; a failure (including a robot's
    HTTP 200 with a non-zero error code) is logged on each row of the batch and retried later
    with backoff.

    Each batch stands alone, so one dead channel delays nobody else's messages.
    """
    repo = AlertRepository(session)
    batches: dict[tuple[str, str], list[Notification]] = {}
    for note in await repo.due_notifications(now):
        batches.setdefault((note.channel_id, note.group_key), []).append(note)
    if not batches:
        # Most ticks have nothing to send; a client costs an SSL context (the CA bundle is read),
        # which the profile showed as 3% of the all-in-one's CPU under REST load.
        return
    async with httpx.AsyncClient(transport=TRANSPORT, timeout=5) as client:
        for (channel_id, group_key), notes in batches.items():
            channel = await repo.channel(channel_id)
            if channel is None:
                for note in notes:
                    note.status = "failed"
                continue
            message = messages.compose(channel, group_key, notes, settings)
            outcome = await notify.send(client, messages.target(channel), message, now, settings)
            for note in notes:
                _record_attempt(note, now, outcome.detail, outcome.delivered)
    await session.flush()


def _record_attempt(note: Notification, now: datetime, outcome: str, delivered: bool) -> None:
    note.attempts = [*note.attempts, {"at": now.isoformat(), "outcome": outcome}]
    if delivered:
        note.status, note.sent_at = "sent", now
    elif len(note.attempts) >= MAX_ATTEMPTS:
        note.status = "failed"
    else:
        note.next_attempt_at = now + timedelta(seconds=30 * 2 ** (len(note.attempts) - 1))


async def watch(session: AsyncSession, now: datetime, settings: Settings) -> None:
    """Notify firing alerts nobody was told of once their silence (or inhibition) ends; re-notify
    unacknowledged ones (4 h, 8 h, 16 h … by default); escalate critical ones (after 30 min …)."""
    escalate_after = timedelta(minutes=settings.alert_escalate_after_minutes)
    repo = AlertRepository(session)
    for alert in await repo.unacknowledged():
        rule = await repo.rule(alert.rule_id)
        if rule is None:
            continue
        # Muted when it fired: told now that nothing mutes it any more, as Alertmanager does on
        # its next flush. Checked first so a still-silenced alert logs no "silenced" every tick.
        if not alert.notified_count and await lifecycle.suppressed(session, alert, now) is None:
            await lifecycle.notify(session, rule, alert, "firing", now)
        since = alert.last_notified_at or alert.fired_at or alert.started_at
        hours = (now - since).total_seconds() / 3600
        if rules.repeat_due(alert.notified_count, hours, settings.alert_repeat_after_hours):
            await lifecycle.notify(session, rule, alert, "repeat", now)
        fired = alert.fired_at or alert.started_at
        if alert.severity == "critical" and rules.escalation_due(
            alert.escalation_level, now - fired, escalate_after
        ):
            alert.escalation_level += 1
            targets = [c.id for c in await repo.channels(level=alert.escalation_level)]
            await lifecycle.notify(session, rule, alert, "escalation", now, channels=targets)
            await lifecycle.outbox.record(
                session,
                AlertEscalatedV1(
                    **lifecycle.event_payload(alert), level=alert.escalation_level, to=targets
                ),
                subject=str(alert.id),
            )
    await session.flush()


JOBS = [
    PeriodicJob("alert-notifications", deliver, interval_seconds=1),
    PeriodicJob("alert-watch", watch, interval_seconds=60),
]


ALERTS_FIRING = Gauge("alerts_firing", "Alerts firing or acknowledged, by severity", ["severity"])


async def count_firing(session: AsyncSession) -> None:
    """Scrape-time gauge of open alerts per severity."""
    open_by_severity = await AlertRepository(session).open_by_severity()
    for severity in ("info", "warning", "critical"):
        ALERTS_FIRING.labels(severity).set(open_by_severity.get(severity, 0))
