"""Scheduling maths on working days: dependency checks, cycles and the critical path (CPM)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

LinkKind = Literal["FS", "SS", "FF"]


class Calendar:
    """The company calendar: Monday to Friday, minus holidays."""

    def __init__(self, holidays: Iterable[date] = ()) -> None:
        self.holidays = frozenset(holidays)

    def is_working(self, day: date) -> bool:
        """True on a weekday that is not a holiday."""
        return day.weekday() < 5 and day not in self.holidays

    def working_days(self, start: date, end: date) -> int:
        """Working days from ``start`` to ``end``, both included (0 when end < start)."""
        count, day = 0, start
        while day <= end:
            count += self.is_working(day)
            day += timedelta(days=1)
        return count

    def add(self, day: date, working_days: int) -> date:
        """The working day ``working_days`` after ``day`` (negative goes back)."""
        step = 1 if working_days >= 0 else -1
        remaining = abs(working_days)
        while remaining:
            day += timedelta(days=step)
            remaining -= self.is_working(day)
        return day


@dataclass(frozen=True)
class Link:
    """``successor`` depends on ``predecessor``: finish-to-start unless said otherwise."""

    predecessor: str
    successor: str
    kind: LinkKind = "FS"
    lag: int = 0


def find_cycle(nodes: Iterable[str], links: Iterable[Link]) -> list[str] | None:
    """A dependency cycle as a path that returns to its start, or None for a DAG."""
    successors: dict[str, list[str]] = {n: [] for n in nodes}
    for link in links:
        successors.setdefault(link.predecessor, []).append(link.successor)
        successors.setdefault(link.successor, [])
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in successors[node]:
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(successors):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


@dataclass(frozen=True)
class Timing:
    """Earliest and latest start/finish (working-day numbers from the project start) and slack."""

    duration: int
    early_start: int
    early_finish: int
    late_start: int
    late_finish: int

    @property
    def slack(self) -> int:
        """Working days the task can slip without moving the project's end."""
        return self.late_start - self.early_start

    @property
    def critical(self) -> bool:
        """On the critical path: no slack."""
        return self.slack == 0


def critical_path(durations: Mapping[str, int], links: Sequence[Link]) -> dict[str, Timing]:
    """Forward and backward pass over a DAG; durations in working days (at least 1)."""
    order = _topological(durations, links)
    incoming: dict[str, list[Link]] = {n: [] for n in durations}
    outgoing: dict[str, list[Link]] = {n: [] for n in durations}
    for link in links:
        incoming[link.successor].append(link)
        outgoing[link.predecessor].append(link)
    early_start: dict[str, int] = {}
    for node in order:
        duration = durations[node]
        starts = [0]
        for link in incoming[node]:
            before_start = early_start[link.predecessor]
            before_finish = before_start + durations[link.predecessor]
            if link.kind == "FS":
                starts.append(before_finish + link.lag)
            elif link.kind == "SS":
                starts.append(before_start + link.lag)
            else:
                starts.append(before_finish + link.lag - duration)
        early_start[node] = max(starts)
    end = max((early_start[n] + durations[n] for n in order), default=0)
    late_finish: dict[str, int] = {}
    for node in reversed(order):
        duration = durations[node]
        finishes = [end]
        for link in outgoing[node]:
            after_late_start = late_finish[link.successor] - durations[link.successor]
            if link.kind == "FS":
                finishes.append(after_late_start - link.lag)
            elif link.kind == "SS":
                finishes.append(after_late_start - link.lag + duration)
            else:
                finishes.append(late_finish[link.successor] - link.lag)
        late_finish[node] = min(finishes)
    return {
        n: Timing(
            duration=durations[n],
            early_start=early_start[n],
            early_finish=early_start[n] + durations[n],
            late_start=late_finish[n] - durations[n],
            late_finish=late_finish[n],
        )
        for n in order
    }


def _topological(durations: Mapping[str, int], links: Sequence[Link]) -> list[str]:
    remaining = dict.fromkeys(durations, 0)
    for link in links:
        remaining[link.successor] += 1
    ready = sorted(n for n, count in remaining.items() if count == 0)
    order: list[str] = []
    while ready:
        node = ready.pop(0)
        order.append(node)
        for link in links:
            if link.predecessor == node:
                remaining[link.successor] -= 1
                if remaining[link.successor] == 0:
                    ready.append(link.successor)
    if len(order) != len(durations):
        raise ValueError("the dependencies form a cycle")
    return order


def rolled_up_completion(children: Sequence[tuple[int, int]]) -> int:
    """A parent's completion from its children's (completion %, duration), weighted by duration."""
    total = sum(duration for _completion, duration in children)
    if not total:
        return 0
    return round(sum(completion * duration for completion, duration in children) / total)
