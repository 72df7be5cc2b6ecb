"""Currency conversion in SQL (currency.py's rules), and the days a rate change re-rolls."""

from __future__ import annotations

from sqlalchemy import text

from services.metrics.fx.currency import DEFAULT_PLAN_CURRENCY, MONEY_METRICS

# currency.py's rules in SQL, per fact f of source s and plan targets t: the value in the plan's
# currency, NULL for money with no rate on its day. A fact whose source row is unknown is taken
# to be in the plan's currency.
CONVERTED = """
    SELECT CASE
        WHEN f.metric <> ALL(CAST(:money AS text[])) OR cur.fact_currency = cur.plan_currency
        THEN f.value
        ELSE (
            SELECT CASE WHEN r.base = cur.fact_currency THEN round(f.value * r.rate, 6)
                ELSE round(f.value / r.rate, 6) END
            FROM metrics.fx_rates AS r
            WHERE r.valid_from <= f.day
                AND ((r.base = cur.fact_currency AND r.quote = cur.plan_currency)
                    OR (r.base = cur.plan_currency AND r.quote = cur.fact_currency))
            ORDER BY r.valid_from DESC, r.base = cur.fact_currency DESC
            LIMIT 1)
    END AS value
"""


# The joins that give each fact ``f`` of source ``s`` its value ``c.value`` in the plan's currency
# (NULL for money with no rate on its day); shared by the daily and the hourly rollups.
IN_PLAN_CURRENCY = "".join(  # constants only
    (
        """
    LEFT JOIN metrics.plan_targets AS t ON t.plan_id = f.plan_id
    CROSS JOIN LATERAL (
        SELECT coalesce(t.currency, :default_currency) AS plan_currency,
            coalesce(s.currency, t.currency, :default_currency) AS fact_currency
    ) AS cur
    CROSS JOIN LATERAL (""",
        CONVERTED,
        """) AS c""",
    )
)


CURRENCY_PARAMS = {"money": MONEY_METRICS, "default_currency": DEFAULT_PLAN_CURRENCY}


# The plan-days a rate (base, quote) set from :valid_from (until the pair's next rate) changes:
# money facts in one currency of the pair, of plans in the other. The facts' primary key leads
# with the source, so only the sources in those currencies are read. Marked as MARK_DIRTY does
# (DO UPDATE keeps the mark locked until commit, so the snapshot job cannot rebuild a day with
# the old rate after claiming it).
MARK_RATE_DIRTY = text(
    """
    INSERT INTO metrics.dirty_days (plan_id, channel_key, day)
    SELECT DISTINCT f.plan_id, keys.channel_key, f.day
    FROM metrics.sources AS s
    JOIN metrics.facts AS f ON f.source_id = s.id
    LEFT JOIN metrics.plan_targets AS t ON t.plan_id = f.plan_id
    CROSS JOIN LATERAL (VALUES (coalesce(f.channel_id::text, 'plan')), ('plan'))
        AS keys(channel_key)
    WHERE s.currency IN (:base, :quote) AND f.plan_id IS NOT NULL
        AND f.metric = ANY(CAST(:money AS text[]))
        AND f.day >= :valid_from AND f.day < coalesce(CAST(:until AS date), 'infinity')
        AND coalesce(t.currency, :default_currency) IN (:base, :quote)
        AND coalesce(t.currency, :default_currency) <> s.currency
    ORDER BY 1, 2, 3
    ON CONFLICT (plan_id, channel_key, day) DO UPDATE SET day = EXCLUDED.day
    """
)


# Every day of a plan with money facts (its currency became known: each fact's conversion may
# change).
MARK_MONEY_DIRTY = text(
    """
    INSERT INTO metrics.dirty_days (plan_id, channel_key, day)
    SELECT DISTINCT f.plan_id, keys.channel_key, f.day
    FROM metrics.facts AS f
    CROSS JOIN LATERAL (VALUES (coalesce(f.channel_id::text, 'plan')), ('plan'))
        AS keys(channel_key)
    WHERE f.plan_id = :plan AND f.metric = ANY(CAST(:money AS text[]))
    ORDER BY 1, 2, 3
    ON CONFLICT (plan_id, channel_key, day) DO UPDATE SET day = EXCLUDED.day
    """
)
