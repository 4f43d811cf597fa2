"""Views of the JSON API. Every query filters on the token's tenant id."""

from __future__ import annotations

import logging

import psycopg2
import redis
from flask import Blueprint, Response, g, jsonify, request
from flask_babel import gettext as _

from dialer_common.errors import ValidationError
from web import reports
from web.auth import audit
from web.auth.rbac import require_role
from web.db import DatabaseUnavailable, get_conn, get_redis
from web.errors import ApiError
from web.json_body import json_object

log = logging.getLogger(__name__)

bp = Blueprint("api", __name__)

CAMPAIGN_COLUMNS = (
    "id, name, status, dial_mode, trunk_id, queue_name, caller_id_name, ring_timeout_s,"
    " machine_action, abandon_target_pct, max_attempts, created_at, updated_at"
)
# Statuses a supervisor can set from the API; the others belong to the
# campaign editor (draft) or the orchestrator (finished).
SETTABLE_STATUSES = ("running", "paused")


@bp.get("/health")
def health() -> tuple[Response, int]:
    checks = {"database": _check_database(), "redis": _check_redis()}
    healthy = all(value == "ok" for value in checks.values())
    body = {"status": "ok" if healthy else "degraded", "checks": checks}
    return jsonify(body), 200 if healthy else 503


def _check_database() -> str:
    try:
        conn = get_conn()
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
        conn.rollback()
    except (DatabaseUnavailable, psycopg2.Error) as exc:
        log.warning("health.database_failed error=%s", str(exc).strip().splitlines()[0])
        return "unavailable"
    return "ok"


def _check_redis() -> str:
    try:
        get_redis().ping()
    except redis.RedisError as exc:
        log.warning("health.redis_failed error=%s", exc)
        return "unavailable"
    return "ok"


@bp.get("/api/me")
@require_role()
def me() -> Response:
    conn = get_conn()
    with conn.cursor() as cur:
        cur.execute(
            "SELECT u.id, u.tenant_id, u.email, u.full_name, u.role, u.locale,"
            " t.slug AS tenant_slug, t.name AS tenant_name"
            " FROM users u JOIN tenants t ON t.id = u.tenant_id"
            " WHERE u.id = %s AND u.tenant_id = %s",
            (g.user_id, g.tenant_id),
        )
        user = cur.fetchone()
    if user is None:
        raise ApiError("not_found", _("This user no longer exists: log in again."), status=404)
    return jsonify(user)


@bp.get("/api/campaigns")
@require_role()
def list_campaigns() -> Response:
    conn = get_conn()
    with conn.cursor() as cur:
        cur.execute(
            f"SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE tenant_id = %s ORDER BY id",
            (g.tenant_id,),
        )
        rows = cur.fetchall()
    return jsonify({"campaigns": [_campaign_json(row) for row in rows]})


@bp.get("/api/campaigns/<int:campaign_id>")
@require_role()
def get_campaign(campaign_id: int) -> Response:
    conn = get_conn()
    with conn.cursor() as cur:
        return jsonify(_campaign_json(_load_campaign(cur, campaign_id)))


@bp.patch("/api/campaigns/<int:campaign_id>")
@require_role("admin", "supervisor")
def update_campaign(campaign_id: int) -> Response:
    status = _read_status()

    conn = get_conn()
    with conn.cursor() as cur:
        before = _load_campaign(cur, campaign_id, for_update=True)
        cur.execute(
            f"UPDATE campaigns SET status = %s, updated_at = now()"
            f" WHERE id = %s AND tenant_id = %s RETURNING {CAMPAIGN_COLUMNS}",
            (status, campaign_id, g.tenant_id),
        )
        after = cur.fetchone()
        audit.record(cur, "campaign.status", g.tenant_id, g.user_id, target=f"campaign:{campaign_id}",
                     details={"from": before["status"], "to": status})
    conn.commit()

    log.info("campaign.status_changed tenant_id=%s campaign_id=%s from=%s to=%s user_id=%s",
             g.tenant_id, campaign_id, before["status"], status, g.user_id)
    return jsonify(_campaign_json(after))


def _read_status() -> str:
    body = json_object('{"status": "paused"}')
    unknown = sorted(set(body) - {"status"})
    if unknown:
        raise ApiError("unknown_field", _("The field %(name)s cannot be changed here: only status can.",
                                          name=unknown[0]), field=unknown[0])
    status = body.get("status")
    if status not in SETTABLE_STATUSES:
        raise ApiError(
            "invalid_status",
            _("Invalid status %(value)s: use one of %(allowed)s.",
              value=repr(status), allowed=", ".join(SETTABLE_STATUSES)),
            field="status",
        )
    return status


def _load_campaign(cur, campaign_id: int, for_update: bool = False) -> dict:
    lock = " FOR UPDATE" if for_update else ""
    cur.execute(
        f"SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE id = %s AND tenant_id = %s{lock}",
        (campaign_id, g.tenant_id),
    )
    row = cur.fetchone()
    if row is None:
        raise ApiError("not_found", _("Campaign %(id)s not found.", id=campaign_id), status=404)
    return row


def _campaign_json(row: dict) -> dict:
    data = dict(row)
    data["abandon_target_pct"] = float(data["abandon_target_pct"])
    return data


@bp.get("/api/reports/abandonment")
@require_role()
def abandonment_report() -> Response:
    text = request.args.get("window", "15m")
    try:
        window_s = reports.parse_window(text)
    except ValidationError:
        raise ApiError(
            "invalid_window",
            _("Invalid window %(value)s: use a whole number followed by s, m, h or d"
              " (for example 15m, 1h, 24h, 30d), at most 366d.", value=repr(text)),
            field="window",
        ) from None
    rows = reports.abandonment(get_conn(), g.tenant_id, window_s)
    return jsonify({"window": reports.format_window(window_s), "campaigns": rows})
