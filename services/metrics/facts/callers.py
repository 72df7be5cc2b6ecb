"""Who may post to a source: an ad platform signs each delivery (Standard Webhooks); an internal
system (the user back end, e-commerce, offline venues…) sends a service token, a bearer JWT with
the ``service`` role whose subject is one the source names."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from services.metrics.facts.signatures import verify
from shared.contract.types import Role
from shared.kit.auth import bearer_principal
from shared.kit.errors import Forbidden, RuleViolated
from shared.kit.secrets import secret_box
from shared.kit.settings import get_settings

INTERNAL = "internal"


def authenticate(
    source: Mapping[Any, Any], headers: Mapping[str, str | None], body: bytes, now: datetime
) -> None:
    """Accept the delivery as the source's, or raise why not.

    ``source`` holds the source's ``kind``, ``secrets`` and ``token_subjects``. A platform source
    raises ``SignatureInvalid`` (a bearer token does not stand in for the signature); an internal
    one ``Unauthenticated`` (no or a bad token, a signature alone included) or ``Forbidden``
    (a person's token, or another system's)."""
    if source["kind"] != INTERNAL:
        verify(
            [secret_box().open(s["sealed"]) for s in source["secrets"] if s.get("active")],
            delivery_id=headers.get("webhook-id"),
            timestamp=headers.get("webhook-timestamp"),
            signature=headers.get("webhook-signature"),
            body=body,
            now=now,
        )
        return
    caller = bearer_principal(headers.get("authorization"), get_settings())
    # Checked as held, not through Principal.has_any: an admin is still a person, not a system.
    if Role.SERVICE not in caller.roles:
        raise Forbidden("an internal source takes deliveries from a service token only")
    if caller.subject not in source["token_subjects"]:
        raise Forbidden(f"the service {caller.subject!r} may not post to this source")
    if not headers.get("webhook-id"):
        raise RuleViolated(
            "a delivery id is required (Idempotency-Key or webhook-id): a retry carries the "
            "same one, so it is stored once",
            field="Idempotency-Key",
            rule="delivery-id",
        )
