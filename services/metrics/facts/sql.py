"""The facts' write path in SQL: one delivery (ingest.py) or a coalesced group (coalesce.py)."""

from __future__ import annotations

from sqlalchemy import text

# The restatement rule, "the newer report wins" (restatement.restates in Python): a stored fact
# (``f``) takes an incoming report's value only when that report is newer than the one it holds;
# an older report arriving late, or one as old, changes no fact (its revision is still kept).
NEWER_REPORT_WINS = """
    ON CONFLICT (source_id, entity, day, hour, metric) DO UPDATE
        SET value = EXCLUDED.value, reported_at = EXCLUDED.reported_at,
            plan_id = EXCLUDED.plan_id, channel_id = EXCLUDED.channel_id
        WHERE f.reported_at < EXCLUDED.reported_at"""
# One statement per batch: rows meet their mappings, every value goes to the revisions table (the
# as-of history is complete), changed plan/channel/days are remembered for the coalesced
# snapshots, and facts are upserted where the report is newer; an older report arriving late
# changes no fact. A day already marked is marked again (DO UPDATE, not DO NOTHING) so its row
# stays locked until this commit: the snapshot job skips locked marks and cannot rebuild the
# day's rollup before these facts are visible.
# Remember the changed plan/channel/days of the rows in ``incoming`` (also used by coalesce.py).
MARK_DIRTY = """
    INSERT INTO metrics.dirty_days (plan_id, channel_key, day)
    SELECT DISTINCT plan_id, keys.channel_key, day
    FROM incoming
    CROSS JOIN LATERAL (VALUES (coalesce(channel_id::text, 'plan')), ('plan'))
        AS keys(channel_key)
    WHERE plan_id IS NOT NULL
    ORDER BY 1, 2, 3
    ON CONFLICT (plan_id, channel_key, day) DO UPDATE SET day = EXCLUDED.day
"""
# Whole-day batches (every platform's daily report) leave the hours array out: unnesting it
# costs a few per cent of the statement for values that are all WHOLE_DAY. Values travel as
# text and PostgreSQL parses them: asyncpg's binary numeric encoding of 1,000 Decimals took
# 2.0 ms against 0.8 ms for str() and the cast (exact either way).
INCOMING_WHOLE_DAYS = """
WITH incoming AS (
    SELECT t.entity, t.day, -1::smallint AS hour, t.metric, t.value, m.plan_id, m.channel_id
    FROM unnest($1::text[], $2::date[], $3::text[], CAST($4::text[] AS numeric[]))
        AS t(entity, day, metric, value)
    LEFT JOIN metrics.mappings AS m ON m.source_id = $5 AND m.entity = t.entity
"""
INCOMING_HOURS = """
WITH incoming AS (
    SELECT t.entity, t.day, t.hour, t.metric, t.value, m.plan_id, m.channel_id
    FROM unnest($1::text[], $2::date[], $8::smallint[], $3::text[],
        CAST($4::text[] AS numeric[]))
        AS t(entity, day, hour, metric, value)
    LEFT JOIN metrics.mappings AS m ON m.source_id = $5 AND m.entity = t.entity
"""
UPSERT_REST = "".join(  # constants only: the shared dirty-day marking and restatement
    (
        """), revisions AS (
    INSERT INTO metrics.fact_revisions
        (source_id, entity, day, hour, metric, value, reported_at, delivery_id)
    SELECT $5, entity, day, hour, metric, value, $6, $7 FROM incoming
), dirty AS (
""",
        MARK_DIRTY,
        """), changed AS (
    INSERT INTO metrics.facts AS f
        (source_id, entity, day, hour, metric, value, reported_at, plan_id, channel_id)
    SELECT $5, entity, day, hour, metric, value, $6, plan_id, channel_id FROM incoming""",
        NEWER_REPORT_WINS,
        """
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted) AS inserted, count(*) AS changed FROM changed
""",
    )
)
UPSERT = INCOMING_HOURS + UPSERT_REST  # $8: each row's hour
UPSERT_WHOLE_DAYS = INCOMING_WHOLE_DAYS + UPSERT_REST
SOURCE_SECRETS = text("SELECT kind, secrets, token_subjects FROM metrics.sources WHERE id = :id")
# Read apart from the secrets, and for Meta batches only: no other format needs it.
META_ACTION_TYPES = """
SELECT id, meta_action_types FROM metrics.sources
WHERE id = ANY($1::uuid[]) AND meta_action_types IS NOT NULL
"""
CLAIM = """
INSERT INTO metrics.deliveries (source_id, delivery_id, body_hash, response)
VALUES ($1, $2, $3, '{}') ON CONFLICT DO NOTHING RETURNING true
"""
SEEN = (
    "SELECT body_hash, response FROM metrics.deliveries WHERE source_id = $1 AND delivery_id = $2"
)
# The delivery's answer, its IngestionSummary outbox row ($4-$8: Outbox.values) and the relay's
# NOTIFY (shared.kit.bus.outbox.notify_channel) in one round trip instead of three.
ANSWERED_AND_RECORDED = """
WITH answered AS (
    UPDATE metrics.deliveries SET response = $3 WHERE source_id = $1 AND delivery_id = $2
), recorded AS (
    INSERT INTO metrics.outbox (event_id, topic, subject, event_type, envelope)
    VALUES ($4, $5, $6, $7, $8::jsonb)
)
SELECT pg_notify('outbox_metrics', '')
"""

# A coalesced group of deliveries (coalesce.py).
SOURCES_SECRETS = text(
    "SELECT id, kind, secrets, token_subjects FROM metrics.sources"
    " WHERE id = ANY(CAST(:ids AS uuid[]))"
)
CLAIM_MANY = """
INSERT INTO metrics.deliveries (source_id, delivery_id, body_hash, response)
SELECT s, d, h, '{}' FROM unnest($1::uuid[], $2::text[], $3::text[]) AS t(s, d, h)
ON CONFLICT DO NOTHING RETURNING source_id, delivery_id
"""
SEEN_MANY = """
SELECT d.source_id, d.delivery_id, d.body_hash, d.response
FROM metrics.deliveries AS d
JOIN unnest($1::uuid[], $2::text[]) AS t(s, i) ON d.source_id = t.s AND d.delivery_id = t.i
"""
# The group's rows in one statement: every row becomes a revision, the latest report of each
# key (``winner``) is upserted into facts (in key order, so concurrent writers lock alike), the
# changed plan/channel/days are remembered, and the facts as they stood before the statement
# are returned so each delivery's counts can be worked out as if it had come alone.
UPSERT_MANY = "".join(  # constants only: the shared dirty-day marking and restatement
    (
        """
WITH incoming AS (
    SELECT t.source_id, t.entity, t.day, t.hour, t.metric, t.value, t.reported_at, t.delivery_id,
        t.winner, m.plan_id, m.channel_id
    FROM unnest($1::uuid[], $2::text[], $3::date[], $9::smallint[], $4::text[], $5::numeric[],
        $6::timestamptz[], $7::text[], $8::bool[])
        AS t(source_id, entity, day, hour, metric, value, reported_at, delivery_id, winner)
    LEFT JOIN metrics.mappings AS m ON m.source_id = t.source_id AND m.entity = t.entity
), revisions AS (
    INSERT INTO metrics.fact_revisions
        (source_id, entity, day, hour, metric, value, reported_at, delivery_id)
    SELECT source_id, entity, day, hour, metric, value, reported_at, delivery_id FROM incoming
), dirty AS (
""",
        MARK_DIRTY,
        """), changed AS (
    INSERT INTO metrics.facts AS f
        (source_id, entity, day, hour, metric, value, reported_at, plan_id, channel_id)
    SELECT source_id, entity, day, hour, metric, value, reported_at, plan_id, channel_id
    FROM incoming WHERE winner""",
        NEWER_REPORT_WINS,
        """
)
SELECT f.source_id, f.entity, f.day, f.hour, f.metric, f.reported_at
FROM metrics.facts AS f
JOIN incoming AS i ON i.winner AND f.source_id = i.source_id AND f.entity = i.entity
    AND f.day = i.day AND f.hour = i.hour AND f.metric = i.metric
""",
    )
)
# Each stored delivery's answer, in one round trip (its event goes through the outbox).
ANSWERED_MANY = """
UPDATE metrics.deliveries AS d SET response = t.response::jsonb
FROM unnest($1::uuid[], $2::text[], $3::text[]) AS t(source_id, delivery_id, response)
WHERE d.source_id = t.source_id AND d.delivery_id = t.delivery_id
"""
