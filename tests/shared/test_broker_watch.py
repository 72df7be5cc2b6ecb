"""Readiness turns false within KAFKA_READINESS_TIMEOUT_SECONDS of the broker's last answer."""

from __future__ import annotations

from collections.abc import Sequence

from shared.kit.bus.health import BrokerWatch
from shared.kit.bus.transport import Message, TransportUnavailable


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Broker:
    """A publisher whose broker answers probes only while it is up."""

    def __init__(self) -> None:
        self.up = True
        self.probes: list[float] = []

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, messages: Sequence[Message]) -> None: ...

    async def probe(self, timeout_seconds: float) -> None:
        self.probes.append(timeout_seconds)
        if not self.up:
            raise TransportUnavailable("Kafka at k:9092: probe failed: timed out")


async def test_ready_until_the_timeout_passes_without_an_answer_then_ready_on_the_next() -> None:
    clock, broker = Clock(), Broker()
    watch = BrokerWatch(broker, timeout_seconds=15, clock=clock)
    assert await watch.check()

    broker.up = False
    clock.now += 14.9
    assert not await watch.check()
    assert watch.healthy  # one unanswered probe is not an outage yet
    clock.now += 0.2
    assert not watch.healthy  # 15.1 s without an answer

    broker.up = True
    assert await watch.check()
    assert watch.healthy


async def test_each_probe_waits_at_most_a_third_of_the_timeout() -> None:
    broker = Broker()
    watch = BrokerWatch(broker, timeout_seconds=15, clock=Clock())
    await watch.check()
    assert broker.probes == [5.0]
