"""Fraud on arrival: the peer-outlier signal, flagged within a minute of its batch by the
arrivals job (driven with a fixed clock), and left out of net figures once a reviewer confirms."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
from sqlalchemy import insert

from services.metrics.app import DEFINITION
from services.metrics.fraud import signals as fraud
from services.metrics.fraud.arrivals import JOBS as ARRIVALS
from services.metrics.models import FraudArrivalMark
from shared.kit.db import create_engine, create_sessionmaker
from shared.kit.settings import Settings
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
from tests.metrics.test_fraud import FRAUD_EVENT, _outbox

D = Decimal
DAY = "2024-06-16"
NOW = datetime(2024, 6, 16, 4, 0, tzinfo=UTC)  # noon on the 16th in Shanghai
# Four schools with 25, 30, 30 and 35 sign-ups (median 30, MAD 2.5 floored to 3) and a school
# seen for the first time with 300: ten times the median, robust z 0.6745 x 270 / 3 = 60.705.
PEERS = (("school-a", 25), ("school-b", 30), ("school-c", 30), ("school-d", 35))
NEWCOMER = ("school-new", 300)


def test_the_peer_outlier_needs_ten_times_the_median_and_a_high_robust_z() -> None:
    peers = [D(v) for _, v in PEERS]
    fired = fraud.peer_outlier(D(300), peers)
    assert fired is not None
    assert (fired.signal, fired.score) == ("registrations_peer_outlier", D("60.7050"))
    assert "10.0x the peers' median 30" in fired.detail
    # 290 is far out by z-score but only 9.7x the median: the multiple is not reached.
    assert fraud.peer_outlier(D(290), peers) is None
    # Two peers are too few to compare with; small numbers are not judged.
    assert fraud.peer_outlier(D(300), peers[:2]) is None
    assert fraud.peer_outlier(D(15), [D(1), D(1), D(1)]) is None
    # Both thresholds are settings: a stricter z-score leaves 60.705 unflagged, a lower multiple
    # flags 290.
    strict = fraud.FraudThresholds(peer_z_threshold=D(61))
    assert fraud.peer_outlier(D(300), peers, strict) is None
    assert fraud.peer_outlier(D(290), peers, fraud.FraudThresholds(peer_ratio=D(9))) is not None


async def test_a_peer_outlier_school_is_flagged_within_a_minute_and_net_excludes_it_once_confirmed(
    metrics_client: httpx.AsyncClient, database_url: str, settings: Settings
) -> None:
    plan_id = uuid.uuid4()
    await announce(
        metrics_client, database_url, plan_targets(plan_id, objective("registrations", 5000))
    )
    source, secret = await register(metrics_client)
    await map_entities(metrics_client, source, plan_id, *(code for code, _ in (*PEERS, NEWCOMER)))
    engine = create_engine(database_url)
    sessions = create_sessionmaker(engine)
    (job,) = ARRIVALS
    assert job.interval_seconds <= 60
    await job.run_once(sessions, settings, NOW)  # the run before the batch arrives

    rows = [(code, DAY, "registrations", str(n)) for code, n in (*PEERS, NEWCOMER)]
    stored = await post(metrics_client, source, secret, canonical("2024-06-16T03:59:00Z", *rows))
    assert stored.status_code == 200, stored.text
    # Another replica's run, ten seconds on, saw a newer batch's revision ids while this one was
    # still committing (its ids are lower): the next run reads back past that mark.
    async with engine.begin() as conn:
        await conn.execute(
            insert(FraudArrivalMark).values(at=NOW + timedelta(seconds=10), last_revision=10**9)
        )

    await job.run_once(sessions, settings, NOW + timedelta(seconds=job.interval_seconds))
    events = await _outbox(database_url, FRAUD_EVENT)
    assert [(e["signal"], e["channel_code"], e["day"], D(e["score"])) for e in events] == [
        ("registrations_peer_outlier", "school-new", DAY, D("60.705"))
    ]
    # The next runs read the batch again (their overlap) and raise nothing twice.
    await job.run_once(sessions, settings, NOW + timedelta(seconds=40))
    await job.run_once(sessions, settings, NOW + timedelta(minutes=5))
    await engine.dispose()
    assert len(await _outbox(database_url, FRAUD_EVENT)) == 1

    async def registrations() -> tuple[D, D, int]:
        got = await metrics_client.get(
            f"/metrics/plans/{plan_id}/kpis", params={"as_of": DAY}, headers=MANAGER
        )
        assert got.status_code == 200, got.text
        (row,) = got.json()["objectives"]
        return D(row["actual_gross"]), D(row["actual_net"]), got.json()["excluded_entity_days"]

    assert await registrations() == (D(420), D(420), 0)  # 25 + 30 + 30 + 35 + 300
    (flag,) = (
        await metrics_client.get(f"/metrics/plans/{plan_id}/fraud-flags", headers=MANAGER)
    ).json()["items"]
    decided = await metrics_client.put(
        f"/metrics/plans/{plan_id}/fraud-flags/{flag['id']}",
        json={"status": "excluded", "note": "sign-ups from one dormitory IP"},
        headers=MANAGER,
    )
    assert decided.status_code == 200, decided.text
    assert await registrations() == (D(420), D(120), 1)


def test_the_arrivals_job_runs_in_the_metrics_service() -> None:
    assert "metrics-fraud-arrivals" in {job.name for job in DEFINITION.jobs}
