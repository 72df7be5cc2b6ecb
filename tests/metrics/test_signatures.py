"""Signature checks without HTTP: any changed byte of id, timestamp or body is refused."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.metrics.facts.signatures import SignatureInvalid, new_secret, sign, verify
from services.metrics.kpis.kpi import achievement, value_of

SECRET = new_secret()
NOW = datetime(2024, 6, 7, 9, 0, tzinfo=UTC)
STAMP = int(NOW.timestamp())
BODY = b'{"format":"canonical","rows":[]}'


def _check(
    delivery_id: str, timestamp: str, body: bytes, signature: str, secrets: list[str] | None = None
) -> None:
    verify(
        secrets or [SECRET],
        delivery_id=delivery_id,
        timestamp=timestamp,
        signature=signature,
        body=body,
        now=NOW,
    )


def test_the_signed_bytes_pass() -> None:
    _check("msg_1", str(STAMP), BODY, sign(SECRET, "msg_1", STAMP, BODY))


@settings(max_examples=200, deadline=None)
@given(
    part=st.sampled_from(["id", "timestamp", "body"]),
    position=st.integers(min_value=0),
    flip=st.integers(1, 255),
)
def test_any_flipped_byte_is_refused(part: str, position: int, flip: int) -> None:
    signature = sign(SECRET, "msg_1", STAMP, BODY)
    fields = {"id": b"msg_1", "timestamp": str(STAMP).encode(), "body": BODY}
    data = bytearray(fields[part])
    data[position % len(data)] ^= flip
    fields[part] = bytes(data)
    with pytest.raises(SignatureInvalid):
        _check(
            fields["id"].decode("latin-1"),
            fields["timestamp"].decode("latin-1"),
            fields["body"],
            signature,
        )


def test_any_active_secret_verifies_during_rotation() -> None:
    old, new = new_secret(), new_secret()
    signature = sign(old, "msg_1", STAMP, BODY)
    _check("msg_1", str(STAMP), BODY, f"v1,bogus {signature}", [new, old])
    with pytest.raises(SignatureInvalid):
        _check("msg_1", str(STAMP), BODY, signature, [new])


def test_ratios_are_ratios_of_sums() -> None:
    sums = {
        k: Decimal(v)
        for k, v in {"clicks": 1200, "impressions": 100000, "cost": 3000, "conversions": 0}.items()
    }
    assert str(value_of("ctr", sums, {})) == "0.012000"
    assert value_of("cpa", sums, {}) is None  # no conversions: no CPA, not a division by zero


def test_accumulating_targets_are_pro_rated_and_projected() -> None:
    from datetime import date

    standing = achievement(
        metric="registrations",
        target_kind="absolute",
        target=Decimal(200000),
        baseline=None,
        value=Decimal(50000),
        starts_on=date(2024, 6, 1),
        due_on=date(2024, 6, 30),
        as_of=date(2024, 6, 10),
    )
    assert standing.expected_to_date == Decimal("66666.6667")
    assert standing.projected == Decimal("150000.0000")
    assert standing.achievement == Decimal("0.2500")
