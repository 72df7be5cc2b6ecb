"""Tasks' rules, pinned without HTTP."""

from __future__ import annotations

from services.tasks import rules


def test_the_owner_of_a_task_is_never_its_approver() -> None:
    assert not rules.owner_is_not_approver("li.wei", "li.wei")
    assert rules.owner_is_not_approver("li.wei", "zhang.min")
