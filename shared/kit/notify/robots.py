"""What the group robots have in common: they answer HTTP 200 with an error code in the body."""

from __future__ import annotations

from typing import Any

import httpx

from shared.kit.notify.message import Outcome


async def post(
    client: httpx.AsyncClient, url: str, body: dict[str, Any], code_field: str
) -> Outcome:
    """POST the robot message; delivered only on 2xx with ``code_field`` 0 in the answer.

    A wrong signature, a keyword the robot requires, or its rate limit all come back as
    HTTP 200 with a non-zero code, so the HTTP status alone would log them as sent.
    """
    answer = await client.post(url, json=body)
    if not answer.is_success:
        return Outcome(False, f"HTTP {answer.status_code}")
    try:
        said = answer.json()
    except ValueError:
        return Outcome(False, f"HTTP {answer.status_code}, not JSON")
    if not isinstance(said, dict):
        return Outcome(False, f"HTTP {answer.status_code}, not a JSON object")
    code = said.get(code_field, said.get("StatusCode"))  # StatusCode: Feishu's older shape
    message = said.get("errmsg") or said.get("msg") or ""
    if code != 0:
        return Outcome(False, f"HTTP {answer.status_code}, {code_field} {code}: {message}")
    return Outcome(True, f"HTTP {answer.status_code}, {code_field} 0")
