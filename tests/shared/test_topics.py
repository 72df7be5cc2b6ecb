"""Topic declaration: what each service needs, and creating only what is missing."""

from __future__ import annotations

from typing import Any

import pytest

from shared.contract.events import CATALOGUE
from shared.contract.events.planning import PlanCreatedV1
from shared.kit.bus.inbox import subscribe
from shared.kit.bus.topics import TopicCreationFailed, TopicSpec, ensure_topics, service_topics
from shared.kit.settings import Settings


async def _noop(*_args: object) -> None:
    return None


def test_a_service_needs_the_topics_it_publishes_and_the_ones_it_consumes() -> None:
    settings = Settings(topic_prefix="prod.", kafka_topic_partitions=12, kafka_replication_factor=3)
    specs = service_topics("tasks", [subscribe("tasks", _noop, PlanCreatedV1)], CATALOGUE, settings)
    assert [s.name for s in specs] == ["prod.planning.plan", "prod.tasks.task"]
    assert {(s.partitions, s.replication_factor) for s in specs} == {(12, 3)}


class FakeAdmin:
    """Records create_topics calls; answers like a broker with some topics present."""

    def __init__(self, existing: list[str], errors: list[tuple[str, int, str]] | None = None):
        self.existing = existing
        self.errors = errors or []
        self.created: list[Any] = []

    async def list_topics(self) -> list[str]:
        return self.existing

    async def create_topics(self, new_topics: list[Any], timeout_ms: int | None = None) -> Any:  # noqa: ARG002
        self.created += new_topics

        class Response:
            topic_errors = [(t.name, 0, None) for t in new_topics] + self.errors

        return Response()


SPECS = [TopicSpec("a", 3, 1, 1000), TopicSpec("b", 3, 1, 1000)]


async def test_only_missing_topics_are_created_with_their_settings() -> None:
    admin = FakeAdmin(existing=["a"])
    assert await ensure_topics(admin, SPECS) == ["b"]
    (topic,) = admin.created
    assert (topic.name, topic.num_partitions, topic.replication_factor) == ("b", 3, 1)
    assert topic.topic_configs == {"retention.ms": "1000"}
    assert await ensure_topics(FakeAdmin(existing=["a", "b"]), SPECS) == []


async def test_a_refused_creation_stops_the_start_with_the_brokers_reason() -> None:
    admin = FakeAdmin(existing=[], errors=[("b", 38, "INVALID_REPLICATION_FACTOR")])
    with pytest.raises(TopicCreationFailed, match="b: error 38 INVALID_REPLICATION_FACTOR"):
        await ensure_topics(admin, SPECS)
