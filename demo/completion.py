"""Step 7 of the story: the campaign's totals arrive from the company's own back end, the plan
completes, and the evaluation report (zh-CN and English HTML, a spreadsheet) and the
retrospective are filed."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx

from demo import seed
from demo.actors import MANAGER, SPECIALIST, TECH
from demo.ad_feed import signed
from demo.harness import say

REPORT = Path(os.environ.get("DEMO_REPORT", "demo-evaluation.html")).resolve()


async def complete(http: httpx.AsyncClient, plan_id: str) -> tuple[dict[str, Any], dict[str, Path]]:
    """Complete the plan and file its retrospective; returns the evaluation and the report
    files written, by suffix."""
    internal = (
        await http.post(
            "/metrics/sources",
            headers=TECH,
            json={"name": "user back end", "platform": "internal", "account_id": "crm"},
        )
    ).json()
    (
        await http.put(
            f"/metrics/sources/{internal['id']}/mappings",
            headers=TECH,
            json=[{"entity": "all", "plan_id": plan_id}],
        )
    ).raise_for_status()
    totals = {
        "format": "canonical",
        "report_time": "2024-07-01T09:00:00Z",
        "rows": [
            {
                "entity": "all",
                "day": "2024-06-30",
                "metric": "registrations",
                "value": "180000",
            },
            {"entity": "all", "day": "2024-06-18", "metric": "gmv", "value": "6200000"},
            # with the feed's 32,000 reported earlier: 1,192,307.69 in all, ROI 1:5.2
            {"entity": "all", "day": "2024-06-18", "metric": "cost", "value": "1160307.69"},
            {
                "entity": "all",
                "day": "2024-07-15",
                "metric": "brand_search_index",
                "value": "1450",
            },
        ],
    }
    body = json.dumps(totals).encode()
    (
        await http.post(
            f"/metrics/webhooks/{internal['id']}",
            content=body,
            headers=signed(internal["secrets"][0]["secret"], "crm-0001", body),
        )
    ).raise_for_status()
    for step in ("complete",):
        (
            await http.post(f"/planning/plans/{plan_id}/{step}", headers=SPECIALIST)
        ).raise_for_status()
    report = (
        await http.get(
            f"/metrics/plans/{plan_id}/evaluation",
            params={"as_of": "2024-07-31"},
            headers=MANAGER,
        )
    ).json()
    say(f"   {'dimension':<20} {'metric':<31} {'target':<12} {'actual':<12} achievement")
    for row in report["rows"]:
        say(
            f"   {row['dimension']:<20} {row['metric']:<31} {row['target']:<12} "
            f"{row['actual'] or '-':<12} "
            f"{row['achievement'] or '-'}"
        )
    written: dict[str, Path] = {}
    for suffix, lang, form in (
        (".html", "zh-CN", "html"),
        ("-en.html", "en", "html"),
        (".xlsx", "zh-CN", "xlsx"),
    ):
        answer = await http.get(
            f"/metrics/plans/{plan_id}/evaluation.{form}",
            params={"as_of": "2024-07-31", "lang": lang},
            headers=MANAGER,
        )
        answer.raise_for_status()
        path = REPORT.with_name(REPORT.stem + suffix)
        path.write_bytes(answer.content)
        written[suffix] = path
    detail = (await http.get(f"/planning/plans/{plan_id}", headers=SPECIALIST)).json()
    filed = await http.put(
        f"/planning/plans/{plan_id}/retrospective",
        json=seed.RETROSPECTIVE,
        headers={**SPECIALIST, "If-Match": f'"{detail["plan"]["revision"]}"'},
    )
    filed.raise_for_status()
    say(f"   retrospective filed: '{seed.RETROSPECTIVE[0]['fell_short']}'")
    return report, written
