"""KPIs and rollups as tables for CSV and XLSX: one row per objective, or per period and
channel; headers are the API's field names, numbers stay numbers."""

from __future__ import annotations

from decimal import Decimal

from services.metrics.reporting.cells import Cell, Kind, Table
from services.metrics.schemas import PlanKpis, PlanRollups
from shared.contract.metric_dictionary import METRIC_DICTIONARY, MetricKind


def _cell(value: object, kind: Kind = "number") -> Cell:
    if value is None:
        return Cell("", None)
    if isinstance(value, Decimal):
        return Cell(f"{value.normalize():f}", value, kind)
    return Cell(str(value), str(value))


def _kind(metric: str) -> Kind:
    found = METRIC_DICTIONARY.get(metric)
    if found is not None and found.kind is MetricKind.MONEY:
        return "money"
    return "number"


def kpi_tables(kpis: PlanKpis) -> list[Table]:
    """One sheet: each objective's target, actual (net and gross), achievement and pace."""
    fields = (
        "metric",
        "type",
        "target_kind",
        "target",
        "actual",
        "achievement",
        "expected_to_date",
        "projected_at_due",
        "due_on",
        "actual_gross",
        "achievement_gross",
    )
    table = Table("kpis", "KPIs", list(fields))
    for row in kpis.objectives:
        money = _kind(row.metric) if row.target_kind == "absolute" else "number"
        kinds: dict[str, Kind] = {
            "achievement": "percent",
            "achievement_gross": "percent",
            "target": money,
            "actual": money,
            "expected_to_date": money,
            "projected_at_due": money,
            "actual_gross": money,
        }
        table.rows.append(
            [
                Cell(row.due_on.isoformat(), row.due_on, "date")
                if name == "due_on"
                else _cell(getattr(row, name), kinds.get(name, "number"))
                for name in fields
            ]
        )
    return [table]


def rollup_tables(rollups: PlanRollups) -> list[Table]:
    """Two sheets: the plan's total per period, and each channel's figures per period."""
    metrics = rollups.metrics
    totals = Table("totals", "Totals", ["start", "end", *metrics])
    by_channel = Table("channels", "Channels", ["start", "end", "channel_id", *metrics])
    for period in rollups.periods:
        span = [
            Cell(period.start.isoformat(), period.start, "date"),
            Cell(period.end.isoformat(), period.end, "date"),
        ]
        totals.rows.append([*span, *(_cell(period.values.get(m), _kind(m)) for m in metrics)])
        for channel in period.channels:
            by_channel.rows.append(
                [
                    *span,
                    _cell(str(channel.channel_id) if channel.channel_id else "plan"),
                    *(_cell(channel.values.get(m), _kind(m)) for m in metrics),
                ]
            )
    return [totals, by_channel]
