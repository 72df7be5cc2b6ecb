"""Stored secrets are sealed with the settings' keys: rotatable, and refused in production."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.kit.secrets import SecretBox, SecretUnreadable, new_key
from shared.kit.settings import (
    DEV_SECRET_KEY,
    BusKind,
    Settings,
    UnsafeProductionSettings,
    refuse_unsafe_production,
)

SIGNING_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_a_sealed_secret_is_not_the_secret_and_opens_back() -> None:
    box = SecretBox([new_key()])
    sealed = box.seal(SIGNING_SECRET)
    assert SIGNING_SECRET not in sealed
    assert sealed != box.seal(SIGNING_SECRET)  # a fresh nonce each time: equal secrets differ
    assert box.open(sealed) == SIGNING_SECRET


def test_a_secret_sealed_with_an_old_key_opens_after_a_new_key_is_put_first() -> None:
    old, new = new_key(), new_key()
    sealed_before = SecretBox([old]).seal(SIGNING_SECRET)
    rotated = SecretBox([new, old])
    assert rotated.open(sealed_before) == SIGNING_SECRET
    # The newest key seals: once the old key is dropped, new seals still open, old ones do not.
    sealed_after = rotated.seal(SIGNING_SECRET)
    assert SecretBox([new]).open(sealed_after) == SIGNING_SECRET
    with pytest.raises(SecretUnreadable):
        SecretBox([new]).open(sealed_before)
    # Resealing finishes a rotation: the row then needs the new key only.
    assert SecretBox([new]).open(rotated.reseal(sealed_before)) == SIGNING_SECRET


def test_a_key_that_is_not_a_fernet_key_fails_at_start_up() -> None:
    with pytest.raises(ValidationError, match="32 url-safe base64-encoded bytes"):
        Settings(secret_keys=["c2l4dGVlbi1ieXRlLWtleQ=="])  # 16 bytes, not 32
    with pytest.raises(ValidationError, match="not url-safe base64"):
        Settings(secret_keys=["not base64!"])
    with pytest.raises(ValidationError):
        Settings(secret_keys=[])


def test_production_mode_refuses_the_development_secret_key() -> None:
    jwt = "a-production-secret-of-at-least-32-characters"
    with pytest.raises(UnsafeProductionSettings, match="SECRET_KEYS holds the development key"):
        refuse_unsafe_production(
            Settings(bus=BusKind.KAFKA, jwt_secret=jwt, secret_keys=[new_key(), DEV_SECRET_KEY])
        )
    refuse_unsafe_production(Settings(bus=BusKind.KAFKA, jwt_secret=jwt, secret_keys=[new_key()]))
    refuse_unsafe_production(Settings(bus=BusKind.EMBEDDED))  # the embedded mode may use it
