"""The ad platform's side of the story: a metric source mapped to the feed-ad channel, and daily
metrics posted to it as Standard-Webhooks-signed batches (steps 3, 4 and 6)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import date, timedelta
from typing import Any

import httpx

from demo.actors import TECH
from demo.harness import say


def signed(secret: str, delivery_id: str, body: bytes) -> dict[str, str]:
    """Standard Webhooks headers, as an ad platform computes them."""
    stamp = str(int(time.time()))
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{delivery_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return {
        "content-type": "application/json",
        "webhook-id": delivery_id,
        "webhook-timestamp": stamp,
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }


class AdFeed:
    """One Ocean Engine account whose ``feed`` campaign reports the plan's feed-ad channel."""

    def __init__(self, http: httpx.AsyncClient, source_id: str, secret: str) -> None:
        self.http = http
        self.source_id = source_id
        self.secret = secret

    @classmethod
    async def connect(cls, http: httpx.AsyncClient, plan_id: str, feed: str) -> AdFeed:
        """Register the source and map its feed campaign to the plan's channel."""
        source = (
            await http.post(
                "/metrics/sources",
                headers=TECH,
                json={"name": "Douyin ads", "platform": "ocean_engine", "account_id": "1790"},
            )
        ).json()
        secret = source["secrets"][0]["secret"]
        (
            await http.put(
                f"/metrics/sources/{source['id']}/mappings",
                headers=TECH,
                json=[{"entity": "feed", "plan_id": plan_id, "channel_id": feed}],
            )
        ).raise_for_status()
        return cls(http, source["id"], secret)

    async def post_days(
        self, delivery: str, days: list[tuple[date, int, int]], report_time: str
    ) -> dict[str, Any]:
        """One signed delivery of (day, impressions, clicks) rows; returns the ingest summary."""
        rows = [
            {
                "campaign_id": "feed",
                "stat_datetime": f"{d.isoformat()} 00:00:00",
                "show_cnt": shows,
                "click_cnt": clicks,
                "convert_cnt": clicks // 20,
                "stat_cost": f"{shows * 0.02:.2f}",
            }
            for d, shows, clicks in days
        ]
        body = json.dumps(
            {"format": "ocean_engine", "report_time": report_time, "rows": rows}
        ).encode()
        answer = await self.http.post(
            f"/metrics/webhooks/{self.source_id}",
            content=body,
            headers=signed(self.secret, delivery, body),
        )
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result


async def deliver_fortnight(feed: AdFeed) -> None:
    """Two weeks of daily metrics, the same delivery again, then one day restated."""
    start = date(2024, 5, 24)
    fortnight = [(start + timedelta(days=n), 100_000, 1_800) for n in range(14)]
    first = await feed.post_days("dy-0001", fortnight, "2024-06-07T09:00:00Z")
    again = await feed.post_days("dy-0001", fortnight, "2024-06-07T09:00:00Z")
    restated = await feed.post_days(
        "dy-0002", [(start + timedelta(days=13), 100_000, 1_750)], "2024-06-08T09:00:00Z"
    )
    say(
        f"   {first['facts']} facts stored; the duplicate delivery answered the same "
        f"({again == first}); the restated day revised {restated['revised']} facts"
    )
