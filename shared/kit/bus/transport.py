"""What a transport must do; the relay and the consumer loop are written against these."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Message:
    """One record on a topic. ``key`` is the event subject: one key, one partition, one order."""

    topic: str
    key: str
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = field(default=())


class TransportUnavailable(ConnectionError):
    """The broker did not accept (or could not be reached for) a publish, fetch or commit."""


class Publisher(Protocol):
    """Sends messages; used by exactly one relay per service."""

    async def start(self) -> None:
        """Connect; raise TransportUnavailable if the broker cannot be reached."""

    async def stop(self) -> None:
        """Flush what is in flight and disconnect."""

    async def probe(self, timeout_seconds: float) -> None:
        """Ask the broker something it must answer; raise TransportUnavailable if it does not."""

    async def publish(self, messages: Sequence[Message]) -> None:
        """Return only once every message is durably accepted, in order per key.

        Raises TransportUnavailable otherwise; the caller then re-sends all of them
        (at-least-once), so a partial success may produce duplicates, never a gap.
        """


class Subscription(Protocol):
    """One consumer group reading a set of topics; offsets move only on commit()."""

    async def start(self) -> None:
        """Join the group; raise TransportUnavailable if the broker cannot be reached."""

    async def stop(self) -> None:
        """Leave the group without committing anything new."""

    async def fetch(self, max_records: int, timeout_seconds: float) -> Sequence[Message]:
        """Next records after the current position, in order per key; empty on timeout."""

    async def commit(self) -> None:
        """Commit the position after all fetched so far (call once the effects committed)."""

    async def rewind(self) -> None:
        """Go back to the last committed position, so uncommitted records are fetched again."""


class Transport(Protocol):
    """Factory of publishers and subscriptions for one broker."""

    def publisher(self) -> Publisher:
        """A new publisher."""

    def subscription(self, group: str, topics: Sequence[str]) -> Subscription:
        """A new subscription for a consumer group."""
