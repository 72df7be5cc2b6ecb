"""A short kill -9 run (``make chaos`` is the long one): relay and consumer processes SIGKILLed
at every fault point and at random lose nothing, duplicate no effect and keep subject order."""

from __future__ import annotations

from chaos.harness import FAULT_POINTS, RANDOM_KILL, run


async def test_killing_relay_and_consumer_loses_and_duplicates_nothing(server_url: str) -> None:
    report = await run(
        server_url=server_url,
        events=400,
        subjects=20,
        probability=0.15,
        random_kill_mean_seconds=1.0,
        min_kills=8,
        seed=20261124,
        timeout_seconds=300,
    )
    print(report.table())
    assert report.finished, report.table()
    assert report.total_kills >= 8
    assert set(report.kills) == {*FAULT_POINTS, RANDOM_KILL}
    assert report.lost == 0
    assert report.duplicate_effects == 0
    assert report.order_violations == 0
    assert report.applied == report.events
