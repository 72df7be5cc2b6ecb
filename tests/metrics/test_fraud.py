"""Fake-registration fraud: the signals, the once-only event, flags, and gross against net KPIs."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select

from services.metrics.app import DEFINITION
from services.metrics.fraud import signals as fraud
from services.metrics.fraud.review import JOBS as FRAUD_JOBS
from services.metrics.models import bus
from services.metrics.rollups.snapshots import JOBS
from shared.contract.events.planning import PlanTargetsSetV1
from shared.contract.types import Role
from shared.kit.db import create_engine, create_sessionmaker
from shared.kit.settings import Settings
from tests.conftest import bearer
from tests.metrics.helpers import (
    MANAGER,
    announce,
    canonical,
    map_entities,
    objective,
    plan_targets,
    post,
    register,
)

D = Decimal
SPECIALIST = bearer(Role.SPECIALIST, "specialist-wu")
SUSPECT_DAY = date(2024, 6, 15)
NOW = datetime(2024, 6, 16, 4, 0, tzinfo=UTC)  # noon on the 16th in Shanghai
FRAUD_EVENT = "metrics.plan.fraud_suspected"


# --- the signals as pure functions -------------------------------------------------------------


def test_robust_z_needs_history_and_floors_a_flat_one() -> None:
    assert fraud.robust_z(D(50), [D(10)] * 6, min_count=7, mad_floor=D(1)) is None
    # A flat history has MAD 0: the floor keeps the score finite and small for a small step.
    flat = fraud.robust_z(D(11), [D(10)] * 7, min_count=7, mad_floor=D(1), mad_floor_ratio=D("0.1"))
    assert flat == D("0.6745")
    varied = [D(v) for v in (8, 9, 10, 10, 11, 12, 10)]
    assert fraud.robust_z(D(10), varied, min_count=7, mad_floor=D(1)) == 0
    assert fraud.robust_z(D(40), varied, min_count=7, mad_floor=D(1)) == D("20.2350")


def test_a_spike_fires_against_the_entitys_own_history_only_upwards() -> None:
    history = [D(v) for v in (28, 30, 31, 29, 30, 32, 30, 29)]
    fired = fraud.spike("registrations", D(400), history)
    assert fired is not None
    assert fired.signal == "registrations_spike"
    assert fired.score >= fraud.DEFAULTS.z_threshold
    assert "400" in fired.detail
    assert fraud.spike("registrations", D(33), history) is None
    assert fraud.spike("registrations", D(0), history) is None  # a drop is no fraud
    assert fraud.spike("registrations", D(400), history[:6]) is None  # too little history
    # A busy flat history: 10 % of the median floors the MAD, so 1,080 against 1,000 is fine.
    assert fraud.spike("registrations", D(1080), [D(1000)] * 10) is None


def test_retention_far_below_the_peers_median_fires() -> None:
    peers = [D("0.40"), D("0.45"), D("0.50")]
    fired = fraud.low_retention(D("0.05"), D(100), peers)
    assert fired is not None
    assert fired.signal == "low_retention"
    assert fired.score == D("0.1111")
    assert fraud.low_retention(D("0.30"), D(100), peers) is None
    assert fraud.low_retention(D("0.05"), D(100), peers[:2]) is None  # too few peers
    assert fraud.low_retention(D("0.05"), D(5), peers) is None  # too few registrations


def test_conversions_without_clicks_fire_only_where_clicks_are_reported() -> None:
    fired = fraud.conversions_without_clicks(D(0), D(8), None)
    assert fired is not None
    assert (fired.signal, fired.score) == ("conversions_without_clicks", D(8))
    registered = fraud.conversions_without_clicks(D(0), None, D(30))
    assert registered is not None
    assert "registrations" in registered.detail
    assert fraud.conversions_without_clicks(None, D(8), D(30)) is None
    assert fraud.conversions_without_clicks(D(3), D(8), None) is None
    assert fraud.conversions_without_clicks(D(0), D(0), None) is None


def test_a_ctr_far_from_the_peers_fires_both_ways() -> None:
    peers = [D("0.010"), D("0.011"), D("0.009"), D("0.012")]
    high = fraud.ctr_outlier(D(300), D(1000), peers)
    assert high is not None
    assert high.signal == "ctr_outlier"
    assert high.score > 0
    low = fraud.ctr_outlier(D(0), D(5000), peers)
    assert low is not None
    assert low.score < 0
    assert fraud.ctr_outlier(D(11), D(1000), peers) is None
    assert fraud.ctr_outlier(D(30), D(50), peers) is None  # too few impressions
    assert fraud.ctr_outlier(D(300), D(1000), peers[:2]) is None  # too few peers


def test_examine_combines_the_signals_of_an_entity_day() -> None:
    today = {"registrations": D(400), "clicks": D(0), "next_day_retention": D("0.02")}
    peers = [{"registrations": D(30), "next_day_retention": D("0.4")} for _ in range(3)]
    history = {"registrations": [D(30)] * 10}
    found = {s.signal for s in fraud.examine(today, history, peers)}
    # 400 is also 13x the peers' median of 30: the peer outlier fires beside the spike.
    assert found == {
        "registrations_spike",
        "registrations_peer_outlier",
        "low_retention",
        "conversions_without_clicks",
    }
    calm = {"registrations": D(30), "clicks": D(5), "next_day_retention": D("0.4")}
    assert fraud.examine(calm, history, peers) == []


# --- the job, flags and gross/net KPIs ---------------------------------------------------------


def _targets(plan_id: uuid.UUID) -> PlanTargetsSetV1:
    return plan_targets(plan_id, objective("registrations", 5000), name="campus registrations June")


def _rows() -> list[tuple[str, str, str, str]]:
    """Ten quiet days for every code, then on the 15th one anomaly per code."""
    normal = ("school-a", "school-b", "school-c")
    codes = (*normal, "amb-spike", "amb-zombie", "amb-noclick", "amb-clicky")
    rows = []
    for back in range(1, 11):
        day = (SUSPECT_DAY - timedelta(days=back)).isoformat()
        for i, code in enumerate(codes):
            rows.append((code, day, "registrations", str(28 + (back + i) % 5)))
    day = SUSPECT_DAY.isoformat()
    for code, registrations, retention, impressions, clicks in (
        ("school-a", 30, "0.45", 1000, 10),
        ("school-b", 31, "0.40", 1000, 11),
        ("school-c", 29, "0.50", 1000, 9),
        ("amb-spike", 400, "0.44", 1000, 10),
        ("amb-zombie", 30, "0.02", 1000, 10),
        ("amb-noclick", 30, "0.42", None, 0),
        ("amb-clicky", 30, "0.43", 1000, 300),
    ):
        rows.append((code, day, "registrations", str(registrations)))
        rows.append((code, day, "next_day_retention", retention))
        rows.append((code, day, "clicks", str(clicks)))
        if impressions is not None:
            rows.append((code, day, "impressions", str(impressions)))
    rows.append(("amb-noclick", day, "conversions", "8"))
    return rows


async def _plan(
    metrics_client: httpx.AsyncClient,
    database_url: str,
    rows: list[tuple[str, str, str, str]] | None = None,
) -> tuple[uuid.UUID, str]:
    rows = _rows() if rows is None else rows
    plan_id = uuid.uuid4()
    await announce(metrics_client, database_url, _targets(plan_id))
    source, secret = await register(metrics_client)
    await map_entities(metrics_client, source, plan_id, *sorted({row[0] for row in rows}))
    stored = await post(metrics_client, source, secret, canonical("2024-06-16T02:00:00Z", *rows))
    assert stored.status_code == 200, stored.text
    return plan_id, source


async def _outbox(database_url: str, event_type: str) -> list[dict[str, Any]]:
    engine = create_engine(database_url)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(bus.outbox.c.envelope)
                .where(bus.outbox.c.event_type == event_type)
                .order_by(bus.outbox.c.id)
            )
        ).all()
    await engine.dispose()
    return [r.envelope["data"] for r in rows]


async def _registrations(metrics_client: httpx.AsyncClient, plan_id: uuid.UUID) -> dict[str, Any]:
    got = await metrics_client.get(
        f"/metrics/plans/{plan_id}/kpis", params={"as_of": "2024-06-30"}, headers=MANAGER
    )
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    (objective,) = body["objectives"]
    return {**objective, "excluded_entity_days": body["excluded_entity_days"]}


async def test_signals_become_one_event_each_and_excluding_a_flag_changes_net_only(
    metrics_client: httpx.AsyncClient, database_url: str, settings: Settings
) -> None:
    plan_id, _source = await _plan(metrics_client, database_url)
    sessions_engine = create_engine(database_url)
    sessions = create_sessionmaker(sessions_engine)
    (job,) = FRAUD_JOBS
    (snapshots,) = JOBS
    await job.run_once(sessions, settings, NOW)
    await snapshots.run_once(sessions, settings, NOW)  # publishes what ingestion changed

    events = await _outbox(database_url, FRAUD_EVENT)
    assert sorted((e["signal"], e["channel_code"], e["day"]) for e in events) == [
        ("conversions_without_clicks", "amb-noclick", "2024-06-15"),
        ("ctr_outlier", "amb-clicky", "2024-06-15"),
        ("low_retention", "amb-zombie", "2024-06-15"),
        ("registrations_peer_outlier", "amb-spike", "2024-06-15"),
        ("registrations_spike", "amb-spike", "2024-06-15"),
    ]
    assert all(e["plan_id"] == str(plan_id) for e in events)
    assert all(D(e["score"]) != 0 and e["detail"] for e in events)

    listed = await metrics_client.get(f"/metrics/plans/{plan_id}/fraud-flags", headers=MANAGER)
    assert listed.status_code == 200, listed.text
    flags = {f["entity"]: f for f in listed.json()["items"]}
    assert set(flags) == {"amb-noclick", "amb-clicky", "amb-zombie", "amb-spike"}
    assert {f["status"] for f in flags.values()} == {"suspected"}
    assert {f["flagged_by"] for f in flags.values()} == {"system"}

    gross_registrations = D(sum(int(r[3]) for r in _rows() if r[2] == "registrations"))
    before = await _registrations(metrics_client, plan_id)
    assert D(before["actual"]) == D(before["actual_gross"]) == gross_registrations
    assert D(before["actual_net"]) == gross_registrations
    assert before["excluded_entity_days"] == 0

    spike = flags["amb-spike"]
    url = f"/metrics/plans/{plan_id}/fraud-flags/{spike['id']}"
    refused = await metrics_client.put(url, json={"status": "excluded"}, headers=SPECIALIST)
    assert refused.status_code == 403
    extra = await metrics_client.put(url, json={"status": "excluded", "why": "x"}, headers=MANAGER)
    assert extra.status_code == 422
    decided = await metrics_client.put(
        url, json={"status": "excluded", "note": "bulk sign-ups from one IP"}, headers=MANAGER
    )
    assert decided.status_code == 200, decided.text
    assert (decided.json()["status"], decided.json()["decided_by"]) == ("excluded", "manager-li")

    after = await _registrations(metrics_client, plan_id)
    assert D(after["actual_gross"]) == gross_registrations
    assert D(after["actual_net"]) == D(after["actual"]) == gross_registrations - 400
    assert D(after["achievement_net"]) < D(after["achievement_gross"])
    assert after["excluded_entity_days"] == 1

    # The decision makes the snapshot job publish again, with net figures.
    await snapshots.run_once(sessions, settings, NOW)
    first, snapshot = await _outbox(database_url, "metrics.plan.kpi_snapshot")
    assert D(first["objectives"][0]["actual"]) == gross_registrations
    assert D(snapshot["objectives"][0]["actual"]) == gross_registrations - 400
    assert snapshot["excluded_entity_days"] == 1

    # Clearing it brings net back to gross; a second scan publishes nothing new.
    cleared = await metrics_client.put(url, json={"status": "cleared"}, headers=MANAGER)
    assert cleared.status_code == 200
    assert D((await _registrations(metrics_client, plan_id))["actual_net"]) == gross_registrations
    await job.run_once(sessions, settings, NOW)
    await job.run_once(sessions, settings, NOW + timedelta(hours=1))
    await sessions_engine.dispose()
    assert len(await _outbox(database_url, FRAUD_EVENT)) == 5
    statuses = await metrics_client.get(
        f"/metrics/plans/{plan_id}/fraud-flags", params={"status": "cleared"}, headers=MANAGER
    )
    assert [f["entity"] for f in statuses.json()["items"]] == ["amb-spike"]
    everything = await metrics_client.get(f"/metrics/plans/{plan_id}/fraud-flags", headers=MANAGER)
    assert len(everything.json()["items"]) == 5
    bogus = await metrics_client.get(
        f"/metrics/plans/{plan_id}/fraud-flags", params={"status": "bogus"}, headers=MANAGER
    )
    assert bogus.status_code == 422


def test_the_scan_runs_in_the_metrics_service() -> None:
    assert "metrics-fraud" in {job.name for job in DEFINITION.jobs}


async def test_a_code_is_not_its_own_peer_and_old_days_are_not_rescanned(
    metrics_client: httpx.AsyncClient, database_url: str, settings: Settings
) -> None:
    # Two peers are fewer than the three a comparison needs: the zombie code goes unflagged.
    day = SUSPECT_DAY.isoformat()
    rows = [
        (code, day, metric, value)
        for code, retention in (("school-a", "0.45"), ("school-b", "0.40"), ("amb-zombie", "0.02"))
        for metric, value in (("registrations", "30"), ("next_day_retention", retention))
    ]
    # Conversions without clicks, but a week before the days the scan looks back over.
    old = (SUSPECT_DAY - timedelta(days=7)).isoformat()
    rows += [("school-a", old, "clicks", "0"), ("school-a", old, "conversions", "9")]
    await _plan(metrics_client, database_url, rows)
    engine = create_engine(database_url)
    (job,) = FRAUD_JOBS
    await job.run_once(create_sessionmaker(engine), settings, NOW)
    await engine.dispose()
    assert await _outbox(database_url, FRAUD_EVENT) == []


async def test_a_reviewer_can_flag_an_entity_day_by_hand(
    metrics_client: httpx.AsyncClient, database_url: str
) -> None:
    plan_id, source = await _plan(metrics_client, database_url)
    body = {
        "source_id": source,
        "entity": "school-a",
        "day": "2024-06-14",
        "reason": "ambassador admitted paying for sign-ups",
        "status": "excluded",
    }
    url = f"/metrics/plans/{plan_id}/fraud-flags"
    created = await metrics_client.post(url, json=body, headers=MANAGER)
    assert created.status_code == 201, created.text
    # the flag's own address: where a reviewer PUTs the decision
    assert created.headers["location"] == f"{url}/{created.json()['id']}"
    assert (created.json()["signal"], created.json()["status"]) == ("manual", "excluded")
    again = await metrics_client.post(url, json=body, headers=MANAGER)
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    missing = await metrics_client.post(url, json={**body, "day": "2023-01-01"}, headers=MANAGER)
    assert missing.status_code == 404
    unknown = await metrics_client.put(
        f"{url}/{uuid.uuid4()}", json={"status": "cleared"}, headers=MANAGER
    )
    assert unknown.status_code == 404
    standing = await _registrations(metrics_client, plan_id)
    assert D(standing["actual_gross"]) - D(standing["actual_net"]) == D(
        next(r[3] for r in _rows() if r[0] == "school-a" and r[1] == "2024-06-14")
    )
