"""Channel efficiency over REST, from facts, cohorts and planning's events: a plan with three
channels whose CAC, CLTV (both ways), CLTV/CAC and ineffective marks are computed by hand."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal as D
from typing import Any

import httpx

from shared.contract.events.planning import BudgetLineTarget
from shared.contract.types import Money, Role
from tests.conftest import bearer
from tests.metrics.helpers import (
    MANAGER,
    TECH,
    announce,
    canonical,
    channel,
    map_entities,
    objective,
    plan_targets,
    post,
)
from tests.metrics.test_internal_sources import register_internal, send

FINANCE = bearer(Role.FINANCE, "finance-zhao")
USER_BACKEND = bearer(Role.SERVICE, "user-backend")
ECOMMERCE = bearer(Role.SERVICE, "ecommerce-orders")
FEED, KOC, CAMPUS = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
LINES = {FEED: uuid.uuid4(), KOC: uuid.uuid4(), CAMPUS: uuid.uuid4()}


def _targets(plan_id: uuid.UUID, version: int, reserve: int) -> Any:
    """Feed 50,000, KOC 30,000 and campus 20,000 on their lines, and ``reserve`` aside."""
    planned = {FEED: 50000, KOC: 30000, CAMPUS: 20000}
    names = {FEED: "Douyin feed", KOC: "Xiaohongshu KOC", CAMPUS: "Campus ambassadors"}
    return plan_targets(
        plan_id,
        objective("new_users", 1000),
        version=version,
        channels=[channel(c, names[c], planned[c]) for c in (FEED, KOC, CAMPUS)],
        budget_lines=[
            BudgetLineTarget(
                budget_line_id=LINES[c],
                name=f"{names[c]} fees",
                cost_type="channel_fee",
                channel_id=c,
                planned=Money(amount=D(planned[c])),
            )
            for c in (FEED, KOC, CAMPUS)
        ],
        contingency_reserve=Money(amount=D(reserve)),
    )


async def _report(client: httpx.AsyncClient, plan_id: uuid.UUID) -> None:
    """June 1–10: feed 10,000 CNY for 100 new customers, KOC 1,000 USD (6,000 CNY at 6) for
    40, campus 4,000 CNY for registrations but no first order."""
    backend = (await register_internal(client))["id"]
    await map_entities(client, backend, plan_id, ("feed", FEED), ("koc", KOC), ("campus", CAMPUS))
    batch = canonical(
        "2024-06-13T02:00:00Z",
        ("feed", "2024-06-03", "cost", "4000"),
        ("feed", "2024-06-03", "new_users", "40"),
        ("feed", "2024-06-03", "orders", "60"),
        ("feed", "2024-06-03", "gmv", "12000"),
        ("feed", "2024-06-03", "repeat_customers", "10"),
        ("feed", "2024-06-07", "cost", "6000"),
        ("feed", "2024-06-07", "new_users", "60"),
        ("feed", "2024-06-07", "orders", "90"),
        ("feed", "2024-06-07", "gmv", "18000"),
        ("feed", "2024-06-07", "repeat_customers", "20"),
        ("feed", "2024-06-12", "cost", "99999"),  # after the period
        ("koc", "2024-06-05", "new_users", "40"),
        ("koc", "2024-06-05", "orders", "50"),
        ("koc", "2024-06-05", "gmv", "6000"),
        ("koc", "2024-06-05", "repeat_customers", "5"),
        ("campus", "2024-06-04", "cost", "4000"),
        ("campus", "2024-06-04", "registrations", "200"),
    )
    assert (await send(client, backend, batch, USER_BACKEND)).status_code == 200
    ads = await client.post(
        "/metrics/sources",
        json={"name": "KOC agency", "platform": "other", "account_id": "a", "currency": "USD"},
        headers=TECH,
    )
    source, secret = ads.json()["id"], ads.json()["secrets"][0]["secret"]
    await map_entities(client, source, plan_id, ("koc-ads", KOC))
    rate = await client.put(
        "/metrics/fx-rates/USD/CNY/2024-06-01", json={"rate": "6"}, headers=FINANCE
    )
    assert rate.status_code == 200, rate.text
    usd = canonical("2024-06-13T02:00:00Z", ("koc-ads", "2024-06-05", "cost", "1000"))
    assert (await post(client, source, secret, usd)).status_code == 200


async def _cohorts(client: httpx.AsyncClient, plan_id: uuid.UUID) -> None:
    """Feed's June 1 cohort (60 customers) at 45,000 by day 30, June 2's (40) at 30,000 by
    day 7: 75,000 for 100 customers; a cohort after the period is left out."""
    shop = (await register_internal(client, "ecommerce", "ecommerce-orders"))["id"]
    await map_entities(client, shop, plan_id, ("feed", FEED))
    rows = [
        ("feed", "2024-06-01", 7, "60", "30000"),
        ("feed", "2024-06-01", 30, "60", "45000"),
        ("feed", "2024-06-02", 7, "40", "30000"),
        ("feed", "2024-06-20", 7, "10", "99999"),
        ("unmapped", "2024-06-02", 7, "1", "1"),
    ]
    body: dict[str, Any] = {
        "report_time": "2024-07-02T02:00:00Z",
        "rows": [
            {"entity": e, "cohort_on": d, "age_days": a, "customers": n, "revenue": r}
            for e, d, a, n, r in rows
        ],
    }
    url = f"/metrics/sources/{shop}/cohorts"
    refused = await client.post(url, json=body, headers=USER_BACKEND)
    assert refused.status_code == 403  # another system's token
    posted = await client.post(
        url, content=json.dumps(body), headers={**ECOMMERCE, "idempotency-key": "c-1"}
    )
    assert posted.status_code == 200, posted.text
    assert posted.json() == {"rows": 5, "stored": 5, "unmapped_entities": ["unmapped"]}
    bad = {**body, "rows": [{**body["rows"][0], "customers": "-1"}]}
    invalid = await client.post(
        url, content=json.dumps(bad), headers={**ECOMMERCE, "idempotency-key": "c-2"}
    )
    assert invalid.status_code == 422
    assert invalid.json()["field"] == "rows.0.customers"


async def _efficiency(
    client: httpx.AsyncClient, plan_id: uuid.UUID, language: str = "en"
) -> dict[str, Any]:
    got = await client.get(
        f"/metrics/plans/{plan_id}/channels/efficiency",
        params={"from": "2024-06-01", "to": "2024-06-10"},
        headers={**MANAGER, "Accept-Language": language},
    )
    assert got.status_code == 200, got.text
    return {c["name"]: c for c in got.json()["channels"]}


async def test_three_channels_give_the_hand_computed_cac_cltv_and_marks(
    metrics_client: httpx.AsyncClient, database_url: str
) -> None:
    plan_id = uuid.uuid4()
    await announce(metrics_client, database_url, _targets(plan_id, 1, 12000))
    await _report(metrics_client, plan_id)
    await _cohorts(metrics_client, plan_id)
    before = await _efficiency(metrics_client, plan_id)
    # No parameters yet: the cohort revenue is taken whole (75,000 / 100), no classical CLTV.
    assert D(before["Douyin feed"]["cltv"]["value"]) == D(750)
    assert before["Xiaohongshu KOC"]["code"] == "cltv-unknown"
    params = {"gross_margin": "0.4", "purchase_frequency": "2", "lifespan_years": "1.5"}
    url = f"/metrics/plans/{plan_id}/channels/parameters"
    assert (await metrics_client.put(url, json=params, headers=TECH)).status_code == 403
    stored = await metrics_client.put(url, json=params, headers=FINANCE)
    assert stored.status_code == 200, stored.text
    assert D(stored.json()["cltv_cac_floor"]) == 1

    got = await _efficiency(metrics_client, plan_id)
    feed, koc, campus = got["Douyin feed"], got["Xiaohongshu KOC"], got["Campus ambassadors"]
    # Feed: 10,000 / 100 = 100 CAC; 30,000 / 150 = 200 AOV; CLTV by cohort 0.4 × 750 = 300
    # (classical 200 × 2 × 0.4 × 1.5 = 240); 300 / 100 = 3.
    assert {k: D(feed[k]) for k in ("spend", "cac", "aov", "repeat_purchase_rate", "roi")} == {
        "spend": D(10000),
        "cac": D(100),
        "aov": D(200),
        "repeat_purchase_rate": D("0.3"),
        "roi": D(3),
    }
    assert feed["cltv"]["basis"] == "cohort"
    assert (D(feed["cltv"]["cohort"]), D(feed["cltv"]["classical"])) == (D(300), D(240))
    assert (feed["cltv"]["cohort_customers"], feed["cltv"]["cohort_oldest_age_days"]) == (
        "100",
        30,
    )
    assert (D(feed["cltv_cac"]), feed["ineffective"]) == (D(3), False)
    # KOC: 1,000 USD × 6 = 6,000 / 40 = 150 CAC; 6,000 / 50 = 120 AOV; no cohorts, so the
    # classical 120 × 2 × 0.4 × 1.5 = 144; 144 / 150 = 0.96 < 1: ineffective.
    assert (D(koc["spend"]), D(koc["cac"]), D(koc["aov"])) == (D(6000), D(150), D(120))
    assert (D(koc["repeat_purchase_rate"]), D(koc["roi"])) == (D("0.125"), D(1))
    assert (koc["cltv"]["basis"], D(koc["cltv"]["value"])) == ("classical", D(144))
    assert (D(koc["cltv_cac"]), koc["ineffective"], koc["code"]) == (
        D("0.96"),
        True,
        "cltv-below-cac-floor",
    )
    assert koc["reason"] == (
        "CLTV/CAC is 0.9600 (CLTV 144.00 over CAC 150.00), below the floor 1: each new "
        "customer costs more than the value expected from them"
    )
    chinese = await _efficiency(metrics_client, plan_id, "zh-CN")
    assert chinese["Campus ambassadors"]["reason"] == "已花费 4000.00，未获得任何新客户"
    # Campus: 4,000 spent, 200 registrations, none ordered: no new customer, ineffective.
    assert (D(campus["spend"]), campus["cac"], campus["ineffective"], campus["code"]) == (
        D(4000),
        None,
        True,
        "no-new-customers",
    )


async def test_no_recommendation_while_the_reserve_breaks_the_rule_then_one_when_it_holds(
    metrics_client: httpx.AsyncClient, database_url: str
) -> None:
    plan_id = uuid.uuid4()
    # 5,000 / 105,000 = 4.76 % reserve: under the 10 % floor.
    await announce(metrics_client, database_url, _targets(plan_id, 1, 5000))
    await _report(metrics_client, plan_id)
    url = f"/metrics/plans/{plan_id}/channels/recommendation"
    params = {"as_of": "2024-06-10", "days": "10"}

    async def answer() -> dict[str, Any]:
        got = await metrics_client.get(url, params=params, headers=MANAGER)
        assert got.status_code == 200, got.text
        body: dict[str, Any] = got.json()
        return body

    withheld = await answer()
    assert withheld["code"] == "reserve-rule"
    assert (withheld["offered"], withheld["move"], withheld["adjustment"]) == (False, None, None)
    assert D(withheld["reserve_share"]) == D("0.0476")
    # Version 2 puts 12,000 aside: 12,000 / 112,000 = 10.71 %.
    await announce(metrics_client, database_url, _targets(plan_id, 2, 12000), times=2)
    offered = await answer()
    assert offered["code"] is None
    move = offered["move"]
    # Campus spent 4,000 for no new customer; feed's CAC 100 beats KOC's 150. Half of what
    # campus has left (20,000 − 4,000) moves: 8,000, at feed's CAC 80 more customers at most.
    assert (move["from_channel"], move["to_channel"], D(move["amount"])) == (
        "Campus ambassadors",
        "Douyin feed",
        D(8000),
    )
    assert (move["from_budget_line_id"], move["to_budget_line_id"]) == (
        str(LINES[CAMPUS]),
        str(LINES[FEED]),
    )
    assert D(offered["expected"]["extra_new_customers"]) == D(80)
    assert "diminishing returns" in offered["assumptions"][0]
    adjustment = offered["adjustment"]
    assert adjustment["kind"] == "budget_reallocation"
    assert adjustment["moves"] == [
        {
            "from_budget_line_id": str(LINES[CAMPUS]),
            "to_budget_line_id": str(LINES[FEED]),
            "amount": "8000",
        }
    ]
    assert adjustment["diagnosis"]["move"] == move
