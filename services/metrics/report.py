"""The evaluation report as a self-contained HTML page: inline SVG charts, no script, no CDN,
a print stylesheet for A4, in the reader's language."""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from services.metrics.reporting import charts, tables
from services.metrics.reporting.cells import Table
from services.metrics.reporting.columns import figure
from services.metrics.reporting.data import ReportData
from services.metrics.reporting.i18n import Words

_STYLE = """
body{font-family:"Noto Sans CJK SC","Noto Sans",system-ui,sans-serif;margin:2rem;color:#1b1b1b;
font-size:14px;line-height:1.45}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;break-after:avoid}
table{border-collapse:collapse;margin:.6rem 0;width:100%;table-layout:fixed}
td,th{border:1px solid #999;padding:.35rem .5rem;text-align:left;vertical-align:top;
overflow-wrap:anywhere;word-break:break-word}
th{background:#eee;overflow-wrap:normal;word-break:normal;hyphens:auto}td.num{text-align:right;white-space:nowrap}
.note{display:block;font-size:12px;color:#444;margin-top:.2rem}
figure{margin:.6rem 0}figcaption{font-size:13px;color:#333}
details summary{cursor:pointer;font-size:13px}
.objectives th:nth-child(1){width:8%}.objectives th:nth-child(2){width:8%}
.objectives th:nth-child(3){width:11%}.objectives th:nth-child(4){width:11%}
.objectives th:nth-child(5){width:8%}.objectives th:nth-child(6){width:10%}
.objectives th:nth-child(7){width:9%}.objectives th:nth-child(8){width:7%}
.objectives th:nth-child(9){width:16%}.objectives th:nth-child(10){width:12%}
td.wraps{white-space:normal}
.channels th:nth-child(1){width:9%}.channels th:nth-child(2){width:8%}
.channels th:nth-child(3){width:10%}.channels th:nth-child(4){width:6%}
.channels th:nth-child(5){width:6%}.channels th:nth-child(6){width:8%}
.channels th:nth-child(7){width:6%}.channels th:nth-child(8){width:7%}
.channels th:nth-child(9){width:7%}.channels th:nth-child(10){width:9%}
.channels th:nth-child(11){width:6%}.channels th:nth-child(12){width:18%}
@page{size:A4;margin:12mm}
@media print{body{margin:0;font-size:11px}td.num{white-space:normal}
th{font-size:10px;overflow-wrap:anywhere}h2{margin-top:1rem}
details{display:block}
details>*{display:block}section{break-inside:avoid-page}table{page-break-inside:auto}
tr{break-inside:avoid}svg{max-width:100%!important}}
"""
_NUMERIC = {"money", "percent", "number", "date"}
_BARS_LEGEND = "Solid bars met the target; hatched bars fell short. The dashed line is 100%."
_RESERVE_NOTE = (
    "Committed amounts and what is drawn from the contingency reserve are kept by the planning "
    "service; this report shows the planned channel budgets and reserve against the spend the "
    "sources reported."
)
_EXPERIMENTS_NOTE = (
    "Each verdict is a fixed-horizon two-proportion test at the 5% level: read it once every "
    "arm has reached its minimum sample."
)
_BUDGET_NOTE = (
    "Committed amounts and the contingency reserve are kept by the planning service; this "
    "report shows the planned channel budgets against the spend the sources reported."
)


def _para(words: Words, message: str, **values: object) -> str:
    return f"<p>{escape(words(message, **values))}</p>"


def _table(table: Table, css: str = "") -> str:
    head = "".join(f"<th scope='col'>{escape(c)}</th>" for c in table.columns)
    body = []
    for row in table.rows:
        cells = []
        for cell in row:
            klass = ""
            if cell.kind in _NUMERIC and not cell.note:
                # A figure stays on one line; one with words after it ("by formula") may wrap.
                klass = " class='num wraps'" if " " in cell.text.strip() else " class='num'"
            note = f"<span class='note'>{escape(cell.note)}</span>" if cell.note else ""
            cells.append(f"<td{klass}>{escape(cell.text)}{note}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f"<table class='{css or table.key}' data-section='{escape(table.key)}'>"
        f"<caption hidden>{escape(table.title)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def _section(key: str, title: str, body: str) -> str:
    return f"<section id='{key}' data-section='{key}'><h2>{escape(title)}</h2>{body}</section>"


def render(data: ReportData, words: Words) -> str:
    """The page a marketing director opens, presents or prints."""
    evaluation = data.evaluation
    sections = {t.key: t for t in tables.sections(data, words)}
    objectives = sections["objectives"]
    achievement = charts.achievement_bars(
        "chart-achievement",
        words("Achievement against target"),
        "; ".join(f"{row[1].text}: {row[4].text}" for row in objectives.rows),
        [
            (row[1].text, o.achievement, row[4].text)
            for row, o in zip(objectives.rows, data.kpis.objectives, strict=True)
        ],
        words("target 100%"),
    )
    parts = [
        _section("objectives", words("Objectives"), _table(objectives)),
        _section(
            "achievement",
            words("Achievement against target"),
            f"<figure>{achievement}<figcaption>{escape(words(_BARS_LEGEND))}</figcaption></figure>",
        ),
        _section("channels", words("Channels"), _table(sections["channels"])),
        _section(
            "budget",
            words("Budget"),
            _table(sections["budget"])
            + _para(words, _BUDGET_NOTE if data.diagnosis.reserve is None else _RESERVE_NOTE),
        ),
    ]
    trend_parts = []
    for n, series in enumerate(data.trends):
        table = sections[f"trend-{series.metric}"]
        name = words.metric(data.dictionary.name(series.metric))
        values = [p.value for p in series.points if p.value is not None] + [
            p.pace for p in series.points if p.pace is not None
        ]
        if not series.points or not values:
            trend_parts.append(
                f"<h3>{escape(name)}</h3>" + _para(words, "No daily figures for this metric yet.")
            )
            continue
        last = series.points[-1]
        desc = words(
            "{metric} from {first} to {last}: {value} against a target pace of {pace}.",
            metric=name,
            first=words.day(series.points[0].day),
            last=words.day(last.day),
            value=figure(data, words, series.metric, last.value),
            pace=figure(data, words, series.metric, last.pace),
        )
        chart = charts.trend_lines(
            f"chart-trend-{n}",
            table.title,
            desc,
            [(p.day, p.value, p.pace) for p in series.points],
            (words("actual to date"), words("target pace")),
            (
                figure(data, words, series.metric, 0 * max(values)),
                figure(data, words, series.metric, max(values)),
                words.day(series.points[0].day),
                words.day(last.day),
            ),
        )
        trend_parts.append(
            f"<h3>{escape(name)}</h3><figure>{chart}<figcaption>{escape(desc)}</figcaption></figure>"
            f"<details><summary>{escape(words('Data table'))}</summary>"
            f"{_table(table, 'trend')}</details>"
        )
    parts.append(_section("trends", words("Daily trend per objective"), "".join(trend_parts)))
    funnel = sections["funnel"]
    if funnel.rows:
        steps = [
            (row[0].text, d[1], f"{row[1].text} · {row[2].text}")
            for row, d in zip(funnel.rows, data.funnel, strict=True)
        ]
        chart = charts.funnel(
            "chart-funnel",
            words("Funnel"),
            "; ".join(f"{label}: {text}" for label, _v, text in steps),
            steps,
        )
        found = "".join(f"<li>{escape(row[1].text)}</li>" for row in sections["bottlenecks"].rows)
        parts.append(
            _section(
                "funnel",
                words("Funnel"),
                f"<figure>{chart}</figure>{_table(funnel)}"
                f"<h3>{escape(words('Funnel bottlenecks'))}</h3><ul class='findings'>{found}</ul>",
            )
        )
    else:
        parts.append(
            _section(
                "funnel",
                words("Funnel"),
                f"<p>{escape(words('No funnel figures were reported.'))}</p>",
            )
        )
    if "experiments" in sections:
        parts.append(
            _section(
                "experiments",
                words("A/B experiments"),
                _table(sections["experiments"]) + _para(words, _EXPERIMENTS_NOTE),
            )
        )
    tree = sections["decomposition"]
    if tree.rows:
        cap = words.percent(data.trees[0][1].payout_cap)
        parts.append(
            _section(
                "decomposition",
                words("Target decomposition"),
                _table(tree)
                + _para(words, "The payout rate is the achievement capped at {cap}.", cap=cap),
            )
        )
    else:
        parts.append(
            _section(
                "decomposition",
                words("Target decomposition"),
                _para(
                    words,
                    "No objective of this plan is decomposed into regions, cities and schools.",
                ),
            )
        )
    notes = []
    if data.kpis.excluded_entity_days:
        notes.append(
            words(
                "{count} entity-days are excluded as fraud; the figures are net of them.",
                count=data.kpis.excluded_entity_days,
            )
        )
    if data.kpis.provisional and data.kpis.final_through is not None:
        notes.append(
            words(
                "Provisional: figures after {day} may still be restated.",
                day=words.day(data.kpis.final_through),
            )
        )
    if evaluation.known_at is not None:
        notes.append(
            words(
                "Figures as the system knew them at {time}: later restatements and exclusions "
                "are not in them.",
                time=evaluation.known_at.isoformat(timespec="minutes"),
            )
        )
    for missing in evaluation.missing_rates:
        notes.append(
            words(
                "No exchange rate from {currency}: some money is not converted.",
                currency=missing.base,
            )
        )
    title = words("Evaluation: {plan}", plan=evaluation.plan_name)
    intro = words(
        "Plan version {version}, {first} to {last}; figures as of {as_of}. "
        "All money in {currency}.",
        version=evaluation.plan_version,
        first=words.day(data.starts_on),
        last=words.day(data.ends_on),
        as_of=words.day(evaluation.as_of),
        currency=words.currency,
    )
    other = "en" if words.locale != "en" else "zh-CN"
    known = (
        ""
        if evaluation.known_at is None
        else "&amp;known_at=" + quote(evaluation.known_at.isoformat())
    )
    return (
        f"<!doctype html><html lang='{words.tag}'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<header><h1>{escape(title)}</h1><p>{escape(intro)}</p>"
        + "".join(f"<p class='note'>{escape(n)}</p>" for n in notes)
        + f"<p class='note'><a href='?lang={other}&amp;as_of={evaluation.as_of}{known}' "
        f"hreflang='{other}'>"
        f"{escape('English' if other == 'en' else '中文')}</a></p></header>"
        f"<main>{''.join(parts)}</main></body></html>"
    )
