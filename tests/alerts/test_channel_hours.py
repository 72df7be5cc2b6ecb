"""A channel's business hours are wall-clock times in its own time zone, as declared."""

from __future__ import annotations

import base64
import re
from typing import Any

import httpx

from shared.contract.types import Role
from tests.conftest import bearer

TECH = bearer(Role.TECH, "ops")
CHANNEL = {
    "url": "https://hooks.example.com/alerts",
    "secret": "whsec_" + base64.b64encode(b"k" * 32).decode(),
}


def _hours(start: str, end: str) -> dict[str, Any]:
    return {**CHANNEL, "business_hours": {"timezone": "Europe/Berlin", "start": start, "end": end}}


async def test_a_time_with_an_offset_is_refused_by_name_not_a_500(
    alerts_client: httpx.AsyncClient,
) -> None:
    refused = await alerts_client.put(
        "/alerts/channels/ops", json=_hours("09:00", "00:00:00Z"), headers=TECH
    )
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in refused.json()["errors"]] == ["business_hours.end"]
    both = await alerts_client.put(
        "/alerts/channels/ops", json=_hours("09:00+02:00", "18:00+02:00"), headers=TECH
    )
    assert both.status_code == 422
    assert sorted(e["field"] for e in both.json()["errors"]) == [
        "business_hours.end",
        "business_hours.start",
    ]


async def test_an_end_before_the_start_names_the_end(alerts_client: httpx.AsyncClient) -> None:
    refused = await alerts_client.put(
        "/alerts/channels/ops", json=_hours("18:00", "09:00"), headers=TECH
    )
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["business_hours.end"]


async def test_stored_hours_come_back_in_the_declared_format(
    alerts_client: httpx.AsyncClient,
) -> None:
    stored = await alerts_client.put(
        "/alerts/channels/ops", json=_hours("08:30", "17:45:30"), headers=TECH
    )
    assert stored.status_code == 200, stored.text
    hours = stored.json()["business_hours"]
    assert (hours["start"], hours["end"]) == ("08:30:00", "17:45:30")
    document = (await alerts_client.get("/alerts/openapi.json")).json()
    declared = document["components"]["schemas"]["BusinessHours"]["properties"]["end"]
    assert "format" not in declared
    assert re.match(declared["pattern"], hours["start"])
    assert re.match(declared["pattern"], hours["end"])


async def test_a_channel_that_does_not_fit_its_kind_names_the_field(
    alerts_client: httpx.AsyncClient,
) -> None:
    refused = await alerts_client.put(
        "/alerts/channels/ops", json={**CHANNEL, "secret": "s" * 16}, headers=TECH
    )
    assert refused.status_code == 422, refused.text
    [problem] = refused.json()["errors"]
    assert problem["field"] == "secret"
    assert "whsec_" in problem["message"]
