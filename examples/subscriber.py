"""A minimal subscriber for another company system: read planning's plan events from Kafka.

Run it against a deployment: ``KAFKA_BOOTSTRAP_SERVERS=kafka:9092 python examples/subscriber.py``.
It shows the three rules of the catalogue: decode the envelope, dedupe on ``id`` (delivery is at
least once), and commit the offset only after the event was handled.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

TOPICS = ["planning.plan"]
HANDLED_VERSIONS = {("planning.plan.approved", 1), ("planning.plan.targets_set", 1)}


def handle(raw: bytes, seen: set[str]) -> str:
    """Apply one record: 'applied', 'duplicate' or 'skipped' (a type or version we do not read)."""
    envelope: dict[str, Any] = json.loads(raw)
    if envelope["id"] in seen:
        return "duplicate"
    if (envelope["type"], envelope["version"]) not in HANDLED_VERSIONS:
        return "skipped"
    # A real subscriber stores the id in the same transaction as its own effect.
    seen.add(envelope["id"])
    print(envelope["type"], "for plan", envelope["subject"], envelope["data"].get("version"))
    return "applied"


async def main() -> None:
    """Consume until interrupted, committing after each handled batch."""
    from aiokafka import AIOKafkaConsumer

    prefix = os.environ.get("TOPIC_PREFIX", "")
    consumer = AIOKafkaConsumer(
        *(prefix + t for t in TOPICS),
        bootstrap_servers=os.environ["KAFKA_BOOTSTRAP_SERVERS"],
        group_id="example-subscriber",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    seen: set[str] = set()
    await consumer.start()
    try:
        async for record in consumer:
            handle(record.value, seen)
            await consumer.commit()
    finally:
        await consumer.stop()


if __name__ == "__main__":
    asyncio.run(main())
