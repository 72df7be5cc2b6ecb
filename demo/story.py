"""The seed campaign of docs/domain.md, step by step, as its users drive it over REST; each
step's requests live in the module of its phase."""

from __future__ import annotations

import os
from datetime import date
from typing import Any

import httpx

from demo import alerting, completion, drafting, reallocation
from demo.ad_feed import AdFeed, deliver_fortnight
from demo.harness import Receiver, say


async def play(base: str, receiver_url: str, receiver: Receiver) -> dict[str, Any]:
    """The seed campaign, step by step; returns the ids and figures it ended with."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        say("1. A specialist drafts the 618 campaign: objectives, audience, channels, phases.")
        plan = await drafting.draft(http)
        plan_id: str = plan["plan"]["id"]
        feed: str = next(c["id"] for c in plan["channels"] if c["name"] == "Douyin feed ads")

        say("2. Submitted; supervisor, manager and finance approve it from their inboxes.")
        plan = await drafting.approve(http, plan_id)
        rule_id = await alerting.watch_feed_ctr(http, plan_id, feed, receiver_url)

        say("3. The ad platform posts two weeks of signed daily metrics (a restated day, a retry).")
        ads = await AdFeed.connect(http, plan_id, feed)
        await deliver_fortnight(ads)

        say("4. On 06-07 feed-ad CTR falls to 1.2% against 1.5%.")
        await ads.post_days("dy-0003", [(date(2024, 6, 7), 100_000, 1_200)], "2024-06-08T10:00:00Z")
        alert, task = await alerting.raised(http, plan_id, rule_id, receiver)

        say("5. Budget moves from the pop-up store to feed ads; the committee approves it.")
        plan = await reallocation.move_budget(http, plan_id, plan)

        say("6. New creatives: CTR recovers to 1.6% on 06-08.")
        await ads.post_days("dy-0004", [(date(2024, 6, 8), 100_000, 1_600)], "2024-06-09T10:00:00Z")
        await alerting.resolution(http, alert["id"], receiver)

        say("7. The campaign completes: evaluation and retrospective.")
        report, written = await completion.complete(http, plan_id)
        say("")
        if os.environ.get("DEMO_BASE_URL"):
            say(f"API docs: {base}/<service>/docs (planning, tasks, metrics, alerts, approvals)")
        else:
            say("To explore: `make run`, then http://127.0.0.1:8000/<service>/docs")
        say(f"English report: {written['-en.html']}; spreadsheet: {written['.xlsx']}")
        say(f"Done. The evaluation report (zh-CN) is {written['.html']}")
        return {"plan_id": plan_id, "alert_id": alert["id"], "task": task, "evaluation": report}
