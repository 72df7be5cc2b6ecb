"""Cursor pagination: opaque cursors over a stable, unique ordering key."""

from __future__ import annotations

import base64
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from shared.kit.errors import RuleViolated

T = TypeVar("T")
MAX_PAGE_SIZE = 200


class Page(BaseModel, Generic[T]):
    """One page of a list and the cursor of the next page (null at the end)."""

    items: list[T]
    next_cursor: str | None


def encode_cursor(value: str) -> str:
    """Opaque cursor text for a sort key."""
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    """The sort key inside a cursor; a malformed cursor is the client's error."""
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise RuleViolated("cursor is not one this API issued", field="cursor") from exc
    if not value:
        raise RuleViolated("cursor is not one this API issued", field="cursor")
    return value


Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="page size")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]


def decode_int_cursor(cursor: str | None) -> int | None:
    """A cursor over an integer key (a BIGINT id); anything else is the client's error."""
    value = decode_cursor(cursor)
    if value is None:
        return None
    if not value.isdigit() or int(value) > 2**63 - 1:
        raise RuleViolated("cursor is not one this API issued", field="cursor")
    return int(value)
