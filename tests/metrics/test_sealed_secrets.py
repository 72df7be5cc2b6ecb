"""Sources' signing secrets are sealed at rest: the raw row (and a kept answer) cannot sign."""

from __future__ import annotations

import json

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from shared.kit.secrets import secret_box
from tests.metrics.helpers import TECH, canonical, post, register


async def _raw(database_url: str, query: str) -> str:
    """What a dump of the database would show: the column as text, read with plain SQL."""
    url = make_url(database_url).set(drivername="postgresql")
    connection = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        text: str = await connection.fetchval(query)
        return text
    finally:
        await connection.close()


async def test_the_stored_source_holds_no_secret_and_deliveries_still_verify(
    metrics_client: httpx.AsyncClient, database_url: str
) -> None:
    source, secret = await register(metrics_client, "meta")
    row = await _raw(
        database_url, f"SELECT secrets::text FROM metrics.sources WHERE id = '{source}'"
    )
    assert secret not in row
    assert secret.removeprefix("whsec_") not in row
    assert '"secret"' not in row
    batch = canonical("2024-06-08T09:00:00Z", ("c1", "2024-06-07", "clicks", "1"))
    assert (await post(metrics_client, source, secret, batch)).status_code == 200
    assert (await post(metrics_client, source, "whsec_" + "A" * 44, batch)).status_code == 401


async def test_a_rotated_secret_is_sealed_too(
    metrics_client: httpx.AsyncClient, database_url: str
) -> None:
    source, _first = await register(metrics_client, "meta")
    rotated = await metrics_client.post(f"/metrics/sources/{source}/secrets", headers=TECH)
    assert rotated.status_code == 200, rotated.text
    (added,) = [s["secret"] for s in rotated.json()["secrets"] if s["secret"]]
    row = await _raw(
        database_url, f"SELECT secrets::text FROM metrics.sources WHERE id = '{source}'"
    )
    assert added not in row
    batch = canonical("2024-06-08T09:00:00Z", ("c1", "2024-06-07", "clicks", "2"))
    assert (await post(metrics_client, source, added, batch)).status_code == 200


async def test_the_kept_answer_of_an_idempotent_create_is_sealed(
    metrics_client: httpx.AsyncClient, database_url: str
) -> None:
    body = {"name": "Meta account", "platform": "meta", "account_id": "act_9"}
    headers = {**TECH, "Idempotency-Key": "source-1"}
    first = await metrics_client.post("/metrics/sources", json=body, headers=headers)
    assert first.status_code == 201, first.text
    secret = first.json()["secrets"][0]["secret"]
    kept = await _raw(
        database_url, "SELECT response::text FROM metrics.idempotency_keys WHERE key = 'source-1'"
    )
    assert secret not in kept
    sealed = json.loads(kept)
    assert set(sealed) == {"sealed"}
    assert json.loads(secret_box().open(sealed["sealed"])) == first.json()
    again = await metrics_client.post("/metrics/sources", json=body, headers=headers)
    assert again.json() == first.json()  # the retry still shows the secret, once more
