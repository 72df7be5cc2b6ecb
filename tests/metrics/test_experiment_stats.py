"""The statistics of an A/B review against the textbook answers.

The expected figures were computed independently with statsmodels 0.15 (``proportions_ztest``,
``proportion_confint(method="wilson")``, ``confint_proportions_2indep(method="wald")``) and are
re-derived here from the written-out formulas."""

from __future__ import annotations

import math

import pytest

from services.metrics.experiments import stats
from services.metrics.experiments.stats import ArmCounts, Verdict

Z95 = 1.959963984540054
CONTROL = ArmCounts("control", 120, 4000)
CHALLENGER = ArmCounts("challenger", 165, 4000)


def test_the_textbook_case_120_vs_165_of_4000_has_a_winner() -> None:
    # Pooled rate 285/8000 = 0.035625; SE = sqrt(0.035625·0.964375·(2/4000)) = 0.0041445…;
    # z = (0.04125 − 0.03) / SE = 2.7144; p = 2·(1 − Φ(2.7144)) = 0.00664.
    pooled = 285 / 8000
    by_hand = 0.01125 / math.sqrt(pooled * (1 - pooled) * (2 / 4000))
    z, p_value = stats.two_proportion_z_test(CONTROL, CHALLENGER)
    assert z == pytest.approx(by_hand)
    assert z == pytest.approx(2.714357908343977)
    assert p_value == pytest.approx(0.0066404380386423665)

    comparison = stats.compare(CONTROL, CHALLENGER, minimum_sample=4000)
    assert comparison.uplift == pytest.approx(0.01125)
    # Unpooled SE = sqrt(0.03·0.97/4000 + 0.04125·0.95875/4000) = 0.0041291…
    assert comparison.uplift_interval is not None
    assert (comparison.uplift_interval.low, comparison.uplift_interval.high) == pytest.approx(
        (0.0031304226439850275, 0.01936957735601498)
    )
    assert (comparison.verdict, comparison.winner) == (Verdict.WINNER, "challenger")
    assert stats.overall([comparison]) == (Verdict.WINNER, "challenger")


def test_wilson_intervals_of_3_and_4_125_percent() -> None:
    def by_hand(successes: int, trials: int) -> tuple[float, float]:
        p, z2 = successes / trials, Z95**2
        centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
        half = Z95 * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials**2)) / (1 + z2 / trials)
        return centre - half, centre + half

    control = stats.wilson_interval(120, 4000)
    challenger = stats.wilson_interval(165, 4000)
    assert (control.low, control.high) == pytest.approx(by_hand(120, 4000))
    assert (control.low, control.high) == pytest.approx((0.025147812, 0.035754064))
    assert (challenger.low, challenger.high) == pytest.approx(by_hand(165, 4000))
    assert (challenger.low, challenger.high) == pytest.approx((0.035514530, 0.047865759))


def test_10_vs_12_of_300_is_no_evidence_of_a_difference() -> None:
    comparison = stats.compare(ArmCounts("a", 10, 300), ArmCounts("b", 12, 300), 300)
    assert comparison.z == pytest.approx(0.43444055639764495)
    assert comparison.p_value == pytest.approx(0.6639685522371046)
    assert comparison.uplift_interval is not None
    assert (comparison.uplift_interval.low, comparison.uplift_interval.high) == pytest.approx(
        (-0.023405045317221464, 0.0367383786505548)
    )
    assert (comparison.verdict, comparison.winner) == (Verdict.NO_DIFFERENCE, None)
    assert stats.overall([comparison]) == (Verdict.NO_DIFFERENCE, None)


def test_an_arm_below_the_minimum_sample_gives_no_verdict_yet() -> None:
    # The same significant difference, but the plan asked for 5,000 impressions per arm.
    comparison = stats.compare(CONTROL, CHALLENGER, minimum_sample=5000)
    assert comparison.p_value == pytest.approx(0.00664, abs=1e-5)
    assert (comparison.verdict, comparison.winner) == (Verdict.NOT_ENOUGH_DATA, None)
    assert stats.rate_of(CONTROL, 5000).enough_data is False
    assert stats.rate_of(ArmCounts("empty", 0, 0), 1).rate is None


def test_a_control_that_beats_its_challenger_is_the_winner() -> None:
    incumbent, newcomer = ArmCounts("incumbent", 165, 4000), ArmCounts("newcomer", 120, 4000)
    comparison = stats.compare(incumbent, newcomer, minimum_sample=4000)
    assert comparison.uplift == pytest.approx(-0.01125)
    assert (comparison.verdict, comparison.winner) == (Verdict.WINNER, "incumbent")
    assert stats.overall([comparison]) == (Verdict.WINNER, "incumbent")


def test_arms_without_any_success_show_no_difference() -> None:
    z, p_value = stats.two_proportion_z_test(ArmCounts("a", 0, 500), ArmCounts("b", 0, 500))
    assert (z, p_value) == (0.0, 1.0)
