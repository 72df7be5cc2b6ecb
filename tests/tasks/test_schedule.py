"""Scheduling maths without a database: working days, cycles, the critical path."""

from __future__ import annotations

from datetime import date

import pytest

from services.tasks.schedule import Calendar, Link, critical_path, find_cycle, rolled_up_completion


def test_working_days_skip_weekends_and_holidays() -> None:
    work = Calendar([date(2024, 6, 10)])  # Dragon Boat Festival, a Monday
    assert work.working_days(date(2024, 6, 7), date(2024, 6, 11)) == 2  # Fri + Tue
    assert work.add(date(2024, 6, 7), 1) == date(2024, 6, 11)
    assert work.add(date(2024, 6, 11), -1) == date(2024, 6, 7)


def test_a_cycle_is_spelled_out() -> None:
    links = [Link("M-001", "M-004"), Link("M-003", "M-004"), Link("M-004", "M-001")]
    assert find_cycle(["M-001", "M-003", "M-004"], links) == ["M-001", "M-004", "M-001"]
    assert find_cycle(["M-001", "M-003", "M-004"], links[:2]) is None


def test_the_critical_path_matches_a_hand_computed_answer() -> None:
    # A(3) feeds B(2) and C(4); both feed D(1). A-C-D takes 8 days; B can slip by 2.
    timings = critical_path(
        {"A": 3, "B": 2, "C": 4, "D": 1},
        [Link("A", "B"), Link("A", "C"), Link("B", "D"), Link("C", "D")],
    )
    assert {n: (t.early_start, t.early_finish, t.slack) for n, t in timings.items()} == {
        "A": (0, 3, 0),
        "B": (3, 5, 2),
        "C": (3, 7, 0),
        "D": (7, 8, 0),
    }
    assert [n for n, t in timings.items() if t.critical] == ["A", "C", "D"]


def test_lags_and_start_to_start_links_move_the_path() -> None:
    timings = critical_path(
        {"A": 5, "B": 2, "C": 3}, [Link("A", "B", "SS", 1), Link("A", "C", "FS", 2)]
    )
    assert timings["B"].early_start == 1
    assert timings["C"].early_start == 7
    assert timings["B"].slack == 7  # B may finish as late as day 10


def test_a_cyclic_graph_has_no_schedule() -> None:
    with pytest.raises(ValueError, match="cycle"):
        critical_path({"A": 1, "B": 1}, [Link("A", "B"), Link("B", "A")])


def test_parents_roll_up_completion_weighted_by_duration() -> None:
    assert rolled_up_completion([(100, 10), (0, 5), (50, 5)]) == 62
    assert rolled_up_completion([]) == 0
