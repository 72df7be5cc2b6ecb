"""Secrets at rest: sealed with the deployment's keys, so a database dump forges nothing.

``SECRET_KEYS`` lists Fernet keys, newest first: the newest seals, every one of them opens. To
rotate, put a new key in front, restart, then (optionally) reseal the rows and drop the old key.
A development key exists for the embedded mode only; production (Kafka) mode refuses it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from shared.kit.settings import get_settings


class SecretUnreadable(RuntimeError):
    """A sealed value that none of the configured keys opens (a key was dropped too early)."""


class SecretBox:
    """Seals and opens short secrets with MultiFernet (AES-128-CBC + HMAC-SHA256, timestamped)."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one secret key is needed")
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])

    def seal(self, plaintext: str) -> str:
        """The value encrypted with the newest key (a fresh nonce each time)."""
        return self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, sealed: str) -> str:
        """The value back, whichever configured key sealed it."""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise SecretUnreadable(
                "a stored secret opens with none of SECRET_KEYS (was its key removed?)"
            ) from exc

    def reseal(self, sealed: str) -> str:
        """The value sealed again with the newest key, for finishing a rotation."""
        return self._fernet.rotate(sealed.encode()).decode()


def new_key() -> str:
    """A fresh key for SECRET_KEYS."""
    return Fernet.generate_key().decode()


@lru_cache
def _box(keys: tuple[str, ...]) -> SecretBox:
    return SecretBox(keys)


def secret_box() -> SecretBox:
    """The process's box, built from the settings' keys."""
    return _box(tuple(get_settings().secret_keys))
