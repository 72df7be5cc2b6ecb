"""A/B experiments over HTTP: two creatives' facts, ingested as a platform sends them, give the
hand-computed review; a metric that is no proportion, overlapping arms and an unknown
experiment are refused with the field or rule named."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.metrics.helpers import MANAGER, canonical, map_entities, post, register

EXPERIMENTS = "/metrics/plans/{plan}/experiments"


def _experiment(**overrides: object) -> dict[str, object]:
    return {
        "name": "hero creative",
        "metric": "ctr",
        "arms": [
            {"name": "current", "entities": ["cr-old", "cr-old-b"]},
            {"name": "new", "entities": ["cr-new"]},
        ],
        "minimum_sample": 4000,
        "starts_on": "2024-06-07",
        "ends_on": "2024-06-08",
        **overrides,
    }


async def _ingest_two_creatives(metrics_client: httpx.AsyncClient, plan_id: uuid.UUID) -> None:
    source, secret = await register(metrics_client, "meta")
    await map_entities(metrics_client, source, plan_id, "cr-old", "cr-old-b", "cr-new", "cr-other")
    stored = await post(
        metrics_client,
        source,
        secret,
        canonical(
            "2024-06-11T09:00:00Z",
            # current: 2,000 + 1,000 + 1,000 = 4,000 impressions, 60 + 25 + 35 = 120 clicks
            ("cr-old", "2024-06-07", "impressions", "2000"),
            ("cr-old", "2024-06-07", "clicks", "60"),
            ("cr-old", "2024-06-08", "impressions", "1000"),
            ("cr-old", "2024-06-08", "clicks", "25"),
            ("cr-old-b", "2024-06-08", "impressions", "1000"),
            ("cr-old-b", "2024-06-08", "clicks", "35"),
            # new: 2,500 + 1,500 = 4,000 impressions, 100 + 65 = 165 clicks
            ("cr-new", "2024-06-07", "impressions", "2500"),
            ("cr-new", "2024-06-07", "clicks", "100"),
            ("cr-new", "2024-06-08", "impressions", "1500"),
            ("cr-new", "2024-06-08", "clicks", "65"),
            # after the experiment's period, and an entity in no arm: neither counts
            ("cr-new", "2024-06-10", "impressions", "5000"),
            ("cr-new", "2024-06-10", "clicks", "500"),
            ("cr-other", "2024-06-07", "impressions", "9000"),
            ("cr-other", "2024-06-07", "clicks", "9"),
        ),
    )
    assert stored.status_code == 200, stored.text


async def test_two_creatives_review_gives_the_textbook_answer(
    metrics_client: httpx.AsyncClient,
) -> None:
    plan_id = uuid.uuid4()
    await _ingest_two_creatives(metrics_client, plan_id)
    url = EXPERIMENTS.format(plan=plan_id)
    headers = {**MANAGER, "Idempotency-Key": "hero-1"}
    created = await metrics_client.post(url, json=_experiment(), headers=headers)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"{url}/{created.json()['id']}/review"
    retried = await metrics_client.post(url, json=_experiment(), headers=headers)
    assert retried.json()["id"] == created.json()["id"]
    listed = await metrics_client.get(url, headers=MANAGER)
    assert [e["name"] for e in listed.json()["items"]] == ["hero creative"]

    review = await metrics_client.get(f"{url}/{created.json()['id']}/review", headers=MANAGER)
    assert review.status_code == 200, review.text
    body = review.json()
    assert (body["numerator"], body["denominator"]) == ("clicks", "impressions")
    current, new = body["arms"]
    assert (current["numerator"], current["denominator"]) == (120, 4000)
    assert (new["numerator"], new["denominator"]) == (165, 4000)
    assert (current["rate"], new["rate"]) == (pytest.approx(0.03), pytest.approx(0.04125))
    # Wilson 95 % intervals (checked against statsmodels' proportion_confint)
    assert (current["interval"]["low"], current["interval"]["high"]) == pytest.approx(
        (0.025147812, 0.035754064)
    )
    assert (new["interval"]["low"], new["interval"]["high"]) == pytest.approx(
        (0.035514530, 0.047865759)
    )
    [comparison] = body["comparisons"]
    assert comparison["uplift"] == pytest.approx(0.01125)
    interval = comparison["uplift_interval"]
    assert (interval["low"], interval["high"]) == pytest.approx((0.0031304226, 0.0193695774))
    assert comparison["z"] == pytest.approx(2.7143579, abs=1e-6)
    assert comparison["p_value"] == pytest.approx(0.0066404, abs=1e-6)
    assert (body["verdict"], body["winner"]) == ("winner", "new")
    assert "fixed-horizon" in body["method"]


async def test_a_larger_minimum_sample_says_not_enough_data(
    metrics_client: httpx.AsyncClient,
) -> None:
    plan_id = uuid.uuid4()
    await _ingest_two_creatives(metrics_client, plan_id)
    url = EXPERIMENTS.format(plan=plan_id)
    created = await metrics_client.post(url, json=_experiment(minimum_sample=5000), headers=MANAGER)
    review = (
        await metrics_client.get(f"{url}/{created.json()['id']}/review", headers=MANAGER)
    ).json()
    assert [arm["enough_data"] for arm in review["arms"]] == [False, False]
    assert (review["verdict"], review["winner"]) == ("not_enough_data", None)
    assert review["comparisons"][0]["p_value"] == pytest.approx(0.00664, abs=1e-5)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"metric": "cpc"}, "metric"),  # cost / clicks is no proportion
        ({"metric": "clicks"}, "metric"),  # a count, not a rate
        (
            {"arms": [{"name": "a", "entities": ["x"]}, {"name": "b", "entities": ["x"]}]},
            "arms",
        ),
        ({"ends_on": "2024-06-01"}, "ends_on"),
    ],
)
async def test_an_experiment_that_cannot_be_reviewed_is_refused(
    metrics_client: httpx.AsyncClient, overrides: dict[str, object], field: str
) -> None:
    refused = await metrics_client.post(
        EXPERIMENTS.format(plan=uuid.uuid4()), json=_experiment(**overrides), headers=MANAGER
    )
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert field in {e["field"] for e in problem.get("errors") or []} | {problem.get("field")}


async def test_an_unknown_experiment_is_not_found(metrics_client: httpx.AsyncClient) -> None:
    missing = await metrics_client.get(
        f"{EXPERIMENTS.format(plan=uuid.uuid4())}/{uuid.uuid4()}/review", headers=MANAGER
    )
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
