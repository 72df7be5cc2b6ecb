"""Funnel and trend maths without a database, with hand-computed numbers: conversions as ratios
of sums, the bottleneck as the largest relative shortfall, changes with "no data" said."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from pathlib import Path

from babel.messages.extract import extract_from_file

from services.metrics.diagnosis import funnels, funnels_service, trends
from services.metrics.diagnosis.funnels import Comparison
from services.metrics.diagnosis.trends import Direction
from services.metrics.reporting import i18n

# Channel A over ten days, the plan's other two channels together, and A's ten days before.
A = {
    "impressions": D(100_000),
    "clicks": D(2_000),
    "registrations": D(100),
    "first_orders": D(40),
    "retained_next_day": D(50),
}
PEERS = {
    "impressions": D(100_000),
    "clicks": D(2_000),
    "registrations": D(300),
    "first_orders": D(100),
    "retained_next_day": D(180),
}
A_BEFORE = {
    "impressions": D(60_000),
    "clicks": D(1_200),
    "registrations": D(72),
    "first_orders": D(18),
    "retained_next_day": D(36),
}


def test_each_step_converts_from_its_base_and_compares_with_peers_and_the_period_before() -> None:
    steps = {s.metric: s for s in funnels.steps(A, PEERS, A_BEFORE)}
    assert list(steps) == list(funnels.STEPS)
    assert steps["impressions"].conversion is None
    # CTR 2,000 / 100,000 = 2 % on A, its peers and before: no shortfall.
    assert steps["clicks"].conversion == D("0.02")
    assert steps["clicks"].shortfall_vs_peers == 0
    assert steps["clicks"].shortfall_vs_previous == 0
    # Sign-ups per click: 100 / 2,000 = 5 % against 300 / 2,000 = 15 % (2/3 short) and
    # 72 / 1,200 = 6 % before (1/6 short).
    registrations = steps["registrations"]
    assert (registrations.conversion, registrations.peers, registrations.previous) == (
        D("0.05"),
        D("0.15"),
        D("0.06"),
    )
    assert registrations.shortfall_vs_peers == D("0.666667")
    assert registrations.shortfall_vs_previous == D("0.166667")
    # First orders per registration: 40 % against 100 / 300 = 33.3333 % (above: negative).
    assert steps["first_orders"].peers == D("0.333333")
    assert steps["first_orders"].shortfall_vs_peers is not None
    assert steps["first_orders"].shortfall_vs_peers < 0
    # Next-day retention counts from registrations, not first orders: 50 / 100 = 50 % against
    # 180 / 300 = 60 % (1/6 short), and 36 / 72 = 50 % before.
    retained = steps["retained_next_day"]
    assert retained.base == "registrations"
    assert (retained.conversion, retained.peers, retained.previous) == (
        D("0.5"),
        D("0.6"),
        D("0.5"),
    )
    assert retained.shortfall_vs_peers == D("0.166667")


def test_the_bottleneck_is_the_largest_relative_shortfall() -> None:
    worst = funnels.bottleneck(funnels.steps(A, PEERS, A_BEFORE))
    assert worst == funnels.Bottleneck(
        "clicks", "registrations", D("0.05"), Comparison.PEERS, D("0.15"), D("0.666667")
    )


def test_a_channel_without_peers_is_held_against_its_own_past() -> None:
    before = {**A_BEFORE, "clicks": D(1_500)}  # CTR 2.5 % before: 2 % is 20 % short
    worst = funnels.bottleneck(funnels.steps(A, None, before))
    assert worst is not None
    assert (worst.from_metric, worst.metric, worst.comparison, worst.shortfall) == (
        "impressions",
        "clicks",
        Comparison.PREVIOUS_PERIOD,
        D("0.2"),
    )


def test_no_bottleneck_when_nothing_falls_short_or_nothing_compares() -> None:
    assert funnels.bottleneck(funnels.steps(A, A, A)) is None
    assert funnels.bottleneck(funnels.steps(A)) is None
    # A step never reported has no conversion, and the next has none from it either.
    partial = funnels.steps({"impressions": D(10)}, PEERS)
    assert [s.conversion for s in partial] == [None] * 5


def test_peers_are_the_plan_less_the_channel() -> None:
    total = {"clicks": D(3_000), "registrations": D(400)}
    assert funnels.others(total, {"clicks": D(2_000)}) == {
        "clicks": D(1_000),
        "registrations": D(400),
    }


def test_a_change_has_direction_absolute_and_relative_size() -> None:
    assert trends.change(D(400), D(172)) == trends.Change(
        D(400), D(172), Direction.UP, D(228), D("1.325581")
    )
    assert trends.change(D("0.02"), D("0.022")) == trends.Change(
        D("0.02"), D("0.022"), Direction.DOWN, D("-0.002"), D("-0.090909")
    )
    assert trends.change(D(5), D(5)).direction is Direction.FLAT


def test_no_data_is_said_never_taken_for_zero() -> None:
    assert trends.change(D(140), None) == trends.Change(D(140), None, Direction.NO_DATA, None, None)
    assert trends.change(None, D(3)).direction is Direction.NO_DATA
    # From zero the difference is real but has no percentage.
    assert trends.change(D(10), D(0)) == trends.Change(D(10), D(0), Direction.UP, D(10), None)


def test_windows_before_and_aligned_with_an_earlier_campaign() -> None:
    assert trends.previous_window(date(2024, 6, 11), date(2024, 6, 20)) == (
        date(2024, 6, 1),
        date(2024, 6, 10),
    )
    # Days 11-20 of a June campaign are days 11-20 of a March one.
    assert trends.aligned_window(
        date(2024, 6, 11), date(2024, 6, 20), date(2024, 6, 1), date(2024, 3, 1)
    ) == (date(2024, 3, 11), date(2024, 3, 20))


def test_each_earlier_version_runs_until_the_next_comes_into_force() -> None:
    june = (date(2024, 6, 1), date(2024, 6, 30))
    versions = [(1, date(2024, 5, 28)), (2, date(2024, 5, 30)), (3, date(2024, 6, 6))]
    versions += [(4, date(2024, 6, 20))]
    # Version 1 was replaced before the campaign started; 2 ran June 1-5, 3 June 6-19.
    assert trends.version_windows(versions, 4, *june) == [
        (2, date(2024, 6, 1), date(2024, 6, 5)),
        (3, date(2024, 6, 6), date(2024, 6, 19)),
    ]
    # A version whose successor metrics never saw has no known end: left out.
    assert trends.version_windows([(1, date(2024, 6, 1))], 2, *june) == []


def test_a_total_per_day() -> None:
    assert trends.per_day(D(72), date(2024, 6, 1), date(2024, 6, 5)) == D("14.4")
    assert trends.per_day(None, date(2024, 6, 1), date(2024, 6, 5)) is None


def test_every_funnel_message_has_its_chinese() -> None:
    found = {
        message
        for _line, message, _comments, _context in extract_from_file(
            "python", str(Path(funnels_service.__file__)), keywords={"words": None}
        )
        if isinstance(message, str)
    }
    assert len(found) == 5
    chinese = i18n.translations("zh_CN")
    assert sorted(m for m in found if chinese.gettext(m) == m) == []
