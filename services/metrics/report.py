"""The evaluation report as a self-contained HTML page with inline SVG charts (prints as is)."""

from __future__ import annotations

from decimal import Decimal
from html import escape

from services.metrics.schemas import Evaluation, PeriodComparison

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse;
margin:1rem 0}td,th{border:1px solid #ccc;padding:.4rem .7rem;text-align:left}th{background:#f3f3f3}
.ok{color:#1a7f37}.short{color:#b42318}svg text{font-size:12px}
"""


def _bar_chart(labels: list[str], ratios: list[Decimal | None]) -> str:
    """Achievement per objective against the 100 % target line."""
    width, row, left = 760, 28, 230
    scale = 200  # pixels for 100 %
    bars = []
    for n, (label, ratio) in enumerate(zip(labels, ratios, strict=True)):
        value = float(ratio or 0)
        y = 10 + n * row
        colour = "#1a7f37" if value >= 1 else "#b42318"
        length = min(value, 2.2) * scale
        bars.append(
            f'<text x="0" y="{y + 15}">{escape(label)}</text>'
            f'<rect x="{left}" y="{y}" width="{length:.0f}" height="18" fill="{colour}"/>'
            f'<text x="{left + 5 + length:.0f}" y="{y + 14}">{value:.0%}</text>'
        )
    height = 20 + len(labels) * row
    target_line = (
        f'<line x1="{left + scale}" y1="0" x2="{left + scale}" y2="{height}" '
        'stroke="#555" stroke-dasharray="4"/>'
        f'<text x="{left + scale + 4}" y="{height - 2}" fill="#555">target</text>'
    )
    return (
        f'<svg width="{width}" height="{height}" role="img" aria-label="achievement">'
        f"{''.join(bars)}{target_line}</svg>"
    )


def _before(period: PeriodComparison | None) -> str:
    if period is None or period.actual is None:
        return ""
    return f"{period.actual} ({period.change or 'n/a'}) {period.first_day} – {period.last_day}"


def render(report: Evaluation) -> str:
    """The page a manager opens or prints."""
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "dimension",
            "metric",
            "target",
            "actual",
            "achievement",
            "period before",
            "earlier versions",
            "source",
            "analysis",
            "suggestion",
        )
    )
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{escape(v or '')}</td>"
            for v in (
                r.dimension,
                r.metric,
                r.target,
                r.actual,
                r.achievement,
                _before(r.previous_period),
                "; ".join(f"v{e.version}: {e.target} ({e.achievement})" for e in r.earlier_targets),
                r.data_source,
                r.analysis,
                r.suggestion,
            )
        )
        + "</tr>"
        for r in report.rows
    )
    channel_rows = "".join(
        f"<tr><td>{escape(c.name)}</td><td>{'' if c.cost is None else f'{c.cost:,.2f}'}</td>"
        f"<td>{'' if c.ctr is None else f'{c.ctr:.2%}'}</td>"
        f"<td>{'' if c.conversion_rate is None else f'{c.conversion_rate:.2%}'}</td>"
        f"<td>{'' if c.roi is None else f'1:{c.roi:.2f}'}</td></tr>"
        for c in report.channels
        if c.cost is not None or c.ctr is not None
    )
    chart = _bar_chart(
        [r.metric for r in report.rows], [_ratio(r.achievement) for r in report.rows]
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Evaluation: {escape(report.plan_name)}</title>"
        f"<style>{_STYLE}</style></head><body>"
        f"<h1>Evaluation: {escape(report.plan_name)}</h1>"
        f"<p>Plan version {report.plan_version}, figures as of {report.as_of}.</p>"
        f"<h2>Objectives</h2><table><tr>{head}</tr>{rows}</table>"
        f"<h2>Achievement against target</h2>{chart}"
        f"<h2>Channels</h2><table><tr><th>channel</th><th>cost</th><th>CTR</th><th>CVR</th><th>ROI</th></tr>"
        f"{channel_rows}</table></body></html>"
    )


def _ratio(percent: str | None) -> Decimal | None:
    return Decimal(percent.rstrip("%")) / 100 if percent else None
