"""Advisory-lock keys: stable 64-bit integers derived from names."""

from __future__ import annotations

import hashlib


def advisory_key(name: str) -> int:
    """A signed 64-bit key for pg_advisory_lock, the same in every process."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
