"""Abandonment reports from the cdr table.

The FTC abandonment rate of a campaign is abandoned live answers divided by
live answers, counted on A legs (``leg = 'a'``, ``live = true``) whose call
started inside the window. A campaign younger than the window (30 days for
the regulatory figure) is measured over its whole life, which the same query
gives because no older CDR exists.
"""

from __future__ import annotations

import re

from dialer_common.errors import ValidationError

WINDOW_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
WINDOW_PATTERN = re.compile(r"^([1-9][0-9]{0,5})([smhd])$")
MAX_WINDOW_S = 366 * 86400

ABANDONMENT_SQL = """
SELECT c.id AS campaign_id,
       c.name,
       count(d.id) FILTER (WHERE d.live) AS live_answers,
       count(d.id) FILTER (WHERE d.live AND d.abandoned) AS abandoned
  FROM campaigns c
  LEFT JOIN cdr d
    ON d.tenant_id = c.tenant_id
   AND d.campaign_id = c.id
   AND d.leg = 'a'
   AND d.started_at >= now() - make_interval(secs => %(window_s)s)
 WHERE c.tenant_id = %(tenant_id)s
 GROUP BY c.id, c.name
 ORDER BY c.id
"""


def parse_window(text: str) -> int:
    """Parse a window such as ``15m``, ``1h``, ``24h`` or ``30d`` into seconds."""
    match = WINDOW_PATTERN.match(text.strip())
    if not match:
        raise ValidationError(
            f"invalid window {text!r}: expected a number and a unit s, m, h or d, e.g. 15m, 1h, 24h, 30d"
        )
    seconds = int(match.group(1)) * WINDOW_UNITS[match.group(2)]
    if seconds > MAX_WINDOW_S:
        raise ValidationError(f"invalid window {text!r}: the longest window is 366d")
    return seconds


def format_window(seconds: int) -> str:
    """Format seconds as the largest whole unit: 900 -> '15m', 86400 -> '1d'."""
    for unit in ("d", "h", "m"):
        size = WINDOW_UNITS[unit]
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def rate_pct(abandoned: int, live_answers: int) -> float | None:
    """Abandonment rate in percent, rounded to 2 decimals; None without live answers."""
    if live_answers == 0:
        return None
    return round(100.0 * abandoned / live_answers, 2)


def abandonment(conn, tenant_id: int, window_s: int) -> list[dict]:
    """Compute the abandonment rate of every campaign of ``tenant_id`` over ``window_s`` seconds.

    Each row has campaign_id, name, live_answers, abandoned, rate_pct (None
    when there was no live answer) and window (e.g. '15m').
    """
    with conn.cursor() as cur:
        cur.execute(ABANDONMENT_SQL, {"tenant_id": tenant_id, "window_s": window_s})
        rows = cur.fetchall()
    window = format_window(window_s)
    return [
        {
            "campaign_id": row["campaign_id"],
            "name": row["name"],
            "live_answers": row["live_answers"],
            "abandoned": row["abandoned"],
            "rate_pct": rate_pct(row["abandoned"], row["live_answers"]),
            "window": window,
        }
        for row in rows
    ]
