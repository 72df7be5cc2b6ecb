"""Short kill -9 runs (``make chaos`` is the long one), over the embedded log and over Kafka.

Relay and consumer processes SIGKILLed at every fault point and at random, then healed: nothing
is lost, no effect happens twice and every subject keeps its order.
"""

from __future__ import annotations

import pytest

from chaos.buses import KafkaTarget
from chaos.harness import FAULT_POINTS, RANDOM_KILL, Plan, run
from chaos.report import DRAINED, Report
from shared.kit.faults import CONSUMER_AFTER_EFFECT
from tests.kafka_broker import KafkaBroker

SHORT = Plan(
    events=400,
    subjects=20,
    window=400,
    probability=0.1,
    random_kill_mean_seconds=2.0,
    min_kills=8,
    fault_timeout_seconds=300,
    stall_seconds=120,
    heal_timeout_seconds=300,
)

# Only the consumer dies, only between committing its effects and committing the offset.
BETWEEN_EFFECT_AND_COMMIT = Plan(
    events=100,
    subjects=10,
    window=100,
    probability=0.5,
    fault_points=(CONSUMER_AFTER_EFFECT,),
    random_kill_mean_seconds=0,
    min_kills=2,
    fault_timeout_seconds=300,
    stall_seconds=120,
    heal_timeout_seconds=300,
)


def _target(broker: KafkaBroker) -> KafkaTarget:
    return KafkaTarget(broker.bootstrap_servers, broker.idempotence, 3, broker.replication_factor)


def assert_nothing_lost_doubled_or_reordered(report: Report, plan: Plan) -> None:
    print(report.table())
    assert report.heal_outcome == DRAINED, report.table()
    assert report.total_kills >= plan.min_kills, report.table()
    assert set(report.kills) == {*plan.fault_points, RANDOM_KILL}
    assert report.events >= plan.events
    assert report.lost == 0, report.table()
    assert report.duplicate_effects == 0, report.table()
    assert report.order_violations == 0, report.table()
    assert report.dead_letters == 0, report.table()
    assert report.applied == report.events
    assert report.passed


async def test_killing_relay_and_consumer_over_the_embedded_log_loses_nothing(
    server_url: str,
) -> None:
    report = await run(server_url=server_url, plan=SHORT, seed=20261124)
    assert_nothing_lost_doubled_or_reordered(report, SHORT)
    assert set(report.kills) == {*FAULT_POINTS, RANDOM_KILL}


@pytest.mark.kafka
async def test_killing_relay_and_consumer_over_kafka_loses_nothing(
    server_url: str, kafka_broker: KafkaBroker
) -> None:
    report = await run(server_url=server_url, kafka=_target(kafka_broker), plan=SHORT, seed=7)
    assert_nothing_lost_doubled_or_reordered(report, SHORT)


@pytest.mark.parametrize("bus", ["embedded", pytest.param("kafka", marks=pytest.mark.kafka)])
async def test_a_consumer_killed_between_effect_and_commit_gets_a_redelivery_the_inbox_absorbs(
    bus: str, server_url: str, request: pytest.FixtureRequest
) -> None:
    kafka = _target(request.getfixturevalue("kafka_broker")) if bus == "kafka" else None
    plan = BETWEEN_EFFECT_AND_COMMIT
    report = await run(server_url=server_url, kafka=kafka, plan=plan, seed=11)
    assert_nothing_lost_doubled_or_reordered(report, plan)
    assert report.kills == {CONSUMER_AFTER_EFFECT: report.total_kills, RANDOM_KILL: 0}
    # The relay never died, so every duplicate delivery is a batch applied, not committed,
    # and fetched again: at least one per kill, and none became a second effect.
    assert report.duplicates_delivered >= report.kills[CONSUMER_AFTER_EFFECT]
