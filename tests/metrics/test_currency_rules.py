"""Currency rules without HTTP: a rate converts money (its inverse implied), counters are never
converted, the latest rate of a pair applies, and missing rates are summarised per currency."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from services.metrics.fx import currency
from services.metrics.fx.currency import Rate

D = Decimal
JUNE_10 = date(2024, 6, 10)


def test_a_rate_converts_money_and_its_inverse_is_implied() -> None:
    rates = [Rate("USD", "CNY", date(2024, 6, 1), D("7.1"))]
    assert currency.convert("cost", D(100), "USD", "CNY", JUNE_10, rates) == D("710.000000")
    # only USD→CNY is stored: CNY→USD divides by it, rounded to the facts' 6 places
    assert currency.convert("cost", D(100), "CNY", "USD", JUNE_10, rates) == D("14.084507")
    assert currency.convert("cost", D(5), "USD", "USD", JUNE_10, []) == D(5)


def test_counters_are_never_converted() -> None:
    rates = [Rate("USD", "CNY", date(2024, 6, 1), D("7.1"))]
    assert currency.convert("clicks", D(100), "USD", "CNY", JUNE_10, rates) == D(100)
    assert currency.convert("clicks", D(100), "USD", "CNY", JUNE_10, []) == D(100)


def test_the_latest_rate_of_the_pair_applies_whichever_way_it_was_stored() -> None:
    rates = [
        Rate("USD", "CNY", date(2024, 6, 1), D("7")),
        Rate("CNY", "USD", date(2024, 6, 15), D("0.125")),  # 1 USD = 8 CNY from the 15th
        Rate("EUR", "CNY", date(2024, 6, 20), D("9")),  # another pair: no say on USD
    ]
    assert currency.convert("gmv", D(10), "USD", "CNY", date(2024, 6, 14), rates) == D(70)
    assert currency.convert("gmv", D(10), "USD", "CNY", date(2024, 6, 15), rates) == D(80)
    assert currency.convert("gmv", D(10), "USD", "CNY", date(2024, 6, 30), rates) == D(80)
    # before the first rate there is none: not the as-reported amount
    assert currency.convert("gmv", D(10), "USD", "CNY", date(2024, 5, 31), rates) is None


def test_missing_rates_are_summarised_per_currency_from_their_first_day() -> None:
    gaps = [
        ("USD", date(2024, 6, 12)),
        ("USD", date(2024, 6, 10)),
        ("USD", date(2024, 6, 12)),
        ("EUR", date(2024, 6, 11)),
    ]
    assert currency.missing_rates(gaps, "CNY") == [
        currency.MissingRate("USD", "CNY", date(2024, 6, 10), date(2024, 6, 12), 2),
        currency.MissingRate("EUR", "CNY", date(2024, 6, 11), date(2024, 6, 11), 1),
    ]
