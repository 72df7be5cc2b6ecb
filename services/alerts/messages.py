"""What a channel is sent for a batch of notifications, in the channel's language."""

from __future__ import annotations

import hashlib
from typing import Any

from services.alerts.models import Channel, Notification
from shared.kit.notify import Message, Target
from shared.kit.notify.targets import stored_secrets
from shared.kit.notify.texts import text
from shared.kit.secrets import secret_box
from shared.kit.settings import Settings


def webhook_body(channel: Channel, group_key: str, notes: list[Notification]) -> dict[str, Any]:
    """One generic webhook body for a batch: the group's labels and every notification in it."""
    labels = notes[0].payload.get("labels", {})
    return {
        "channel": channel.id,
        "group_key": group_key,
        "group_labels": {name: labels.get(name, "") for name in channel.group_by},
        "status": _status(notes),
        "notifications": [n.payload for n in notes],
    }


def _status(notes: list[Notification]) -> str:
    return "resolved" if all(n.kind == "resolved" for n in notes) else "firing"


def message_id(notes: list[Notification]) -> str:
    """The same id on every retry of one batch, so a receiver can drop a duplicate."""
    joined = ",".join(sorted(str(n.id) for n in notes))
    return "msg_" + hashlib.sha256(joined.encode()).hexdigest()[:32]


def compose(
    channel: Channel, group_key: str, notes: list[Notification], settings: Settings
) -> Message:
    """The batch as people read it: one alert in full, several as one line each."""
    language = channel.language or settings.company_language
    link_base = settings.public_base_url.rstrip("/") + "/alerts/alerts/"
    first = notes[0].payload

    def severity(payload: dict[str, Any]) -> str:
        return text(language, f"severity.{payload['severity']}")

    if len(notes) == 1:
        title = text(
            language, f"alert.{notes[0].kind}", severity=severity(first), summary=first["summary"]
        )
        fields = [
            (text(language, "alert.summary"), str(first["summary"])),
            (text(language, "alert.severity"), severity(first)),
            (text(language, "alert.plan"), str(first["labels"].get("plan_id", "-"))),
        ]
        if first.get("value") is not None:
            fields.append((text(language, "alert.value"), str(first["value"])))
    else:
        status = text(language, f"alert.status.{_status(notes)}")
        title = text(language, "alert.batch", count=len(notes), status=status)
        fields = [
            (
                severity(n.payload),
                text(language, "alert.resolved", summary=n.payload["summary"])
                if n.kind == "resolved"
                else str(n.payload["summary"]),
            )
            for n in notes
        ]
        fields.append((text(language, "alert.plan"), str(first["labels"].get("plan_id", "-"))))
    return Message(
        message_id=message_id(notes),
        title=title,
        fields=fields,
        link=link_base + str(first["alert_id"]),
        link_text=text(language, "alert.open"),
        resolved=_status(notes) == "resolved",
        data=webhook_body(channel, group_key, notes),
    )


def target(channel: Channel) -> Target:
    """The channel's address and its opened secrets."""
    opened = secret_box().open(channel.sealed_secret)
    return Target(
        kind=channel.kind,  # type: ignore[arg-type]  # the schema admits only known kinds
        address=channel.url or "",
        secrets=stored_secrets(opened),
        recipients=tuple(channel.recipients),
    )
