"""One harness process: ``python -m chaos.worker relay`` or ``python -m chaos.worker consumer``.

Both run the kit's real Relay, Inbox and ConsumerLoop against the harness schema, over the bus
CHAOS_BUS names (embedded or kafka), with the fault points armed through the environment (see
shared/kit/faults.py).
"""

from __future__ import annotations

import asyncio
import os
import sys

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from chaos.buses import worker_transport
from chaos.schema import bus, effects, order_violations
from shared.contract.envelope import Envelope
from shared.contract.events import CATALOGUE
from shared.contract.events.planning import PlanCreatedV1
from shared.kit.bus.consumer import ConsumerLoop
from shared.kit.bus.inbox import Inbox, subscribe
from shared.kit.bus.relay import Relay
from shared.kit.db import create_engine, create_sessionmaker


async def apply(event: PlanCreatedV1, envelope: Envelope, session: AsyncSession) -> None:
    """The effect: one row per applied event, and a violation row when a subject skips ahead."""
    subject, seq_text = event.name.rsplit("#", 1)
    seq = int(seq_text)
    last = await session.scalar(
        select(func.coalesce(func.max(effects.c.seq), 0)).where(effects.c.subject == subject)
    )
    if seq != int(last or 0) + 1:
        await session.execute(
            insert(order_violations).values(subject=subject, expected=int(last or 0) + 1, got=seq)
        )
    await session.execute(insert(effects).values(subject=subject, seq=seq, event_id=envelope.id))


class CountingInbox(Inbox):
    """Counts redeliveries the inbox absorbed, in a file that survives the kill."""

    async def receive(self, raw: bytes) -> str:
        """Apply through the real inbox; note a duplicate delivery."""
        outcome = await super().receive(raw)
        if outcome == "duplicate":
            # A tiny append; blocking the loop for it is harmless in the harness.
            with open(os.environ["DELIVERY_LOG"], "a") as log:  # noqa: ASYNC230
                log.write("duplicate\n")
        return outcome


async def main(role: str) -> None:
    """Run one role until killed."""
    engine = create_engine(os.environ["CHAOS_DATABASE_URL"], application_name=f"chaos-{role}")
    transport, topic_prefix, group = worker_transport(engine)
    stop = asyncio.Event()
    if role == "relay":
        publisher = transport.publisher()
        await publisher.start()
        relay = Relay(
            engine,
            bus.outbox,
            publisher,
            topic_prefix=topic_prefix,
            batch_size=int(os.environ.get("RELAY_BATCH_SIZE", "50")),
            idle_poll_seconds=0.05,
        )
        await relay.run(stop)
        return
    subscriber = subscribe("chaos", apply, PlanCreatedV1)
    inbox = CountingInbox(
        subscriber, bus, create_sessionmaker(engine), CATALOGUE, max_attempts=1000
    )
    subscription = transport.subscription(group, [topic_prefix + t for t in subscriber.topics])
    await ConsumerLoop(subscription, inbox, max_records=50, fetch_timeout_seconds=0.2).run(stop)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
