"""Optimistic concurrency over HTTP: ETag carries a row version, If-Match guards writes."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Header, Path, Request, Response

from shared.kit.errors import PreconditionFailed, RuleViolated

_ETAG = re.compile(r'^(?:W/)?"?(\d{1,18})"?$')

# A BIGINT identity in a path: out-of-range numbers are the client's 422, not a database error.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1, description="row id")]

IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description='the ETag of the version being changed, e.g. "3"; a stale one gives 412',
        # Declared, not enforced by FastAPI: expected_version refuses others with its own rule.
        json_schema_extra={"pattern": r'^(\*|(W/)?"?[0-9]{1,18}"?)$'},
    ),
]


def etag(version: int) -> str:
    """The ETag of a row version."""
    return f'"{version}"'


def set_etag(response: Response, version: int) -> None:
    """Send the row version so the client can make a conditional write."""
    response.headers["ETag"] = etag(version)


def expected_version(if_match: str | None) -> int | None:
    """The version an If-Match header names (None when absent or ``*``)."""
    if if_match is None or if_match.strip() == "*":
        return None
    match = _ETAG.match(if_match.strip())
    if match is None:
        raise RuleViolated(
            f"If-Match {if_match!r} is not an ETag this API issued",
            field="If-Match",
            rule="etag-format",
        )
    return int(match.group(1))


def check_version(current: int, if_match: str | None) -> None:
    """Refuse a write whose If-Match names a version other than the current one (412)."""
    expected = expected_version(if_match)
    if expected is not None and expected != current:
        raise PreconditionFailed(
            f"the resource changed: you sent version {expected}, it is now at version {current}",
            current_version=current,
            rule="if-match",
        )


def set_location(response: Response, request: Request, route: str, **params: object) -> None:
    """Point a ``201 Created`` at what it made: the path of the named route serving it."""
    url = request.url_for(route, **{name: str(value) for name, value in params.items()})
    response.headers["Location"] = url.path
