"""Evidence of blocked dials (``compliance_blocks``) and the abandonment rate.

The FTC Telemarketing Sales Rule (16 CFR 310.4(b)(4)) keeps a campaign in
the safe harbor while at most 3 % of its live-answered calls are abandoned,
measured over each 30-day period, or over the campaign's life when it is
shorter. A call is abandoned when no agent is connected within 2 seconds of
the end of the greeting, and a call that played the Safe Harbor message is
still abandoned. Machine-answered calls count in neither figure.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from psycopg2.extras import execute_values

from dialer_common.compliance.gate import CampaignRules, LeadInfo, Verdict

log = logging.getLogger(__name__)

MAX_ABANDONMENT_PCT = 3.0
WINDOW_DAYS = 30

ABANDONMENT_SQL = """
SELECT count(*) FILTER (WHERE d.live) AS live_answers,
       count(*) FILTER (WHERE d.live AND (d.abandoned OR d.safe_harbor_played)) AS abandoned
  FROM cdr d
 WHERE d.tenant_id = %(tenant_id)s
   AND d.campaign_id = %(campaign_id)s
   AND d.leg = 'a'
   AND d.started_at > %(since)s
   AND d.started_at <= %(until)s
"""


class PgEvidence:
    """Store each blocked dial in ``compliance_blocks`` through one autocommit connection."""

    def __init__(self, conn) -> None:
        self._conn = conn
        self._conn.autocommit = True

    def record_many(
        self, blocked: list[tuple[LeadInfo, Verdict]], campaign: CampaignRules, now: dt.datetime
    ) -> None:
        rows = [
            (
                campaign.tenant_id,
                campaign.campaign_id,
                lead.lead_id,
                lead.phone_e164,
                verdict.rule,
                verdict.reason,
                verdict.pack_version,
                verdict.retry_at,
                now,
            )
            for lead, verdict in blocked
        ]
        with self._conn.cursor() as cur:
            execute_values(
                cur,
                "INSERT INTO compliance_blocks (tenant_id, campaign_id, lead_id, phone_e164, rule, reason,"
                " pack_version, retry_at, blocked_at) VALUES %s",
                rows,
            )


@dataclass(frozen=True)
class AbandonmentStatus:
    """A campaign's FTC abandonment figure over ``[since, until]``."""

    live_answers: int
    abandoned: int
    rate_pct: float | None
    since: dt.datetime
    until: dt.datetime
    must_go_progressive: bool


def abandonment_status(
    conn, tenant_id: int, campaign_id: int, now: dt.datetime | None = None
) -> AbandonmentStatus:
    """Compute the 30-day abandonment rate and whether predictive dialing must stop.

    The window is the last 30 days, or the campaign's life when shorter.
    ``must_go_progressive`` is true when one more abandoned call would put
    the rate above 3 %, so the orchestrator switches to progressive
    dialing (which abandons no call) before the limit is passed.
    """
    now = now or dt.datetime.now(dt.UTC)
    since = now - dt.timedelta(days=WINDOW_DAYS)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT created_at FROM campaigns WHERE tenant_id = %s AND id = %s", (tenant_id, campaign_id)
        )
        row = cur.fetchone()
        if row is not None and row["created_at"] > since:
            since = row["created_at"] - dt.timedelta(microseconds=1)
        cur.execute(
            ABANDONMENT_SQL,
            {"tenant_id": tenant_id, "campaign_id": campaign_id, "since": since, "until": now},
        )
        counts = cur.fetchone()
    live, abandoned = counts["live_answers"], counts["abandoned"]
    rate = round(100.0 * abandoned / live, 2) if live else None
    next_rate = 100.0 * (abandoned + 1) / (live + 1)
    return AbandonmentStatus(live, abandoned, rate, since, now, next_rate > MAX_ABANDONMENT_PCT)
