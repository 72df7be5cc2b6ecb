"""The alert thread of the story: the team's webhook and a CTR rule on feed ads (step 2), the
alert firing with its rapid-response task (step 4), and its resolution (step 6)."""

from __future__ import annotations

from typing import Any

import httpx

from demo.actors import ADMIN, SPECIALIST
from demo.harness import Receiver, arrived, say, until


async def watch_feed_ctr(
    http: httpx.AsyncClient, plan_id: str, feed: str, receiver_url: str
) -> str:
    """The team's webhook channel and a CTR rule on the feed-ad channel; returns the rule's id."""
    (
        await http.put(
            "/alerts/channels/team",
            json={
                "url": receiver_url,
                "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                # The demo's team wants every change at once, not batched over minutes.
                "group_wait_seconds": 0,
                "group_interval_seconds": 1,
            },
            headers=ADMIN,
        )
    ).raise_for_status()
    rule = await http.post(
        "/alerts/rules",
        headers=SPECIALIST,
        json={
            "name": "feed-ad CTR below 1.5%",
            "kind": "threshold",
            "plan_id": plan_id,
            "channel_id": feed,
            "metric": "ctr",
            "threshold": "0.015",
            "recovery": "0.015",
            "min_sample": 1000,
            "severity": "warning",
            "channels": ["team"],
            "follow_up": {
                "title": "new key visual with pain-point scenes",
                "owner_id": "optimiser-he",
                "approver_id": "supervisor-wang",
                "due_in_days": 1,
            },
        },
    )
    rule.raise_for_status()
    rule_id: str = rule.json()["id"]
    return rule_id


async def raised(
    http: httpx.AsyncClient, plan_id: str, rule_id: str, receiver: Receiver
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The rule's alert firing, the team notified, and the follow-up task it made."""

    async def firing() -> dict[str, Any] | None:
        alerts = (
            await http.get(
                "/alerts/alerts",
                params={"plan_id": plan_id, "state": "firing"},
                headers=SPECIALIST,
            )
        ).json()["items"]
        return next((a for a in alerts if a["rule_id"] == rule_id), None)

    alert = await until(firing, "the CTR alert")
    await until(lambda: arrived(bool(receiver.received)), "the team's webhook to be notified")
    say(
        f"   warning raised: {alert['summary']}; "
        f"the team's webhook got {receiver.received[0]['kind']!r}"
    )

    async def follow_up() -> dict[str, Any] | None:
        tasks = (await http.get(f"/tasks/plans/{plan_id}/tasks", headers=SPECIALIST)).json()[
            "items"
        ]
        return next((t for t in tasks if t["alert_id"] == alert["id"]), None)

    task = await until(follow_up, "the rapid-response task")
    say(
        f"   rapid-response task {task['code']} '{task['name']}' "
        f"for {task['owner_id']}, due {task['ends_on']}"
    )
    return alert, task


async def resolution(http: httpx.AsyncClient, alert_id: str, receiver: Receiver) -> None:
    """The alert resolving once the metric recovers, and the team told."""

    async def resolved() -> dict[str, Any] | None:
        found: dict[str, Any] = (
            await http.get(f"/alerts/alerts/{alert_id}", headers=SPECIALIST)
        ).json()
        return found if found["state"] == "resolved" else None

    await until(resolved, "the alert to resolve")
    await until(
        lambda: arrived(any(n["kind"] == "resolved" for n in receiver.received)),
        "the resolution notice",
    )
    say("   the alert resolved and the team's webhook was told")
