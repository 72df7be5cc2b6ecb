"""Approvals' rules, pinned without HTTP."""

from __future__ import annotations

from services.approvals import rules


def test_nobody_approves_their_own_request() -> None:
    assert rules.separation_of_duties("li.wei", "li.wei", [], 0) == (
        "nobody approves their own request"
    )


def test_one_person_fills_one_stage_of_a_request() -> None:
    decided = [("zhang.min", 0)]
    assert rules.separation_of_duties("zhang.min", "li.wei", decided, 1) == (
        "one person cannot fill two stages of the same request"
    )
    # Deciding the same stage twice is another rule's business (one decision each).
    assert rules.separation_of_duties("zhang.min", "li.wei", decided, 0) is None
    assert rules.separation_of_duties("wang.fang", "li.wei", decided, 1) is None
