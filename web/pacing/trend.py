"""Abandonment trend of one campaign from the cdr table's A legs.

FTC definition: abandoned live answers divided by live answers (``leg = 'a'``,
``live = true``), by the call's start time. The rate is None where a bucket
has no live answer.

NOTE: buckets and days are aligned in UTC, not in the tenant's time zone
(``tenants.timezone``), so a "day" of the 30-day series ends at 00:00 UTC.
"""

from __future__ import annotations

from web.reports import rate_pct

BUCKET_S = 15 * 60
ROLLING_DAYS = 30

# One row per 15-minute bucket: the last ``buckets`` buckets, the current
# (partial) one included, each counted on its own.
QUARTER_HOUR_SQL = """
WITH bounds AS (
    SELECT date_bin('15 minutes', now(), TIMESTAMPTZ '2000-01-01 00:00+00') AS last_start
), buckets AS (
    SELECT generate_series(b.last_start - (%(buckets)s - 1) * INTERVAL '15 minutes',
                           b.last_start, INTERVAL '15 minutes') AS start
      FROM bounds b
), counts AS (
    SELECT date_bin('15 minutes', d.started_at, TIMESTAMPTZ '2000-01-01 00:00+00') AS start,
           count(*) AS live_answers,
           count(*) FILTER (WHERE d.abandoned) AS abandoned
      FROM cdr d, bounds b
     WHERE d.tenant_id = %(tenant_id)s AND d.campaign_id = %(campaign_id)s
       AND d.leg = 'a' AND d.live
       AND d.started_at >= b.last_start - (%(buckets)s - 1) * INTERVAL '15 minutes'
     GROUP BY 1
)
SELECT k.start, coalesce(c.live_answers, 0) AS live_answers, coalesce(c.abandoned, 0) AS abandoned
  FROM buckets k LEFT JOIN counts c ON c.start = k.start
 ORDER BY k.start
"""

# One row per UTC day of the last 30 days (today included): the 30-day
# window ending with that day, so each point is the regulatory figure as of
# that day's end (as of now for today).
ROLLING_30_DAY_SQL = """
WITH days AS (
    SELECT generate_series((now() AT TIME ZONE 'UTC')::date - (2 * %(days)s - 2),
                           (now() AT TIME ZONE 'UTC')::date, INTERVAL '1 day')::date AS day
), counts AS (
    SELECT (d.started_at AT TIME ZONE 'UTC')::date AS day,
           count(*) AS live_answers,
           count(*) FILTER (WHERE d.abandoned) AS abandoned
      FROM cdr d
     WHERE d.tenant_id = %(tenant_id)s AND d.campaign_id = %(campaign_id)s
       AND d.leg = 'a' AND d.live
       AND d.started_at >= ((now() AT TIME ZONE 'UTC')::date - (2 * %(days)s - 2)) AT TIME ZONE 'UTC'
     GROUP BY 1
), rolling AS (
    SELECT k.day,
           sum(coalesce(c.live_answers, 0)) OVER w AS live_answers,
           sum(coalesce(c.abandoned, 0)) OVER w AS abandoned
      FROM days k LEFT JOIN counts c ON c.day = k.day
    WINDOW w AS (ORDER BY k.day ROWS BETWEEN %(days)s - 1 PRECEDING AND CURRENT ROW)
)
SELECT day, live_answers::bigint, abandoned::bigint
  FROM rolling
 ORDER BY day DESC
 LIMIT %(days)s
"""


def quarter_hour_series(conn, tenant_id: int, campaign_id: int, hours: int) -> list[dict]:
    """Return the rate of each 15-minute bucket over the last ``hours`` hours, oldest first."""
    params = {"tenant_id": tenant_id, "campaign_id": campaign_id, "buckets": hours * 3600 // BUCKET_S}
    with conn.cursor() as cur:
        cur.execute(QUARTER_HOUR_SQL, params)
        rows = cur.fetchall()
    return [_point("start", row["start"].isoformat(), row) for row in rows]


def rolling_30_day_series(conn, tenant_id: int, campaign_id: int) -> list[dict]:
    """Return the rolling 30-day rate as of each of the last 30 UTC days, oldest first."""
    params = {"tenant_id": tenant_id, "campaign_id": campaign_id, "days": ROLLING_DAYS}
    with conn.cursor() as cur:
        cur.execute(ROLLING_30_DAY_SQL, params)
        rows = cur.fetchall()
    return [_point("day", row["day"].isoformat(), row) for row in reversed(rows)]


def _point(key: str, label: str, row: dict) -> dict:
    live_answers = int(row["live_answers"])
    abandoned = int(row["abandoned"])
    return {
        key: label,
        "live_answers": live_answers,
        "abandoned": abandoned,
        "rate_pct": rate_pct(abandoned, live_answers),
    }
