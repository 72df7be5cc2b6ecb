"""Small deliveries are stored in groups: one transaction for many requests, each request still
answered on its own, after the commit, exactly as if it had come alone."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from decimal import Decimal

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from services.metrics.facts import coalesce
from services.metrics.facts.signatures import new_secret
from shared.kit.app import create_service_app
from shared.kit.settings import Settings
from tests.harness.apps import BY_NAME, one_service
from tests.metrics.helpers import canonical, post, register

DELIVERIES = 200
KEYS = 50


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The usual test settings, with a webhook rate limit a 200-delivery burst stays under."""
    return settings.model_copy(update={"rate_limit_webhooks": "100000/second"})


def _libpq(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(False)


async def _scalar(database_url: str, query: str) -> object:
    conn = await asyncpg.connect(_libpq(database_url))
    try:
        return await conn.fetchval(query)
    finally:
        await conn.close()


def _report(n: int) -> dict[str, object]:
    """Delivery n reports key c{n % 50}; later deliveries carry later reports."""
    minute, second = divmod(n, 60)
    return canonical(
        f"2024-06-08T09:{minute:02d}:{second:02d}Z",
        (f"c{n % KEYS}", "2024-06-07", "clicks", str(n)),
    )


async def test_two_hundred_concurrent_single_row_deliveries_share_few_transactions(
    metrics_client: httpx.AsyncClient, database_url: str
) -> None:
    source, secret = await register(metrics_client)
    answers = await asyncio.gather(
        *(
            post(metrics_client, source, secret, _report(n), delivery_id=f"msg_{n}")
            for n in range(DELIVERIES)
        )
    )
    assert [a.status_code for a in answers] == [200] * DELIVERIES, [
        a.text for a in answers if a.status_code != 200
    ][:2]
    bodies = [a.json() for a in answers]
    for n, body in enumerate(bodies):
        assert body["delivery_id"] == f"msg_{n}"
        assert (body["rows"], body["facts"]) == (1, 1)
        assert body["inserted"] + body["revised"] + body["ignored_stale"] == 1
    # Each key is new exactly once; every other report of it is a revision or stale.
    assert sum(b["inserted"] for b in bodies) == KEYS
    assert sum(b["revised"] + b["ignored_stale"] for b in bodies) == DELIVERIES - KEYS

    libpq = _libpq(database_url)
    conn = await asyncpg.connect(libpq)
    try:
        facts = {
            r["entity"]: r["value"]
            for r in await conn.fetch("SELECT entity, value FROM metrics.facts")
        }
        # The latest report of each key wins, whatever the order the requests came in.
        assert facts == {f"c{k}": Decimal(k + 150) for k in range(KEYS)}
        assert await conn.fetchval("SELECT count(*) FROM metrics.fact_revisions") == DELIVERIES
        stored = {
            r["delivery_id"]: json.loads(r["response"])
            for r in await conn.fetch("SELECT delivery_id, response::text FROM metrics.deliveries")
        }
        assert stored == {b["delivery_id"]: b for b in bodies}
        # One event per delivery, written by far fewer transactions than deliveries.
        events = await conn.fetch(
            "SELECT envelope->'data' AS data, xmin::text AS tx FROM metrics.outbox "
            "WHERE event_type = 'metrics.source.ingested'"
        )
        transactions = await conn.fetchval(
            "SELECT count(DISTINCT xmin::text) FROM metrics.deliveries"
        )
    finally:
        await conn.close()
    assert len(events) == DELIVERIES
    assert isinstance(transactions, int)
    assert transactions <= DELIVERIES // 10, transactions
    assert len({e["tx"] for e in events}) == transactions

    again = await post(metrics_client, source, secret, _report(7), delivery_id="msg_7")
    assert (again.status_code, again.json()) == (200, bodies[7])
    reused = await post(metrics_client, source, secret, _report(8), delivery_id="msg_7")
    assert reused.status_code == 409


async def test_duplicates_inside_one_group_get_one_answer_or_409(
    metrics_client: httpx.AsyncClient, database_url: str
) -> None:
    source, secret = await register(metrics_client)
    first = canonical("2024-06-08T09:00:00Z", ("c1", "2024-06-07", "clicks", "120"))
    other = canonical("2024-06-08T09:00:00Z", ("c1", "2024-06-07", "clicks", "999"))
    payloads = [first] * 5 + [other] + [first] * 4
    answers = await asyncio.gather(
        *(post(metrics_client, source, secret, p, delivery_id="msg_dup") for p in payloads)
    )
    by_body: dict[int, set[int]] = {}
    for p, a in zip(payloads, answers, strict=True):
        by_body.setdefault(int(p["rows"][0]["value"]), set()).add(a.status_code)
    # Whichever body came first is stored; every copy of it gets 200, the other body 409.
    assert sorted(by_body.values(), key=sorted) in ([{200}, {409}], [{409}, {200}])
    winner = next(v for v, codes in by_body.items() if codes == {200})
    ok = [a.json() for a in answers if a.status_code == 200]
    assert all(o == ok[0] for o in ok)
    assert ok[0]["inserted"] == 1
    assert await _scalar(database_url, "SELECT value FROM metrics.facts") == Decimal(winner)
    assert await _scalar(database_url, "SELECT count(*) FROM metrics.fact_revisions") == 1
    assert await _scalar(database_url, "SELECT count(*) FROM metrics.deliveries") == 1


async def test_a_delivery_the_database_refuses_does_not_sink_its_group(
    metrics_client: httpx.AsyncClient, database_url: str
) -> None:
    source, secret = await register(metrics_client)
    good = [
        canonical("2024-06-08T09:00:00Z", (f"c{n}", "2024-06-07", "clicks", "1")) for n in range(10)
    ]
    bad = canonical("2024-06-08T09:00:00Z", ("nul\u0000here", "2024-06-07", "clicks", "1"))
    answers = await asyncio.gather(*(post(metrics_client, source, secret, p) for p in [*good, bad]))
    assert [a.status_code for a in answers] == [200] * 10 + [422], answers[-1].text
    assert await _scalar(database_url, "SELECT count(*) FROM metrics.facts") == 10
    assert await _scalar(database_url, "SELECT count(*) FROM metrics.deliveries") == 10


async def test_unsigned_and_unknown_source_deliveries_are_refused_in_their_group(
    metrics_client: httpx.AsyncClient, database_url: str
) -> None:
    source, secret = await register(metrics_client)
    batch = canonical("2024-06-08T09:00:00Z", ("c1", "2024-06-07", "clicks", "1"))
    answers = await asyncio.gather(
        post(metrics_client, source, secret, batch),
        post(metrics_client, source, new_secret(), batch),
        post(metrics_client, source, secret, batch, tamper=True),
        post(metrics_client, "00000000-0000-0000-0000-000000000001", secret, batch),
    )
    assert [a.status_code for a in answers] == [200, 401, 401, 404]
    assert await _scalar(database_url, "SELECT count(*) FROM metrics.deliveries") == 1


@pytest.fixture
async def impatient(settings: Settings, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The metrics service whose statements give up after 300 ms."""
    quick = settings.model_copy(update={"db_statement_timeout_ms": 300})
    async with one_service("metrics", quick, database_url) as (_app, http):
        yield http


async def test_a_failed_group_answers_503_to_every_delivery_and_stores_nothing(
    impatient: httpx.AsyncClient, database_url: str
) -> None:
    source, secret = await register(impatient)
    batches = [
        canonical("2024-06-08T09:00:00Z", (f"c{n}", "2024-06-07", "clicks", "1")) for n in range(20)
    ]
    maintenance = await asyncpg.connect(_libpq(database_url))
    try:
        locked = maintenance.transaction()
        await locked.start()
        await maintenance.execute("LOCK TABLE metrics.facts IN ACCESS EXCLUSIVE MODE")
        refused = await asyncio.gather(
            *(
                post(impatient, source, secret, b, delivery_id=f"msg_{n}")
                for n, b in enumerate(batches)
            )
        )
        await locked.rollback()
        assert {r.status_code for r in refused} == {503}
        assert {r.headers["retry-after"] for r in refused} == {"1"}
        for table in ("facts", "fact_revisions", "deliveries", "outbox"):
            assert await maintenance.fetchval(f"SELECT count(*) FROM metrics.{table}") == 0

        stored = await asyncio.gather(
            *(
                post(impatient, source, secret, b, delivery_id=f"msg_{n}")
                for n, b in enumerate(batches)
            )
        )
        assert {r.status_code for r in stored} == {200}
        assert await maintenance.fetchval("SELECT count(*) FROM metrics.facts") == 20
    finally:
        await maintenance.close()


async def test_deliveries_waiting_at_shutdown_are_stored_before_the_app_stops(
    settings: Settings, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(coalesce, "FLUSH_SECONDS", 60.0)  # only the shutdown flushes
    metrics_app = create_service_app(
        BY_NAME["metrics"], settings=settings, database_url=database_url, consumers=False
    )
    transport = httpx.ASGITransport(app=metrics_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        async with metrics_app.router.lifespan_context(metrics_app):
            source, secret = await register(http)
            batch = canonical("2024-06-08T09:00:00Z", ("c1", "2024-06-07", "clicks", "5"))
            pending = [asyncio.create_task(post(http, source, secret, batch)) for _ in range(5)]
            for _ in range(200):
                if metrics_app.state.coalescer.queued == 5:
                    break
                await asyncio.sleep(0.01)
            assert metrics_app.state.coalescer.queued == 5
        answers = await asyncio.gather(*pending)
    assert {a.status_code for a in answers} == {200}
    assert metrics_app.state.coalescer is None
    assert not [t for t in asyncio.all_tasks() if "coalescer" in t.get_name()]
    assert await _scalar(database_url, "SELECT count(*) FROM metrics.deliveries") == 5
