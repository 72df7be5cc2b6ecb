"""Channel efficiency and budget reallocation, as plain functions: no database, no HTTP.

New customers are the seed's own definition, the ``new_users`` metric: registered through the
channel *and* placed a first order. CAC = spend / new customers; AOV = GMV / orders; the
repeat-purchase rate = customers who ordered again / new customers; ROI = GMV / cost (the
dictionary's ``roi``). CLTV is the observed cohort value when a source posts cohorts, else the
classical AOV × purchase frequency × gross margin × expected lifespan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

MONEY = Decimal("0.01")
RATIO = Decimal("0.0001")
# The metric keys the diagnosis reads, all additive counters or money.
SPEND, NEW_CUSTOMERS, ORDERS, GMV, REPEAT_CUSTOMERS = (
    "cost",
    "new_users",
    "orders",
    "gmv",
    "repeat_customers",
)
METRICS = (SPEND, NEW_CUSTOMERS, ORDERS, GMV, REPEAT_CUSTOMERS)
DEFAULT_FLOOR = Decimal(1)
# The company's contingency rule (docs/domain.md): the reserve is 10–15 % of the total budget.
RESERVE_MIN, RESERVE_MAX = Decimal("0.10"), Decimal("0.15")
DIMINISHING_RETURNS = (
    "the extra new customers are priced at the strong channel's recent CAC; marginal CAC rises "
    "as a channel's spend grows (diminishing returns), so read them as an upper bound"
)


def _ratio(numerator: Decimal, denominator: Decimal, places: Decimal) -> Decimal | None:
    if not denominator:
        return None
    return (numerator / denominator).quantize(places, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Figures:
    """A channel's sums over a period, money in the plan's currency."""

    spend: Decimal = Decimal(0)
    new_customers: Decimal = Decimal(0)
    orders: Decimal = Decimal(0)
    gmv: Decimal = Decimal(0)
    repeat_customers: Decimal = Decimal(0)

    @classmethod
    def of(cls, sums: dict[str, Decimal]) -> Figures:
        """From metric sums keyed by the dictionary's keys."""
        return cls(
            spend=sums.get(SPEND, Decimal(0)),
            new_customers=sums.get(NEW_CUSTOMERS, Decimal(0)),
            orders=sums.get(ORDERS, Decimal(0)),
            gmv=sums.get(GMV, Decimal(0)),
            repeat_customers=sums.get(REPEAT_CUSTOMERS, Decimal(0)),
        )


def cac(figures: Figures) -> Decimal | None:
    """Spend per new customer; None without new customers."""
    return _ratio(figures.spend, figures.new_customers, MONEY)


def aov(figures: Figures) -> Decimal | None:
    """GMV per order."""
    return _ratio(figures.gmv, figures.orders, MONEY)


def repeat_rate(figures: Figures) -> Decimal | None:
    """Share of the new customers who ordered again."""
    return _ratio(figures.repeat_customers, figures.new_customers, RATIO)


def roi(figures: Figures) -> Decimal | None:
    """GMV per unit of cost."""
    return _ratio(figures.gmv, figures.spend, RATIO)


@dataclass(frozen=True)
class Parameters:
    """A plan's classical-CLTV parameters and its CLTV/CAC floor; None: not set."""

    gross_margin: Decimal | None = None
    purchase_frequency: Decimal | None = None  # orders per customer per year
    lifespan_years: Decimal | None = None
    cltv_cac_floor: Decimal = DEFAULT_FLOOR


def classical_cltv(average_order: Decimal | None, params: Parameters) -> Decimal | None:
    """AOV × purchase frequency × gross margin × expected lifespan; None when one is missing."""
    factors = (average_order, params.purchase_frequency, params.gross_margin, params.lifespan_years)
    if any(f is None for f in factors):
        return None
    value = Decimal(1)
    for f in factors:
        value *= f  # type: ignore[operator]  # None excluded above
    return value.quantize(MONEY, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Cohort:
    """One acquisition cohort's newest cumulative revenue (plan currency) and its size."""

    customers: Decimal
    revenue: Decimal
    age_days: int


def cohort_cltv(cohorts: Sequence[Cohort], gross_margin: Decimal | None) -> Decimal | None:
    """Observed value per acquired customer: margin × Σ cumulative revenue / Σ cohort sizes.

    Revenue is each cohort's newest figure, so young cohorts pull it down: a lower bound. Without
    a gross margin the revenue is taken whole (the answer says which)."""
    customers = sum((c.customers for c in cohorts), Decimal(0))
    revenue = sum((c.revenue for c in cohorts), Decimal(0))
    value = _ratio(revenue * (gross_margin or Decimal(1)), customers, MONEY)
    return value


# The reasons as message ids of the report's catalogue (reporting/locale), so they read in zh-CN.
BELOW_FLOOR = (
    "CLTV/CAC is {ratio} (CLTV {cltv} over CAC {cac}), below the floor {floor}: each new "
    "customer costs more than the value expected from them"
)
NO_NEW_CUSTOMERS = "spent {spend} and acquired no new customer"
NO_SPEND = "nothing spent in the period"
CLTV_UNKNOWN = "no cohort data and the classical CLTV parameters are not all set"


@dataclass(frozen=True)
class Judgement:
    """Whether a channel is ineffective, with a machine-readable code and the reason's message
    id and values (``reason`` is the English text)."""

    ineffective: bool
    code: str | None = None
    message: str | None = None
    values: dict[str, Decimal] = field(default_factory=dict)

    @property
    def reason(self) -> str | None:
        """The reason in English."""
        return self.message.format(**self.values) if self.message else None


def judge(
    acquisition_cost: Decimal | None,
    figures: Figures,
    cltv: Decimal | None,
    floor: Decimal,
) -> tuple[Decimal | None, Judgement]:
    """CLTV/CAC and the mark: ineffective below the floor, or spending with no new customers."""
    if acquisition_cost is None:
        if figures.spend > 0:
            return None, Judgement(
                True, "no-new-customers", NO_NEW_CUSTOMERS, {"spend": figures.spend.quantize(MONEY)}
            )
        return None, Judgement(False, "no-spend", NO_SPEND)
    if cltv is None:
        return None, Judgement(False, "cltv-unknown", CLTV_UNKNOWN)
    ratio = _ratio(cltv, acquisition_cost, RATIO)
    if ratio is not None and ratio < floor:
        values = {"ratio": ratio, "cltv": cltv, "cac": acquisition_cost, "floor": floor}
        return ratio, Judgement(True, "cltv-below-cac-floor", BELOW_FLOOR, values)
    return ratio, Judgement(False)


# --- reallocation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """A budget line of a channel and its planned amount."""

    budget_line_id: str
    name: str
    planned: Decimal


@dataclass(frozen=True)
class ChannelRecent:
    """A channel's recent and previous windows, its lines and what it spent since the start."""

    channel_id: str
    name: str
    recent: Figures
    previous: Figures
    lines: Sequence[Line]
    spent_to_date: Decimal

    @property
    def remaining(self) -> Decimal:
        """Planned on its lines minus what it spent so far (never below zero)."""
        return max(
            sum((line.planned for line in self.lines), Decimal(0)) - self.spent_to_date, Decimal(0)
        )

    @property
    def recent_cac(self) -> Decimal | None:
        """CAC over the recent window."""
        return cac(self.recent)

    @property
    def trend(self) -> Decimal | None:
        """Recent CAC against the previous window's, as a relative change (+ is worse)."""
        now, before = self.recent_cac, cac(self.previous)
        if now is None or before is None:
            return None
        return _ratio(now - before, before, RATIO)


@dataclass(frozen=True)
class Move:
    """Money proposed from one channel's line to another's, and what it is expected to do."""

    weak: ChannelRecent
    strong: ChannelRecent
    from_line: Line
    to_line: Line
    amount: Decimal
    extra_new_customers: Decimal
    forgone_new_customers: Decimal


@dataclass(frozen=True)
class Proposal:
    """A move, or the code and reason why none is offered."""

    move: Move | None
    code: str | None = None
    reason: str | None = None
    reserve_share: Decimal | None = None
    assumptions: list[str] = field(default_factory=list)


def reserve_share(planned: Sequence[Decimal], reserve: Decimal) -> Decimal | None:
    """The reserve over the total budget (lines + reserve), exact."""
    total = sum(planned, Decimal(0)) + reserve
    return reserve / total if total else None


def _weakness(channel: ChannelRecent) -> tuple[int, Decimal, Decimal]:
    """Sort key: spending without new customers first, then higher CAC, then worsening trend."""
    value = channel.recent_cac
    return (
        0 if value is None else 1,
        -(value or Decimal(0)),
        -(channel.trend or Decimal(0)),
    )


def propose(
    channels: Sequence[ChannelRecent],
    *,
    all_lines_planned: Sequence[Decimal],
    reserve: Decimal | None,
    share: Decimal,
) -> Proposal:
    """Move ``share`` of the weakest channel's remaining budget to the strongest channel.

    Strongest: the lowest recent CAC with new customers. Weakest: the highest recent CAC (or
    spend with no new customer) among the others with budget left. Only money on budget lines
    moves; the contingency reserve is never a source, and nothing is offered unless the plan's
    reserve is within the 10–15 % rule once the move is made."""
    if reserve is None:
        return Proposal(None, "reserve-unknown", "the plan's contingency reserve is not known yet")
    after = reserve_share(all_lines_planned, reserve)  # a move between lines keeps the total
    if after is None or not RESERVE_MIN <= after <= RESERVE_MAX:
        shown = "no budget" if after is None else f"{after:.2%} of the total budget"
        return Proposal(
            None,
            "reserve-rule",
            f"the contingency reserve is {shown}; it must stay between {RESERVE_MIN:.0%} and "
            f"{RESERVE_MAX:.0%}, so no reallocation is offered until the reserve is restored",
            after,
        )
    funded = [c for c in channels if c.lines]
    strong_candidates = [c for c in funded if c.recent_cac is not None]
    if not strong_candidates:
        return Proposal(None, "no-evidence", "no channel acquired new customers recently", after)
    strong = min(strong_candidates, key=lambda c: (c.recent_cac, c.trend or Decimal(0)))
    weak_candidates = sorted(
        (
            c
            for c in funded
            if c is not strong
            and c.remaining > 0
            and c.recent.spend > 0
            and (c.recent_cac is None or c.recent_cac > strong.recent_cac)  # type: ignore[operator]
        ),
        key=_weakness,
    )
    if not weak_candidates:
        return Proposal(
            None,
            "no-weaker-channel",
            f"no other channel with budget left acquires customers dearer than {strong.name!r}",
            after,
        )
    weak = weak_candidates[0]
    from_line = max(weak.lines, key=lambda line: line.planned)
    to_line = max(strong.lines, key=lambda line: line.planned)
    amount = (min(weak.remaining, from_line.planned) * share).quantize(
        Decimal(1), rounding=ROUND_DOWN
    )
    if amount <= 0:
        return Proposal(None, "nothing-to-move", f"{weak.name!r} has no budget left", after)
    extra = (amount / strong.recent_cac).quantize(Decimal(1), rounding=ROUND_DOWN)  # type: ignore[operator]
    forgone = (
        (amount / weak.recent_cac).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        if weak.recent_cac
        else Decimal(0)
    )
    return Proposal(
        Move(weak, strong, from_line, to_line, amount, extra, forgone),
        reserve_share=after,
        assumptions=[DIMINISHING_RETURNS],
    )
