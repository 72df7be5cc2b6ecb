"""Server-rendered SVG charts: no script, labels of 13 px, and series told apart by pattern
and marker shape as well as colour, so a greyscale print still reads. Each chart carries a
<title> and <desc>; the page puts a data table beside it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from html import escape

FONT = 13
DARK = "#1f3a5f"  # actual: dark and solid
LIGHT = "#8a8a8a"  # target and pace: grey and dashed
_DEFS = (
    "<defs>"
    '<pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
    'patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffffff"/>'
    f'<line x1="0" y1="0" x2="0" y2="6" stroke="{DARK}" stroke-width="3"/></pattern>'
    "</defs>"
)


def _frame(chart_id: str, title: str, desc: str, width: int, height: int, body: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" style="max-width:{width}px" role="img" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" font-size="{FONT}" '
        f'font-family="Noto Sans CJK SC, Noto Sans, sans-serif">'
        f'<title id="{chart_id}-t">{escape(title)}</title>'
        f'<desc id="{chart_id}-d">{escape(desc)}</desc>{_DEFS}{body}</svg>'
    )


def achievement_bars(
    chart_id: str,
    title: str,
    desc: str,
    items: Sequence[tuple[str, Decimal | None, str]],
    target_label: str,
) -> str:
    """One bar per objective against the 100 % line: solid when met, hatched when short."""
    width, row, left, scale = 720, 30, 250, 180  # scale: pixels for 100 %
    bars = []
    for n, (label, share, text) in enumerate(items):
        y = 24 + n * row
        value = float(share or 0)
        length = min(value, 2.2) * scale
        fill = DARK if value >= 1 else "url(#hatch)"
        bars.append(
            f'<text x="0" y="{y + 15}">{escape(label)}</text>'
            f'<rect x="{left}" y="{y}" width="{length:.0f}" height="20" fill="{fill}" '
            f'stroke="{DARK}"/>'
            f'<text x="{left + 6 + length:.0f}" y="{y + 15}">{escape(text)}</text>'
        )
    height = 34 + len(items) * row
    line = (
        f'<line x1="{left + scale}" y1="16" x2="{left + scale}" y2="{height}" '
        f'stroke="{LIGHT}" stroke-width="2" stroke-dasharray="6 4"/>'
        f'<text x="{left + scale + 4}" y="{FONT}" fill="#444">{escape(target_label)}</text>'
    )
    return _frame(chart_id, title, desc, width, height, "".join(bars) + line)


def trend_lines(
    chart_id: str,
    title: str,
    desc: str,
    points: Sequence[tuple[date, Decimal | None, Decimal | None]],
    labels: tuple[str, str],
    axis: tuple[str, str, str, str],
) -> str:
    """The objective's figure per day (solid, round markers) and its target pace (dashed,
    square markers); ``axis`` is the formatted low and high value and the first and last day."""
    width, height, left, top, bottom = 720, 260, 110, 30, 40
    values = [float(v) for _d, a, p in points for v in (a, p) if v is not None]
    high = max(values, default=1.0) or 1.0
    plot_w, plot_h = width - left - 20, height - top - bottom
    step = plot_w / max(len(points) - 1, 1)

    def xy(n: int, value: Decimal) -> tuple[float, float]:
        return left + n * step, top + plot_h - float(value) / high * plot_h

    def series(column: Sequence[Decimal | None], stroke: str, dash: str, marker: str) -> str:
        coords = [xy(n, value) for n, value in enumerate(column) if value is not None]
        if not coords:
            return ""
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        every = max(len(coords) // 12, 1)
        marks = "".join(
            marker.format(x=x, y=y) for i, (x, y) in enumerate(coords) if i % every == 0
        )
        return (
            f'<polyline points="{path}" fill="none" stroke="{stroke}" stroke-width="2.5" '
            f'stroke-dasharray="{dash}"/>{marks}'
        )

    actual = series(
        [a for _d, a, _p in points],
        DARK,
        "none",
        f'<circle cx="{{x:.1f}}" cy="{{y:.1f}}" r="4" fill="{DARK}"/>',
    )
    pace = series(
        [p for _d, _a, p in points],
        LIGHT,
        "7 5",
        f'<rect x="{{x:.1f}}" y="{{y:.1f}}" width="7" height="7" fill="#fff" stroke="{LIGHT}" '
        'stroke-width="2" transform="translate(-3.5 -3.5)"/>',
    )
    low_label, high_label, first_label, last_label = axis
    frame = (
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#444"/>'
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 20}" y2="{top + plot_h}" '
        'stroke="#444"/>'
        f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end">{escape(low_label)}</text>'
        f'<text x="{left - 6}" y="{top + FONT}" text-anchor="end">{escape(high_label)}</text>'
        f'<text x="{left}" y="{height - 18}">{escape(first_label)}</text>'
        f'<text x="{width - 20}" y="{height - 18}" text-anchor="end">{escape(last_label)}</text>'
    )
    legend = (
        f'<circle cx="{left + 8}" cy="12" r="4" fill="{DARK}"/>'
        f'<line x1="{left}" y1="12" x2="{left + 16}" y2="12" stroke="{DARK}" stroke-width="2.5"/>'
        f'<text x="{left + 22}" y="16">{escape(labels[0])}</text>'
        f'<line x1="{left + 260}" y1="12" x2="{left + 284}" y2="12" stroke="{LIGHT}" '
        'stroke-width="2.5" stroke-dasharray="7 5"/>'
        f'<text x="{left + 290}" y="16">{escape(labels[1])}</text>'
    )
    return _frame(chart_id, title, desc, width, height, frame + actual + pace + legend)


def funnel(chart_id: str, title: str, desc: str, steps: Sequence[tuple[str, Decimal, str]]) -> str:
    """Funnel steps as bars on a linear scale of the first step, each labelled with its count
    and its share of the step before."""
    width, row, left = 720, 34, 200
    top_value = float(steps[0][1]) if steps else 1.0
    plot_w = width - left - 10
    body = []
    for n, (label, value, text) in enumerate(steps):
        y = 6 + n * row
        length = max(float(value) / top_value * plot_w, 2.0) if top_value else 2.0
        fill = DARK if n % 2 == 0 else "url(#hatch)"
        inside = length > plot_w * 0.6  # a long bar holds its label; a short one has it after
        label_x = left + 8 if inside else left + length + 6
        label_fill = "#fff" if inside and n % 2 == 0 else "#1b1b1b"
        halo = (
            "" if inside and n % 2 == 0 else ' paint-order="stroke" stroke="#fff" stroke-width="4"'
        )
        body.append(
            f'<text x="0" y="{y + 18}">{escape(label)}</text>'
            f'<rect x="{left}" y="{y}" width="{length:.1f}" height="24" fill="{fill}" '
            f'stroke="{DARK}"/>'
            f'<text x="{label_x:.0f}" y="{y + 18}" fill="{label_fill}"{halo}>{escape(text)}</text>'
        )
    return _frame(chart_id, title, desc, width, 12 + len(steps) * row, "".join(body))
