"""The per-campaign compliance report: the records that prove the safe harbor.

Sections: the abandonment rate of each trailing 30-day window ending on
each day of the report, ring times of unanswered calls (at least 15 s are
required before giving up), Safe Harbor message plays with their times,
do-not-call registry copies with their dates, and blocked dials by rule.
Every query filters on the tenant.
"""

from __future__ import annotations

import datetime as dt

from dialer_common.compliance.dnc import latest_lists, stale_warnings
from dialer_common.compliance.evidence import MAX_ABANDONMENT_PCT, WINDOW_DAYS, abandonment_status
from dialer_common.compliance.packs import PackSet

MIN_RING_S = 15
REPORT_DAYS = 30
MAX_SAFE_HARBOR_ROWS = 1000

DAILY_WINDOWS_SQL = """
WITH days AS (
    SELECT generate_series(%(first_day)s::date, %(last_day)s::date, interval '1 day')::date AS day
)
SELECT days.day,
       count(d.id) FILTER (WHERE d.live) AS live_answers,
       count(d.id) FILTER (WHERE d.live AND (d.abandoned OR d.safe_harbor_played)) AS abandoned
  FROM days
  LEFT JOIN cdr d
    ON d.tenant_id = %(tenant_id)s
   AND d.campaign_id = %(campaign_id)s
   AND d.leg = 'a'
   AND d.started_at >= GREATEST((days.day - %(window_days)s + 1)::timestamp AT TIME ZONE 'UTC',
                                %(created_at)s)
   AND d.started_at < (days.day + 1)::timestamp AT TIME ZONE 'UTC'
 GROUP BY days.day
 ORDER BY days.day
"""

RING_SQL = """
SELECT count(*) AS unanswered,
       min(duration) AS min_ring_s,
       round(avg(duration)::numeric, 1) AS avg_ring_s,
       count(*) FILTER (WHERE duration < %(min_ring_s)s AND hangup_cause IN ('NO_ANSWER', 'ORIGINATOR_CANCEL',
                                                                           'ALLOTTED_TIMEOUT'))
           AS gave_up_early
  FROM cdr
 WHERE tenant_id = %(tenant_id)s AND campaign_id = %(campaign_id)s AND leg = 'a' AND NOT answered
   AND started_at >= %(since)s
"""

SAFE_HARBOR_SQL = """
SELECT call_uuid::text, lead_id, started_at, safe_harbor_at
  FROM cdr
 WHERE tenant_id = %(tenant_id)s AND campaign_id = %(campaign_id)s AND leg = 'a' AND safe_harbor_played
   AND started_at >= %(since)s
 ORDER BY started_at DESC
 LIMIT %(limit)s
"""

BLOCKS_SQL = """
SELECT rule, count(*) AS blocked, max(blocked_at) AS last_blocked_at
  FROM compliance_blocks
 WHERE tenant_id = %(tenant_id)s AND campaign_id = %(campaign_id)s AND blocked_at >= %(since)s
 GROUP BY rule
 ORDER BY count(*) DESC, rule
"""


def campaign_row(conn, tenant_id: int, campaign_id: int) -> dict | None:
    """Return the campaign's id, name, created_at and compliance settings, or None if not the tenant's."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT id, tenant_id, name, created_at, dial_mode, max_attempts, compliance_purpose,"
            " compliance_packs, retry_delays_s FROM campaigns WHERE tenant_id = %s AND id = %s",
            (tenant_id, campaign_id),
        )
        return cur.fetchone()


def build_report(
    conn, tenant_id: int, campaign: dict, packs: PackSet, now: dt.datetime | None = None
) -> dict:
    """Build the report of one campaign (a ``campaign_row``) as plain JSON-ready data."""
    now = now or dt.datetime.now(dt.UTC)
    since = now - dt.timedelta(days=REPORT_DAYS)
    params = {"tenant_id": tenant_id, "campaign_id": campaign["id"], "since": since}
    status = abandonment_status(conn, tenant_id, campaign["id"], now)
    with conn.cursor() as cur:
        cur.execute(
            DAILY_WINDOWS_SQL,
            {
                **params,
                "window_days": WINDOW_DAYS,
                "created_at": campaign["created_at"],
                "first_day": since.date() + dt.timedelta(days=1),
                "last_day": now.date(),
            },
        )
        windows = [_window_row(row) for row in cur.fetchall()]
        cur.execute(RING_SQL, {**params, "min_ring_s": MIN_RING_S})
        ring = dict(cur.fetchone())
        cur.execute(SAFE_HARBOR_SQL, {**params, "limit": MAX_SAFE_HARBOR_ROWS})
        safe_harbor = [_iso_row(row) for row in cur.fetchall()]
        cur.execute(BLOCKS_SQL, params)
        blocks = [_iso_row(row) for row in cur.fetchall()]
    lists = [_iso_row(row) for row in latest_lists(conn, tenant_id)]
    ring["avg_ring_s"] = float(ring["avg_ring_s"]) if ring["avg_ring_s"] is not None else None
    return {
        "campaign": {
            "id": campaign["id"],
            "name": campaign["name"],
            "purpose": campaign["compliance_purpose"],
            "packs": list(campaign["compliance_packs"]),
            "dial_mode": campaign["dial_mode"],
        },
        "generated_at": now.isoformat(),
        "abandonment": {
            "live_answers": status.live_answers,
            "abandoned": status.abandoned,
            "rate_pct": status.rate_pct,
            "since": status.since.isoformat(),
            "until": status.until.isoformat(),
            "max_pct": MAX_ABANDONMENT_PCT,
            "must_go_progressive": status.must_go_progressive,
            "daily_30_day_windows": windows,
        },
        "ring_times": {**ring, "min_required_s": MIN_RING_S},
        "safe_harbor_plays": safe_harbor,
        "dnc_lists": lists,
        "dnc_warnings": stale_warnings(
            [(row["registry"], dt.date.fromisoformat(row["list_date"])) for row in lists], packs, now.date()
        ),
        "blocked_by_rule": blocks,
    }


def _window_row(row: dict) -> dict:
    live, abandoned = row["live_answers"], row["abandoned"]
    return {
        "window_end": row["day"].isoformat(),
        "live_answers": live,
        "abandoned": abandoned,
        "rate_pct": round(100.0 * abandoned / live, 2) if live else None,
    }


def _iso_row(row: dict) -> dict:
    return {
        key: value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value
        for key, value in row.items()
    }
