"""The metric dictionary as metrics computes it: the built-in metrics plus the derived ones.

Every lookup that may meet a derived key goes through a ``Dictionary``: whether a metric is
known, how it aggregates, which base sums it needs and its value over them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from services.metrics.dictionary.expressions import Expression
from services.metrics.kpis import kpi
from shared.contract.metric_dictionary import (
    METRIC_DICTIONARY,
    METRICS,
    MetricDefinition,
    MetricKind,
)


@dataclass(frozen=True)
class DerivedEntry:
    """A derived metric: its dictionary entry, parsed formula and how often it was redefined."""

    definition: MetricDefinition
    expression: Expression
    version: int


@dataclass(frozen=True)
class Dictionary:
    """Built-in metrics and the derived ones (a built-in key always means the built-in)."""

    derived: Mapping[str, DerivedEntry] = field(default_factory=dict)

    def __contains__(self, key: object) -> bool:
        return key in METRIC_DICTIONARY or key in self.derived

    def keys(self) -> frozenset[str]:
        """Every key, built-in and derived."""
        return frozenset(METRIC_DICTIONARY) | frozenset(self.derived)

    def get(self, key: str) -> MetricDefinition | None:
        """A metric's entry, or None for an unknown key."""
        if key in METRIC_DICTIONARY:
            return METRIC_DICTIONARY[key]
        entry = self.derived.get(key)
        return None if entry is None else entry.definition

    def name(self, key: str) -> str:
        """The metric's display name (the key itself when unknown)."""
        found = self.get(key)
        return key if found is None else found.name

    def additive(self, key: str) -> bool:
        """True when the metric's figures of several entities, days or channels add up (a
        caller may sum them); False for ratios, formulas, indexes and unique counts."""
        found = self.get(key)
        return found is not None and found.additive

    def accumulates(self, key: str) -> bool:
        """Counters and money add up over time; ratios and indices do not."""
        entry = self._derived(key)
        if entry is None:
            return kpi.accumulates(key)
        return entry.definition.kind in (MetricKind.COUNTER, MetricKind.MONEY)

    def value_of(
        self, key: str, sums: Mapping[str, Decimal], latest: Mapping[str, Decimal]
    ) -> Decimal | None:
        """A metric from base sums; a derived one is its formula over the sums."""
        entry = self._derived(key)
        return kpi.value_of(key, sums, latest) if entry is None else entry.expression.value(sums)

    def base_metrics(self, keys: Iterable[str]) -> list[str]:
        """The summed metrics these are computed from (a ratio or formula needs its parts)."""
        base: set[str] = set()
        for key in keys:
            entry = self._derived(key)
            definition = METRIC_DICTIONARY.get(key)
            if entry is not None:
                base |= entry.expression.metrics
            elif definition is not None and definition.numerator and definition.denominator:
                base |= {definition.numerator, definition.denominator}
            else:
                base.add(key)
        return sorted(base)

    def definitions(self) -> list[MetricDefinition]:
        """The built-in metrics in their order, then the derived ones by key."""
        return [*METRICS, *(self.derived[k].definition for k in sorted(self.derived))]

    def _derived(self, key: str) -> DerivedEntry | None:
        return None if key in METRIC_DICTIONARY else self.derived.get(key)


BUILT_IN = Dictionary()
