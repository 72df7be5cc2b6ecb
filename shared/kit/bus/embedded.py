"""The embedded transport: a durable, Kafka-like log kept in PostgreSQL.

Why not an in-memory queue: once the relay marks an event sent, the only copy is on the
transport, so a process crash before a consumer ran would lose it. This log keeps records
per topic with gap-free offsets and committed positions per consumer group, so the embedded
mode has the same at-least-once semantics, crash behaviour and code path as Kafka.
One topic is one partition: order per topic, hence per subject.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.kit.bus.transport import Message, TransportUnavailable
from shared.kit.listen import listen
from shared.kit.locks import advisory_key

SCHEMA_DDL = (
    "CREATE SCHEMA IF NOT EXISTS bus",
    "CREATE TABLE IF NOT EXISTS bus.topics (topic text PRIMARY KEY, next_offset bigint NOT NULL)",
    """CREATE TABLE IF NOT EXISTS bus.records (
        topic text NOT NULL, "offset" bigint NOT NULL, key text NOT NULL, value bytea NOT NULL,
        headers jsonb NOT NULL DEFAULT '[]', appended_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (topic, "offset"))""",
    """CREATE TABLE IF NOT EXISTS bus.group_offsets (
        group_id text NOT NULL, topic text NOT NULL, next_offset bigint NOT NULL,
        PRIMARY KEY (group_id, topic))""",
)

# Taking the topic row lock for the whole append makes offsets follow commit order,
# so a reader never sees offset n+1 committed while n is still in flight.
RESERVE = text(
    "INSERT INTO bus.topics AS t (topic, next_offset) VALUES (:topic, :n) "
    "ON CONFLICT (topic) DO UPDATE SET next_offset = t.next_offset + :n RETURNING t.next_offset"
)
# The append also NOTIFYs the topic (delivered on commit), so a consumer in another process
# reads it at once rather than at its next poll; in this process, _notify wakes it sooner still.
RECORDS_CHANNEL = "bus_records"
APPEND = text(
    'WITH appended AS (INSERT INTO bus.records (topic, "offset", key, value, headers) '
    "SELECT :topic, o, k, v, h::jsonb FROM unnest("
    "CAST(:offsets AS bigint[]), CAST(:keys AS text[]), CAST(:values AS bytea[]), "
    "CAST(:headers AS text[])) AS r(o, k, v, h)) SELECT pg_notify('bus_records', :topic)"
)
FETCH = text(
    'SELECT r.topic, r."offset", r.key, r.value, r.headers FROM unnest('
    "CAST(:topics AS text[]), CAST(:positions AS bigint[])) AS p(topic, pos) "
    'JOIN bus.records r ON r.topic = p.topic AND r."offset" >= p.pos '
    'ORDER BY r.topic, r."offset" LIMIT :limit'
)
COMMITTED = text("SELECT topic, next_offset FROM bus.group_offsets WHERE group_id = :group")
COMMIT = text(
    "INSERT INTO bus.group_offsets (group_id, topic, next_offset) "
    "SELECT :group, t, o "
    "FROM unnest(CAST(:topics AS text[]), CAST(:offsets AS bigint[])) AS x(t, o) "
    "ON CONFLICT (group_id, topic) DO UPDATE SET next_offset = EXCLUDED.next_offset"
)


class EmbeddedTransport:
    """Publishers and subscriptions over the PostgreSQL log; share one instance per process
    so that a publish wakes local consumers at once."""

    def __init__(self, engine: AsyncEngine, *, poll_seconds: float = 0.5) -> None:
        self.engine = engine
        self.poll_seconds = poll_seconds
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)
        self._schema_ready = False
        # Group membership is a session advisory lock. One connection holds every group this
        # process is a member of: one per consumer took 47 of the embedded server's 100
        # connections at rest, and reads 503'd for want of the rest.
        self._membership: AsyncConnection | None = None
        self._members: dict[str, object] = {}  # group → the subscription reading it here
        self._membership_lock = asyncio.Lock()
        # One LISTEN connection while any subscription here is started (see RECORDS_CHANNEL).
        self._subscribed = 0
        self._listening: asyncio.Task[None] | None = None
        self._stop_listening = asyncio.Event()

    async def ensure_schema(self) -> None:
        """Create the log tables once (like a broker auto-creating topics)."""
        if self._schema_ready:
            return
        async with _guard(), self.engine.begin() as conn:
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(:k)"), {"k": advisory_key("bus:ddl")}
            )
            for statement in SCHEMA_DDL:
                await conn.execute(text(statement))
        self._schema_ready = True

    def publisher(self) -> EmbeddedPublisher:
        """A new publisher."""
        return EmbeddedPublisher(self)

    def subscription(self, group: str, topics: Sequence[str]) -> EmbeddedSubscription:
        """A new subscription for one consumer group."""
        return EmbeddedSubscription(self, group, topics)

    def is_member(self, group: str, member: object) -> bool:
        """True while ``member`` holds the group's membership."""
        return self._members.get(group) is member

    async def join(self, group: str, member: object) -> bool:
        """Make ``member`` the group's one reader unless another (here or in another process)
        is; True when it is."""
        async with self._membership_lock:
            if group in self._members:
                return self._members[group] is member
            async with self._membership_errors():
                if self._membership is None:
                    self._membership = await self.engine.connect()
                got = await self._membership.scalar(
                    text("SELECT pg_try_advisory_lock(:k)"), {"k": advisory_key(f"group:{group}")}
                )
                await self._membership.commit()
            if got:
                self._members[group] = member
            return bool(got)

    async def leave(self, group: str, member: object) -> None:
        """Give the group's membership up; the connection closes with the last group."""
        async with self._membership_lock:
            if self._members.get(group) is not member or self._membership is None:
                return
            del self._members[group]
            async with self._membership_errors():
                # Unlocked explicitly: close() returns the connection to the pool, where a
                # session lock would outlive the membership.
                await self._membership.execute(
                    text("SELECT pg_advisory_unlock(:k)"), {"k": advisory_key(f"group:{group}")}
                )
                await self._membership.commit()
                if not self._members:
                    conn, self._membership = self._membership, None
                    await conn.close()

    @contextlib.asynccontextmanager
    async def _membership_errors(self) -> AsyncIterator[None]:
        """A failed membership connection loses every group: all consumers must rejoin."""
        try:
            async with _guard():
                yield
        except TransportUnavailable:
            conn, self._membership = self._membership, None
            self._members.clear()
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.invalidate()
            raise

    def _subscribe(self) -> None:
        self._subscribed += 1
        if self._listening is None:
            self._stop_listening = asyncio.Event()
            self._listening = asyncio.create_task(
                listen(self.engine, RECORDS_CHANNEL, self._heard, self._stop_listening),
                name="embedded-bus-listener",
            )

    async def _unsubscribe(self) -> None:
        self._subscribed -= 1
        if self._subscribed == 0 and self._listening is not None:
            task, self._listening = self._listening, None
            self._stop_listening.set()
            await task

    def _heard(self, topic: str) -> None:
        # An empty payload is the listener (re)connecting: anything may have been missed.
        self._notify({topic} if topic else set(self._waiters))

    def _notify(self, topics: set[str]) -> None:
        for topic in topics:
            for event in self._waiters.get(topic, ()):
                event.set()


class EmbeddedPublisher:
    """Appends to the log; returns once the append committed."""

    def __init__(self, transport: EmbeddedTransport) -> None:
        self.transport = transport

    async def start(self) -> None:
        """Make sure the log exists."""
        await self.transport.ensure_schema()

    async def stop(self) -> None:
        """Nothing is buffered, so nothing to flush."""

    async def probe(self, timeout_seconds: float) -> None:
        """The log is the database: ask it for one row."""
        engine = self.transport.engine
        async with _guard(), asyncio.timeout(timeout_seconds), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def publish(self, messages: Sequence[Message]) -> None:
        """Append every message in one transaction, topic by topic, in the given order."""
        by_topic: dict[str, list[Message]] = defaultdict(list)
        for message in messages:
            by_topic[message.topic].append(message)
        async with _guard(), self.transport.engine.begin() as conn:
            for topic, batch in sorted(by_topic.items()):
                end = await conn.scalar(RESERVE, {"topic": topic, "n": len(batch)})
                first = int(end or 0) - len(batch)
                await conn.execute(
                    APPEND,
                    {
                        "topic": topic,
                        "offsets": list(range(first, first + len(batch))),
                        "keys": [m.key for m in batch],
                        "values": [m.value for m in batch],
                        "headers": [
                            json.dumps([[k, v.decode()] for k, v in m.headers]) for m in batch
                        ],
                    },
                )
        self.transport._notify(set(by_topic))


class EmbeddedSubscription:
    """One consumer group's cursor over some topics; one active member per group (advisory lock)."""

    def __init__(self, transport: EmbeddedTransport, group: str, topics: Sequence[str]) -> None:
        self.transport = transport
        self.group = group
        self.topics = list(topics)
        self._positions: dict[str, int] = {}
        self._joined = False
        self._listening = False  # counted in the transport's listener
        self._wake = asyncio.Event()

    async def start(self) -> None:
        """Load the committed positions; membership is taken lazily in fetch()."""
        await self.transport.ensure_schema()
        for topic in self.topics:
            self.transport._waiters[topic].add(self._wake)
        if not self._listening:
            self._listening = True
            self.transport._subscribe()
        await self.rewind()

    async def stop(self) -> None:
        """Leave the group; uncommitted positions are forgotten."""
        for topic in self.topics:
            self.transport._waiters[topic].discard(self._wake)
        if self._listening:
            self._listening = False
            await self.transport._unsubscribe()
        if self._joined:
            self._joined = False
            await self.transport.leave(self.group, self)

    async def fetch(self, max_records: int, timeout_seconds: float) -> Sequence[Message]:
        """Records after the current positions; waits up to the timeout for new ones."""
        if not await self._is_member():
            await asyncio.sleep(min(timeout_seconds, self.transport.poll_seconds))
            return []
        self._wake.clear()
        records = await self._read(max_records)
        if not records:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=timeout_seconds)
            records = await self._read(max_records)
        return records

    async def commit(self) -> None:
        """Store the current positions as committed for the group."""
        if not self._positions:
            return
        topics = sorted(self._positions)
        async with _guard(), self.transport.engine.begin() as conn:
            await conn.execute(
                COMMIT,
                {
                    "group": self.group,
                    "topics": topics,
                    "offsets": [self._positions[t] for t in topics],
                },
            )

    async def rewind(self) -> None:
        """Back to the committed positions (earliest for a topic never committed)."""
        async with _guard(), self.transport.engine.connect() as conn:
            rows = (await conn.execute(COMMITTED, {"group": self.group})).all()
        committed = {row.topic: int(row.next_offset) for row in rows}
        self._positions = {topic: committed.get(topic, 0) for topic in self.topics}

    async def _read(self, limit: int) -> list[Message]:
        topics = sorted(self._positions)
        async with _guard(), self.transport.engine.connect() as conn:
            rows = (
                await conn.execute(
                    FETCH,
                    {
                        "topics": topics,
                        "positions": [self._positions[t] for t in topics],
                        "limit": limit,
                    },
                )
            ).all()
        messages = []
        for row in rows:
            self._positions[row.topic] = int(row.offset) + 1
            headers = tuple((k, v.encode()) for k, v in row.headers)
            messages.append(Message(row.topic, row.key, bytes(row.value), headers))
        return messages

    async def _is_member(self) -> bool:
        """Hold the group's membership (one reader per group); on joining, start from the
        committed positions, since another member may have moved them meanwhile."""
        if self._joined and self.transport.is_member(self.group, self):
            return True
        self._joined = False
        if not await self.transport.join(self.group, self):
            return False
        self._joined = True
        await self.rewind()
        return True


class _guard:
    """Translate database connection failures into TransportUnavailable."""

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, exc_type: object, exc: BaseException | None, tb: object) -> bool:
        if isinstance(exc, DBAPIError | OSError):
            raise TransportUnavailable(f"embedded bus unavailable: {exc}") from exc
        return False
