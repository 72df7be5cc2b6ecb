"""The metric dictionary in the reader's language: names follow Accept-Language (else the
company's language); keys, kinds and formulas never change."""

from __future__ import annotations

import httpx

from tests.metrics.helpers import MANAGER, TECH


async def test_metric_names_in_english_and_in_chinese(metrics_client: httpx.AsyncClient) -> None:
    defined = await metrics_client.put(
        "/metrics/dictionary/gmv_per_click",
        json={
            "name": "GMV per click",
            "definition": "campaign GMV per click",
            "kind": "ratio",
            "expression": "gmv / clicks",
        },
        headers=TECH,
    )
    assert defined.status_code == 200, defined.text
    english = await metrics_client.get(
        "/metrics/dictionary", params={"limit": 200}, headers={**MANAGER, "Accept-Language": "en"}
    )
    chinese = await metrics_client.get(
        "/metrics/dictionary",
        params={"limit": 200},
        headers={**MANAGER, "Accept-Language": "zh-CN,en;q=0.5"},
    )
    assert english.headers["content-language"] == "en"
    assert chinese.headers["content-language"] == "zh-CN"
    en = {m["key"]: m["name"] for m in english.json()["items"]}
    zh = {m["key"]: m["name"] for m in chinese.json()["items"]}
    assert list(en) == list(zh)
    assert (en["ctr"], zh["ctr"]) == ("CTR", "点击率")
    assert (en["registrations"], zh["registrations"]) == ("New registered users", "新注册用户")
    assert (en["next_day_retention"], zh["next_day_retention"]) == (
        "Next-day retention",
        "次日留存率",
    )
    # An operator's own metric keeps the name it was given.
    assert en["gmv_per_click"] == zh["gmv_per_click"] == "GMV per click"
    assert [m["kind"] for m in english.json()["items"]] == [
        m["kind"] for m in chinese.json()["items"]
    ]
