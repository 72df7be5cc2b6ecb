"""The rollups' SQL: plan-days rolled up from facts, daily and hourly."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from services.metrics.facts.repository import (
    EXCLUDED_FACT,
    EXCLUDED_KNOWN,
    WITH_KNOWN,
    counted_in,
)
from services.metrics.fx.sql import IN_PLAN_CURRENCY
from shared.contract.metric_dictionary import METRIC_DICTIONARY

# Every metric a fact can carry (ingest validates against the dictionary). Naming them lets a
# (plan, day) lookup use the facts' (plan_id, metric, day) index instead of the whole plan.
KNOWN_METRICS = sorted(METRIC_DICTIONARY)
SPILL = timedelta(days=2)  # how far from its own day a source day's hours may land

# Recompute the rollups of a batch of plan-days (the facts' own days) from facts: all channels
# and sources of each day, so a fact that moved channel leaves its old row, and net follows the
# fraud flags now. The company day bounds only let the delete use the (plan, day) key: a source
# day's hours lie within two days of it, whatever the zones (UTC-12 to UTC+14).
CLEAR_ROLLUPS = text(
    """
    DELETE FROM metrics.daily_rollups AS r
    USING unnest(CAST(:plans AS uuid[]), CAST(:days AS date[])) AS d(plan_id, day)
    WHERE r.plan_id = d.plan_id AND r.source_day = d.day
        AND r.day BETWEEN d.day - 2 AND d.day + 2
    """
)


# The company day of a fact ``f`` of source ``s``: its own day for a whole-day fact, else the
# company day its hour starts in (as HOUR_START: the hours of a company day add up to it).
COMPANY_DAY = """CASE WHEN f.hour = -1 THEN f.day
        ELSE ((f.day + make_interval(hours => f.hour)) AT TIME ZONE coalesce(s.timezone, :zone)
            AT TIME ZONE :zone)::date END"""


def _rollup_rows(facts: str, excluded: str) -> str:
    """A batch of plan-days' rollup rows from ``facts`` (a table of the facts' shape), money in
    the plan's currency. A row whose money has no rate keeps NULL values and names the
    currency (the whole row shares source and day)."""
    return "".join(  # constants only: the shared conversion in the middle
        (
            """
    SELECT f.plan_id, """,
            COMPANY_DAY,
            """ AS day, f.metric,
        coalesce(f.channel_id::text, 'plan') AS channel_key, f.source_id, f.day AS source_day,
        count(DISTINCT f.entity) AS entities,
        sum(c.value) AS gross,
        sum(c.value) FILTER (WHERE NOT """,
            excluded,
            """) AS net,
        CASE WHEN count(c.value) = 0 THEN min(cur.fact_currency) END AS unconverted_currency
    FROM unnest(CAST(:plans AS uuid[]), CAST(:days AS date[])) AS d(plan_id, day)
    JOIN """,
            facts,
            """ AS f
        ON f.plan_id = d.plan_id AND f.day = d.day AND f.metric = ANY(CAST(:metrics AS text[]))
    LEFT JOIN metrics.sources AS s ON s.id = f.source_id""",
            IN_PLAN_CURRENCY,
            """
    WHERE """,
            counted_in(facts),
            """
    GROUP BY 1, 2, 3, 4, 5, 6
""",
        )
    )


ROLLUP_ROWS = _rollup_rows("metrics.facts", EXCLUDED_FACT)
# The same rows from the facts as known at :known_at: a read for finance reviews and disputes.
ROLLUP_ROWS_KNOWN = "".join((WITH_KNOWN, _rollup_rows("known", EXCLUDED_KNOWN)))


FILL_ROLLUPS = text(
    """
    INSERT INTO metrics.daily_rollups (plan_id, day, metric, channel_key, source_id,
        source_day, entities, value_gross, value_net, unconverted_currency)
    """
    + ROLLUP_ROWS
    + "RETURNING plan_id, channel_key, day"
)


# The company-time-zone hour an hourly fact's source hour starts in (``f`` a fact, ``s`` its
# source). A source hour that does not exist (spring forward) lands where PostgreSQL puts it.
HOUR_START = (
    "date_trunc('hour', (f.day + make_interval(hours => f.hour)) AT TIME ZONE s.timezone, "
    "CAST(:zone AS text))"
)


# Hourly rollups of a batch of plan-days, by the facts' own (source) day, as the daily ones. The
# hour bounds only let the delete use the (plan, hour) key: a source day's hours lie within a
# day and a few hours of it, whatever the zones.
CLEAR_HOURLY_ROLLUPS = text(
    """
    DELETE FROM metrics.hourly_rollups AS r
    USING unnest(CAST(:plans AS uuid[]), CAST(:days AS date[])) AS d(plan_id, day)
    WHERE r.plan_id = d.plan_id AND r.day = d.day
        AND r.hour >= (d.day - 2)::timestamptz AND r.hour < (d.day + 3)::timestamptz
    """
)


FILL_HOURLY_ROLLUPS = text(
    "".join(  # constants only: the hour and exclusion expressions shared with HOURLY_ROWS
        (
            """
    INSERT INTO metrics.hourly_rollups
        (plan_id, hour, metric, channel_key, source_id, day, value_gross, value_net)
    SELECT f.plan_id, """,
            HOUR_START,
            """, f.metric, coalesce(f.channel_id::text, 'plan'), f.source_id,
        f.day, sum(c.value), sum(c.value) FILTER (WHERE NOT """,
            EXCLUDED_FACT,
            """)
    FROM unnest(CAST(:plans AS uuid[]), CAST(:days AS date[])) AS d(plan_id, day)
    JOIN metrics.facts AS f
        ON f.plan_id = d.plan_id AND f.day = d.day AND f.metric = ANY(CAST(:metrics AS text[]))
            AND f.hour <> -1
    JOIN metrics.sources AS s ON s.id = f.source_id""",
            IN_PLAN_CURRENCY,
            """
    WHERE c.value IS NOT NULL  -- money without a rate: the daily rollups report it missing
    GROUP BY 1, 2, 3, 4, 5, 6
    """,
        )
    )
)


def _hours_from(facts: str, excluded: str) -> str:
    """(hour, channel_key, metric, gross, net) of the hourly ``facts`` of a plan (:plan) on
    some source days (:pending), money in the plan's currency (none without a rate)."""
    return "".join(  # constants only
        (
            """
        SELECT """,
            HOUR_START,
            """ AS hour, coalesce(f.channel_id::text, 'plan') AS channel_key, f.metric,
            c.value AS gross, CASE WHEN NOT """,
            excluded,
            """ THEN c.value END AS net
        FROM """,
            facts,
            """ AS f
        JOIN metrics.sources AS s ON s.id = f.source_id""",
            IN_PLAN_CURRENCY,
            """
        WHERE f.plan_id = :plan AND f.day = ANY(CAST(:pending AS date[]))
            AND f.hour <> -1 AND f.metric = ANY(CAST(:metrics AS text[]))
            AND c.value IS NOT NULL
""",
        )
    )


_SUM_HOURS = """
    ) AS rows
    WHERE hour >= :since AND hour < :until
    GROUP BY hour, channel_key, metric
    ORDER BY hour, channel_key, metric
    """
# A plan's hours in [since, until) per channel and metric, sources summed: from the hourly
# rollups, except the source days still in dirty_days (``pending``), summed from facts.
HOURLY_ROWS = text(
    "".join(  # constants only
        (
            """
    SELECT hour, channel_key, metric, sum(gross), sum(net)
    FROM (
        SELECT r.hour, r.channel_key, r.metric, r.value_gross AS gross, r.value_net AS net
        FROM metrics.hourly_rollups AS r
        WHERE r.plan_id = :plan AND r.hour >= :since AND r.hour < :until
            AND r.metric = ANY(CAST(:metrics AS text[]))
            AND r.day <> ALL(CAST(:pending AS date[]))
        UNION ALL""",
            _hours_from("metrics.facts", EXCLUDED_FACT),
            _SUM_HOURS,
        )
    )
)
# The same hours as known at :known_at, all from the facts as known then (:pending: every
# source day that may hold them; :plans and :days name the plan and the same days).
HOURLY_ROWS_KNOWN = text(
    "".join(  # constants only
        (
            WITH_KNOWN,
            """
    SELECT hour, channel_key, metric, sum(gross), sum(net)
    FROM (""",
            _hours_from("known", EXCLUDED_KNOWN),
            _SUM_HOURS,
        )
    )
)
