"""The statistics of an A/B review: pure functions over counts, no database, no HTTP.

This is a **fixed-horizon** test: the p-value and intervals hold when the sample size is set in
advance (the experiment's minimum sample per arm) and the verdict is read once it is reached.
Looking at the review every day and stopping at the first p < 0.05 ("peeking") inflates the
false-positive rate well above 5 %; it is not a sequential (always-valid) test.

With more than two arms each arm is compared with the control on its own, without a correction
for multiple comparisons: three challengers give roughly three chances of a false winner.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from statistics import NormalDist

CONFIDENCE = 0.95
SIGNIFICANCE = 1 - CONFIDENCE
# The two-sided critical value for 95 %: 1.959964…
Z_CRITICAL = NormalDist().inv_cdf(1 - SIGNIFICANCE / 2)


class Verdict(StrEnum):
    """What a comparison (or the whole experiment) says."""

    WINNER = "winner"
    NO_DIFFERENCE = "no_difference"
    NOT_ENOUGH_DATA = "not_enough_data"


@dataclass(frozen=True)
class Interval:
    """A two-sided 95 % confidence interval."""

    low: float
    high: float


@dataclass(frozen=True)
class ArmCounts:
    """An arm's successes (the metric's numerator) out of its trials (its denominator)."""

    name: str
    successes: int
    trials: int


@dataclass(frozen=True)
class ArmRate:
    """An arm's observed rate with its Wilson interval (None when it has no trials yet)."""

    counts: ArmCounts
    rate: float | None
    interval: Interval | None
    enough_data: bool


@dataclass(frozen=True)
class Comparison:
    """A challenger against the control: uplift = challenger rate − control rate."""

    arm: str
    control: str
    uplift: float | None
    uplift_interval: Interval | None
    z: float | None
    p_value: float | None
    verdict: Verdict
    winner: str | None


def wilson_interval(successes: int, trials: int, z: float = Z_CRITICAL) -> Interval:
    """The Wilson score interval of a proportion: unlike the Wald interval it stays inside
    [0, 1] and keeps its coverage near 0 and 1, where click-through rates live."""
    p = successes / trials
    z2_n = z * z / trials
    centre = (p + z2_n / 2) / (1 + z2_n)
    half = z / (1 + z2_n) * math.sqrt(p * (1 - p) / trials + z2_n / (4 * trials))
    return Interval(low=max(0.0, centre - half), high=min(1.0, centre + half))


def difference_interval(control: ArmCounts, arm: ArmCounts, z: float = Z_CRITICAL) -> Interval:
    """The unpooled Wald interval of the difference of two proportions (arm − control)."""
    p_control = control.successes / control.trials
    p_arm = arm.successes / arm.trials
    standard_error = math.sqrt(
        p_control * (1 - p_control) / control.trials + p_arm * (1 - p_arm) / arm.trials
    )
    difference = p_arm - p_control
    return Interval(low=difference - z * standard_error, high=difference + z * standard_error)


def two_proportion_z_test(control: ArmCounts, arm: ArmCounts) -> tuple[float, float]:
    """The pooled two-proportion z statistic and its two-sided p-value.

    When both arms are all successes or all failures there is no variance and no evidence of a
    difference: z = 0, p = 1."""
    pooled = (control.successes + arm.successes) / (control.trials + arm.trials)
    variance = pooled * (1 - pooled) * (1 / control.trials + 1 / arm.trials)
    if variance == 0:
        return 0.0, 1.0
    z = (arm.successes / arm.trials - control.successes / control.trials) / math.sqrt(variance)
    # 2·(1 − Φ(|z|)) written with erfc, which keeps its precision for large |z|.
    return z, math.erfc(abs(z) / math.sqrt(2))


def rate_of(counts: ArmCounts, minimum_sample: int) -> ArmRate:
    """An arm's rate and interval, and whether it has reached the minimum sample."""
    if counts.trials == 0:
        return ArmRate(counts, None, None, enough_data=minimum_sample <= 0)
    return ArmRate(
        counts,
        counts.successes / counts.trials,
        wilson_interval(counts.successes, counts.trials),
        enough_data=counts.trials >= minimum_sample,
    )


def compare(control: ArmCounts, arm: ArmCounts, minimum_sample: int) -> Comparison:
    """One challenger against the control, with the verdict of a fixed-horizon test."""
    if control.trials == 0 or arm.trials == 0:
        return Comparison(
            arm.name, control.name, None, None, None, None, Verdict.NOT_ENOUGH_DATA, None
        )
    z, p_value = two_proportion_z_test(control, arm)
    uplift = arm.successes / arm.trials - control.successes / control.trials
    interval = difference_interval(control, arm)
    if control.trials < minimum_sample or arm.trials < minimum_sample:
        verdict, winner = Verdict.NOT_ENOUGH_DATA, None
    elif p_value < SIGNIFICANCE:
        verdict, winner = Verdict.WINNER, arm.name if uplift > 0 else control.name
    else:
        verdict, winner = Verdict.NO_DIFFERENCE, None
    return Comparison(arm.name, control.name, uplift, interval, z, p_value, verdict, winner)


def overall(comparisons: list[Comparison]) -> tuple[Verdict, str | None]:
    """The experiment's verdict: not enough data while any arm is short; else the best arm
    that beat the control (or the control, when it beat every challenger), else no difference."""
    if any(c.verdict is Verdict.NOT_ENOUGH_DATA for c in comparisons):
        return Verdict.NOT_ENOUGH_DATA, None
    winning = [c for c in comparisons if c.verdict is Verdict.WINNER]
    if not winning:
        return Verdict.NO_DIFFERENCE, None
    challengers = [c for c in winning if c.winner == c.arm]
    if challengers:
        best = max(challengers, key=lambda c: c.uplift or 0.0)
        return Verdict.WINNER, best.arm
    if len(winning) == len(comparisons):
        return Verdict.WINNER, comparisons[0].control
    return Verdict.NO_DIFFERENCE, None
