"""Channel efficiency and reallocation as plain functions, with hand-computed numbers."""

from __future__ import annotations

from decimal import Decimal as D

from services.metrics.diagnosis import channels as rules
from services.metrics.diagnosis.channels import ChannelRecent, Cohort, Figures, Line, Parameters

FEED = Figures(
    spend=D(10000), new_customers=D(100), orders=D(150), gmv=D(30000), repeat_customers=D(30)
)
PARAMS = Parameters(gross_margin=D("0.4"), purchase_frequency=D(2), lifespan_years=D("1.5"))


def test_the_descriptive_figures_of_a_channel() -> None:
    # 10,000 / 100 new customers; 30,000 / 150 orders; 30 of 100 ordered again; 30,000 / 10,000
    assert rules.cac(FEED) == D("100.00")
    assert rules.aov(FEED) == D("200.00")
    assert rules.repeat_rate(FEED) == D("0.3000")
    assert rules.roi(FEED) == D("3.0000")


def test_classical_cltv_multiplies_the_four_factors_and_needs_them_all() -> None:
    # 200 × 2 orders a year × 40 % margin × 1.5 years
    assert rules.classical_cltv(D(200), PARAMS) == D("240.00")
    assert rules.classical_cltv(D(200), Parameters(gross_margin=D("0.4"))) is None
    assert rules.classical_cltv(None, PARAMS) is None


def test_cohort_cltv_is_margin_times_the_newest_cumulative_revenue_per_customer() -> None:
    cohorts = [Cohort(D(60), D(45000), 30), Cohort(D(40), D(30000), 7)]
    # 0.4 × 75,000 / 100
    assert rules.cohort_cltv(cohorts, D("0.4")) == D("300.00")
    assert rules.cohort_cltv(cohorts, None) == D("750.00")  # revenue taken whole


def test_below_the_floor_or_spending_without_customers_is_ineffective() -> None:
    koc = Figures(spend=D(6000), new_customers=D(40), orders=D(50), gmv=D(6000))
    ratio, mark = rules.judge(D(150), koc, D(144), D(1))
    assert ratio == D("0.9600")
    assert (mark.ineffective, mark.code) == (True, "cltv-below-cac-floor")
    ratio, mark = rules.judge(D(100), FEED, D(100), D(1))
    assert (ratio, mark.ineffective) == (D("1.0000"), False)  # at the floor is not below it
    campus = Figures(spend=D(4000))
    assert rules.judge(None, campus, None, D(1))[1].code == "no-new-customers"
    assert rules.judge(None, Figures(), None, D(1))[1].ineffective is False
    assert rules.judge(D(100), FEED, None, D(1))[1].code == "cltv-unknown"


def _channel(
    name: str, recent: tuple[int, int], previous: tuple[int, int], planned: int, spent: int
) -> ChannelRecent:
    return ChannelRecent(
        channel_id=name,
        name=name,
        recent=Figures(spend=D(recent[0]), new_customers=D(recent[1])),
        previous=Figures(spend=D(previous[0]), new_customers=D(previous[1])),
        lines=[Line(f"{name}-line", f"{name} fees", D(planned))],
        spent_to_date=D(spent),
    )


CHANNELS = [
    _channel("feed", (14000, 140), (14000, 175), 380000, 28000),  # CAC 100, was 80
    _channel("koc", (7000, 100), (7000, 70), 120000, 14000),  # CAC 70, was 100: strongest
    _channel("popup", (21000, 70), (21000, 84), 300000, 42000),  # CAC 300, was 250: weakest
]
LINES = [D(380000), D(120000), D(300000), D(200000)]


def test_half_the_weakest_channels_remaining_budget_goes_to_the_strongest() -> None:
    proposal = rules.propose(CHANNELS, all_lines_planned=LINES, reserve=D(120000), share=D("0.5"))
    move = proposal.move
    assert move is not None
    assert (move.weak.name, move.strong.name) == ("popup", "koc")
    assert move.weak.remaining == D(258000)  # 300,000 planned − 42,000 spent
    assert move.amount == D(129000)
    assert move.extra_new_customers == D(1842)  # 129,000 / 70, rounded down
    assert move.forgone_new_customers == D(430)  # 129,000 / 300
    assert CHANNELS[0].trend == D("0.2500")
    assert proposal.reserve_share is not None
    assert round(proposal.reserve_share, 4) == D("0.1071")  # 120,000 / 1,120,000
    assert proposal.assumptions == [rules.DIMINISHING_RETURNS]


def test_no_reallocation_is_offered_while_the_reserve_breaks_the_rule() -> None:
    # 50,000 / 1,050,000 = 4.76 %, under the 10 % floor; and 200,000 / 1,200,000 is over 15 %
    for reserve in (D(50000), D(200000)):
        proposal = rules.propose(CHANNELS, all_lines_planned=LINES, reserve=reserve, share=D(1))
        assert (proposal.move, proposal.code) == (None, "reserve-rule")
    unknown = rules.propose(CHANNELS, all_lines_planned=LINES, reserve=None, share=D(1))
    assert (unknown.move, unknown.code) == (None, "reserve-unknown")


def test_the_move_never_exceeds_what_the_weak_channel_has_left() -> None:
    spent_out = [*CHANNELS[:2], _channel("popup", (21000, 70), (21000, 84), 300000, 300000)]
    proposal = rules.propose(spent_out, all_lines_planned=LINES, reserve=D(120000), share=D(1))
    assert proposal.move is not None
    # popup has nothing left; feed (CAC 100 > 70) is the weakest with budget: 352,000 left
    assert (proposal.move.weak.name, proposal.move.amount) == ("feed", D(352000))
    all_spent = [
        _channel(n, r, p, planned, planned)
        for n, r, p, planned in (
            ("feed", (14000, 140), (1, 1), 380000),
            ("popup", (21000, 70), (1, 1), 300000),
        )
    ]
    nothing = rules.propose(
        [CHANNELS[1], *all_spent], all_lines_planned=LINES, reserve=D(120000), share=D(1)
    )
    assert (nothing.move, nothing.code) == (None, "no-weaker-channel")
