"""Views of the pacing blueprint (see the package docstring for the routes)."""

from __future__ import annotations

import datetime as dt
import logging

from flask import Blueprint, Response, g, jsonify, request
from flask_babel import gettext as _

from dialer_common.pacing_settings import FTC_ABANDONMENT_CEILING
from web.auth import audit
from web.auth.rbac import require_role
from web.db import get_conn
from web.errors import ApiError
from web.json_body import json_object
from web.live import ABANDONMENT_ALERT_PCT
from web.pacing import pages, trend
from web.pacing import settings as pacing_settings
from web.pacing.reasons import translate_reason

log = logging.getLogger(__name__)

bp = Blueprint("pacing", __name__)

DEFAULT_HISTORY_LIMIT = 100
MAX_HISTORY_LIMIT = 1000
DEFAULT_TREND_HOURS = 24
# A week of 15-minute buckets is 672 points, still readable as one chart.
MAX_TREND_HOURS = 168

LATEST_DECISION_SQL = """
SELECT created_at, mode, dial_level, multiplier, throttled, reason
  FROM pacing_log
 WHERE tenant_id = %s AND campaign_id = %s
 ORDER BY created_at DESC, id DESC
 LIMIT 1
"""


# Settings --------------------------------------------------------------------

@bp.get("/api/campaigns/<int:campaign_id>/pacing")
@require_role()
def get_pacing(campaign_id: int) -> Response:
    conn = get_conn()
    with conn.cursor() as cur:
        row = _load_campaign(cur, campaign_id)
        cur.execute(LATEST_DECISION_SQL, (g.tenant_id, campaign_id))
        latest = cur.fetchone()
    return jsonify(_pacing_json(row, latest))


@bp.put("/api/campaigns/<int:campaign_id>/pacing")
@require_role("admin", "supervisor")
def put_pacing(campaign_id: int) -> Response:
    body = json_object('{"min_dial_level": 1.5}')

    conn = get_conn()
    with conn.cursor() as cur:
        row = _load_campaign(cur, campaign_id, for_update=True)
        before = pacing_settings.settings_json(row)
        after = pacing_settings.merge_settings(before, body)
        assignments = ", ".join(f"{field} = %({field})s" for field in pacing_settings.FIELD_TO_SETTING)
        cur.execute(
            f"UPDATE campaigns SET {assignments}, updated_at = now()"
            f" WHERE id = %(campaign_id)s AND tenant_id = %(tenant_id)s"
            f" RETURNING id, name, {pacing_settings.PACING_COLUMNS}",
            {**after, "campaign_id": campaign_id, "tenant_id": g.tenant_id},
        )
        stored = cur.fetchone()
        audit.record(cur, "campaign.pacing", g.tenant_id, g.user_id, target=f"campaign:{campaign_id}",
                     details={"before": before, "after": pacing_settings.settings_json(stored)})
        cur.execute(LATEST_DECISION_SQL, (g.tenant_id, campaign_id))
        latest = cur.fetchone()
    conn.commit()

    changed = sorted(field for field in before if before[field] != after[field])
    log.info("campaign.pacing_changed tenant_id=%s campaign_id=%s fields=%s user_id=%s",
             g.tenant_id, campaign_id, ",".join(changed) or "-", g.user_id)
    return jsonify(_pacing_json(stored, latest))


def _load_campaign(cur, campaign_id: int, for_update: bool = False) -> dict:
    lock = " FOR UPDATE" if for_update else ""
    cur.execute(
        f"SELECT id, name, {pacing_settings.PACING_COLUMNS} FROM campaigns"
        f" WHERE id = %s AND tenant_id = %s{lock}",
        (campaign_id, g.tenant_id),
    )
    row = cur.fetchone()
    if row is None:
        raise ApiError("not_found", _("Campaign %(id)s not found.", id=campaign_id), status=404)
    return row


def _pacing_json(row: dict, latest: dict | None) -> dict:
    return {
        "campaign_id": row["id"],
        "name": row["name"],
        "settings": pacing_settings.settings_json(row),
        "latest_decision": _decision_json(latest) if latest else None,
    }


def _decision_json(row: dict) -> dict:
    data = {
        "created_at": row["created_at"].isoformat(),
        "mode": row["mode"],
        "dial_level": float(row["dial_level"]),
        "multiplier": float(row["multiplier"]),
        "throttled": row["throttled"],
        "reason": translate_reason(row["reason"]),
    }
    if "inputs" in row:
        data["inputs"] = row["inputs"]
    return data


# History and trend -------------------------------------------------------------

@bp.get("/api/campaigns/<int:campaign_id>/pacing/history")
@require_role()
def pacing_history(campaign_id: int) -> Response:
    since = _read_since(request.args.get("since", ""))
    limit = _read_int("limit", DEFAULT_HISTORY_LIMIT, 1, MAX_HISTORY_LIMIT)

    conn = get_conn()
    with conn.cursor() as cur:
        _load_campaign(cur, campaign_id)
        cur.execute(
            "SELECT created_at, mode, dial_level, multiplier, throttled, reason, inputs FROM pacing_log"
            " WHERE tenant_id = %s AND campaign_id = %s AND created_at >= %s"
            " ORDER BY created_at DESC, id DESC LIMIT %s",
            (g.tenant_id, campaign_id, since, limit),
        )
        rows = cur.fetchall()
    return jsonify({"campaign_id": campaign_id, "decisions": [_decision_json(row) for row in rows]})


@bp.get("/api/reports/abandonment/trend")
@require_role()
def abandonment_trend() -> Response:
    campaign_id = _read_int("campaign_id", None, 1, 2**63 - 1)
    hours = _read_int("hours", DEFAULT_TREND_HOURS, 1, MAX_TREND_HOURS)

    conn = get_conn()
    with conn.cursor() as cur:
        campaign = _load_campaign(cur, campaign_id)
    return jsonify({
        "campaign_id": campaign_id,
        "name": campaign["name"],
        "hours": hours,
        "ftc_ceiling_pct": FTC_ABANDONMENT_CEILING * 100,
        "alert_threshold_pct": ABANDONMENT_ALERT_PCT,
        "quarter_hours": trend.quarter_hour_series(conn, g.tenant_id, campaign_id, hours),
        "rolling_30d": trend.rolling_30_day_series(conn, g.tenant_id, campaign_id),
    })


def _read_since(text: str) -> dt.datetime:
    if not text:
        return dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    try:
        since = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ApiError(
            "invalid_since",
            _("Invalid since %(value)s: use an ISO 8601 time such as 2024-05-01T09:00:00+00:00.",
              value=repr(text)),
            field="since",
        ) from None
    return since if since.tzinfo else since.replace(tzinfo=dt.UTC)


def _read_int(name: str, default: int | None, low: int, high: int) -> int:
    text = request.args.get(name, "")
    if not text and default is not None:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise ApiError(
            f"invalid_{name}",
            _("Invalid %(name)s %(value)s: use a whole number from %(low)s to %(high)s.",
              name=name, value=repr(text), low=low, high=high),
            field=name,
        )
    return int(text)


# Pages -----------------------------------------------------------------------

@bp.get("/campaigns/<int:campaign_id>/pacing")
def autoprotect_page(campaign_id: int) -> Response:
    return pages.render("autoprotect.html", pages.autoprotect_strings, campaign_id)


@bp.get("/campaigns/<int:campaign_id>/abandonment")
def trend_page(campaign_id: int) -> Response:
    return pages.render("abandonment_trend.html", pages.trend_strings, campaign_id)
