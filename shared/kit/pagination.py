"""Cursor pagination: opaque cursors over a stable, unique ordering key."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy import Select, tuple_

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


# One convention for every list route: ``limit`` (default 50, at most 200) and an opaque ``cursor``
# in, a ``Page`` body with ``next_cursor`` and an RFC 8288 ``Link: <…>; rel="next"`` header out.
# The cursor carries the last item's sort key (a JSON list, so ints stay ints), never an offset:
# rows added or removed while a client pages neither repeat nor vanish.
DEFAULT_PAGE_SIZE = 50
Key = tuple[Any, ...]


@dataclass(frozen=True)
class PageWindow:
    """Where a page starts (the cursor of the previous one) and how many items it holds."""

    limit: int = DEFAULT_PAGE_SIZE
    cursor: str | None = None

    def after(self) -> list[Any] | None:
        """The sort key the cursor carries (None on the first page)."""
        text = decode_cursor(self.cursor)
        if text is None:
            return None
        try:
            parts = json.loads(text)
        except ValueError as exc:
            raise _foreign_cursor() from exc
        if not isinstance(parts, list) or not parts:
            raise _foreign_cursor()
        return parts


class PageRequest:
    """The paging query of a list route, and the response its ``Link`` header goes on."""

    def __init__(
        self,
        request: Request,
        response: Response,
        limit: Limit = DEFAULT_PAGE_SIZE,
        cursor: Cursor = None,
    ) -> None:
        self.window = PageWindow(limit=limit, cursor=cursor)
        self._request = request
        self._response = response

    def respond(self, page: Page[T]) -> Page[T]:
        """The page, with a ``Link`` to the next one carrying the same filters."""
        if page.next_cursor is not None:
            url = self._request.url.include_query_params(
                limit=self.window.limit, cursor=page.next_cursor
            )
            self._response.headers["Link"] = f'<{url.path}?{url.query}>; rel="next"'
        return page


Paging = Annotated[PageRequest, Depends(PageRequest)]


def _foreign_cursor() -> RuleViolated:
    return RuleViolated("cursor is not one this API issued", field="cursor")


def _plain(value: Any) -> Any:
    """A key part as JSON keeps it ordered: ints as ints, everything else as its ISO/str form."""
    if isinstance(value, bool) or not isinstance(value, int):
        return value.isoformat() if isinstance(value, date) else str(value)
    return value


def cursor_of(key: Key) -> str:
    """The opaque cursor of a sort key."""
    return encode_cursor(json.dumps([_plain(part) for part in key]))


def page_of(
    rows: Sequence[Any],
    window: PageWindow,
    key: Callable[[Any], Key],
    item: Callable[[Any], T],
) -> Page[T]:
    """A page from up to ``limit + 1`` rows fetched after the window's cursor (see ``keyset``)."""
    shown = rows[: window.limit]
    more = len(rows) > window.limit
    return Page[T](
        items=[item(row) for row in shown], next_cursor=cursor_of(key(shown[-1])) if more else None
    )


def page_in_memory(items: Sequence[T], window: PageWindow, key: Callable[[T], Key]) -> Page[T]:
    """A page of a list computed whole in Python (a schedule, a variance), by a unique key."""
    ordered = sorted(items, key=lambda each: _comparable(key(each)))
    after = window.after()
    if after is not None:
        if ordered and len(after) != len(key(ordered[0])):
            raise _foreign_cursor()
        start = _comparable(tuple(after))
        try:
            ordered = [each for each in ordered if _comparable(key(each)) > start]
        except TypeError as exc:
            raise _foreign_cursor() from exc
    return page_of(ordered[: window.limit + 1], window, key, lambda each: each)


def _comparable(key: Key) -> Key:
    return tuple(_plain(part) for part in key)


def keyset(
    query: Select[Any], window: PageWindow, *columns: Any, descending: bool = False
) -> Select[Any]:
    """``query`` ordered by unique ``columns``, after the cursor's key, ``limit + 1`` rows."""
    order = [column.desc() if descending else column.asc() for column in columns]
    query = query.order_by(*order).limit(window.limit + 1)
    after = window.after()
    if after is None:
        return query
    if len(after) != len(columns):
        raise _foreign_cursor()
    values = [_typed(column, part) for column, part in zip(columns, after, strict=True)]
    left, right = tuple_(*columns), tuple_(*values)
    return query.where(left < right if descending else left > right)


def _typed(column: Any, part: Any) -> Any:
    """A cursor's key part as the column's Python type; a mismatch is a cursor we never issued."""
    try:
        kind = column.type.python_type
    except NotImplementedError:
        return part
    try:
        if kind is datetime:
            return datetime.fromisoformat(part)
        if kind is date:
            return date.fromisoformat(part)
        if kind is int:
            if not isinstance(part, int) or isinstance(part, bool):
                raise TypeError(part)
            return part
        if kind in (str, uuid.UUID, Decimal):
            return kind(str(part)) if kind is not str else _text(part)
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise _foreign_cursor() from exc
    return part


def _text(part: Any) -> str:
    if not isinstance(part, str):
        raise TypeError(part)
    return part
