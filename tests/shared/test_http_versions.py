"""If-Match parsing and the stale-write check (the kit's optimistic concurrency)."""

from __future__ import annotations

import pytest

from shared.kit.errors import PreconditionFailed, RuleViolated
from shared.kit.http import check_version, etag, expected_version


@pytest.mark.parametrize(
    ("header", "version"),
    [('"3"', 3), ("3", 3), ('W/"12"', 12), ("*", None), (None, None), (' "7" ', 7)],
)
def test_if_match_names_a_version(header: str | None, version: int | None) -> None:
    assert expected_version(header) == version


@pytest.mark.parametrize("header", ['"abc"', '"3", "4"', "", '"-1"'])
def test_a_malformed_if_match_is_the_clients_error(header: str) -> None:
    with pytest.raises(RuleViolated) as refused:
        expected_version(header)
    assert refused.value.extensions["field"] == "If-Match"


def test_a_stale_version_is_refused_with_the_current_one() -> None:
    with pytest.raises(PreconditionFailed) as refused:
        check_version(4, etag(3))
    assert refused.value.extensions["current_version"] == 4


def test_the_current_version_or_no_precondition_passes() -> None:
    check_version(4, etag(4))
    check_version(4, None)
    check_version(4, "*")
