"""Pacing API: settings ranges and messages, RBAC, tenants, audit, history and trend."""

from __future__ import annotations

import datetime as dt
import uuid

import psycopg2.extras
import pytest
from argon2 import PasswordHasher

from dialer_common import db
from tests.web.conftest import client_from, login

PASSWORD = "Secreto-123"


def add_user(conn, tenant: dict, role: str, locale: str = "es") -> str:
    """Create a user of ``role`` in the tenant; return its email."""
    email = f"{role}-{uuid.uuid4().hex[:6]}@{tenant['slug']}.example"
    with db.transaction(conn) as cur:
        cur.execute(
            "INSERT INTO users (tenant_id, email, password_hash, full_name, role, locale)"
            " VALUES (%s, %s, %s, 'Usuario Prueba', %s, %s)",
            (tenant["id"], email, PasswordHasher().hash(PASSWORD), role, locale),
        )
    return email


def headers_for(app, email: str) -> dict:
    response = login(client_from(app), email, PASSWORD)
    assert response.status_code == 200, response.json
    return {"Authorization": f"Bearer {response.json['access_token']}"}


def add_decision(conn, tenant: dict, minutes_ago: float, **values) -> None:
    row = {"mode": "predictive", "dial_level": 1.8, "multiplier": 1.0, "throttled": False,
           "reason": "on target", "inputs": {"agents_logged_in": 5}, **values}
    with db.transaction(conn) as cur:
        cur.execute(
            "INSERT INTO pacing_log (tenant_id, campaign_id, created_at, mode, dial_level, multiplier,"
            " throttled, reason, inputs)"
            " VALUES (%s, %s, now() - make_interval(secs => %s), %s, %s, %s, %s, %s, %s)",
            (tenant["id"], tenant["campaign_id"], minutes_ago * 60, row["mode"], row["dial_level"],
             row["multiplier"], row["throttled"], row["reason"], psycopg2.extras.Json(row["inputs"])),
        )


def add_a_legs(conn, tenant: dict, started_at: dt.datetime, live: int, abandoned: int, machine: int = 0,
               campaign_id: int | None = None) -> None:
    """Insert A-leg CDRs: ``live`` live answers (``abandoned`` of them abandoned) and machine answers."""
    campaign_id = campaign_id or tenant["campaign_id"]
    with db.transaction(conn) as cur:
        for index in range(live + machine):
            is_live = index < live
            cur.execute(
                "INSERT INTO cdr (tenant_id, call_uuid, leg, started_at, campaign_id, answered, live,"
                " abandoned, raw) VALUES (%s, %s, 'a', %s, %s, true, %s, %s, '{}')",
                (tenant["id"], str(uuid.uuid4()), started_at, campaign_id, is_live,
                 is_live and index < abandoned),
            )
        # A B leg of an abandoned call must not count: the rate is on A legs.
        cur.execute(
            "INSERT INTO cdr (tenant_id, call_uuid, leg, started_at, campaign_id, answered, live,"
            " abandoned, raw) VALUES (%s, %s, 'b', %s, %s, true, true, true, '{}')",
            (tenant["id"], str(uuid.uuid4()), started_at, campaign_id),
        )


TREND_URL = "/api/reports/abandonment/trend"


def pacing_url(tenant: dict) -> str:
    return f"/api/campaigns/{tenant['campaign_id']}/pacing"


# Settings ----------------------------------------------------------------------

def test_get_pacing_defaults_without_decision(client, auth_headers, tenant):
    response = client.get(pacing_url(tenant), headers=auth_headers)

    assert response.status_code == 200
    assert response.json["latest_decision"] is None
    assert response.json["settings"] == {
        "dial_mode": "progressive", "abandon_target_pct": 2.5, "ring_timeout_s": 25,
        "max_lines_per_agent": 5.0, "min_dial_level": 1.0, "max_dial_level": 5.0, "short_window_s": 900,
    }


def test_get_pacing_latest_decision(client, auth_headers, conn, tenant):
    add_decision(conn, tenant, 10, dial_level=2.4, multiplier=1.0)
    add_decision(conn, tenant, 1, mode="progressive", dial_level=1.0, multiplier=0.5, throttled=True,
                 reason="15-minute abandonment 2.8% near the 3% ceiling")

    decision = client.get(pacing_url(tenant), headers=auth_headers).json["latest_decision"]

    assert decision["mode"] == "progressive"
    assert decision["dial_level"] == 1.0
    assert decision["multiplier"] == 0.5
    assert decision["throttled"] is True
    assert decision["reason"] == "15-minute abandonment 2.8% near the 3% ceiling"
    assert dt.datetime.fromisoformat(decision["created_at"]).tzinfo is not None


OUT_OF_RANGE_CASES = [
    ({"min_dial_level": 0.5}, "min_dial_level",
         "Valor no válido para nivel mínimo de marcación (min_dial_level): 0,5. Use un número de 1 a 10.",
         "Invalid minimum dial level (min_dial_level) 0.5: use a number from 1 to 10."),
        ({"abandon_target_pct": 3.5}, "abandon_target_pct",
         "Valor no válido para objetivo de abandono (abandon_target_pct): 3,5. Use un porcentaje de 0,1 a 3"
         " (el techo de la FTC es 3 %).",
         "Invalid abandonment target (abandon_target_pct) 3.5: use a percentage from 0.1 to 3"
         " (the FTC ceiling is 3 %)."),
        ({"ring_timeout_s": 10}, "ring_timeout_s",
         "Valor no válido para tiempo máximo de timbrado (ring_timeout_s): 10. Use de 15 a 120 segundos"
         " (la FTC exige al menos 15 s de timbrado).",
         "Invalid ring timeout (ring_timeout_s) 10: use seconds from 15 to 120"
         " (the FTC requires at least 15 s of ringing)."),
        ({"min_dial_level": 4, "max_dial_level": 3}, "min_dial_level",
         "Valor no válido para nivel mínimo de marcación (min_dial_level): 4. Use un número de 1 al"
         " nivel máximo de marcación (3).",
         "Invalid minimum dial level (min_dial_level) 4: use a number from 1 to the maximum dial level (3)."),
        ({"dial_mode": "turbo"}, "dial_mode",
         "Valor no válido para modo de marcación (dial_mode): 'turbo'. Use uno de preview, progressive,"
         " predictive.",
         "Invalid dial mode (dial_mode) 'turbo': use one of preview, progressive, predictive."),
]


@pytest.mark.parametrize("locale", ["es", "en"])
def test_put_out_of_range_messages(app, conn, tenant, locale):
    headers = headers_for(app, add_user(conn, tenant, "supervisor", locale))
    client = client_from(app)

    for body, field, spanish, english in OUT_OF_RANGE_CASES:
        response = client.put(pacing_url(tenant), json=body, headers=headers)

        assert response.status_code == 400, body
        assert response.json["error"]["code"] == "invalid_setting", body
        assert response.json["error"]["field"] == field, body
        assert response.json["error"]["message"] == (spanish if locale == "es" else english)


def test_put_malformed_values_rejected(client, auth_headers, tenant):
    cases = [
        ({"ring_timeout_s": 20.5}, "ring_timeout_s"),
        ({"min_dial_level": 1.234}, "min_dial_level"),
        ({"max_dial_level": "5"}, "max_dial_level"),
        ({"short_window_s": True}, "short_window_s"),
        ({"abandon_target_pct": None}, "abandon_target_pct"),
        ({"queue_name": "x"}, "queue_name"),
    ]
    for body, field in cases:
        response = client.put(pacing_url(tenant), json=body, headers=auth_headers)

        assert response.status_code == 400, body
        assert response.json["error"]["field"] == field, body


def test_put_non_object_body_rejected(client, auth_headers, tenant):
    response = client.put(pacing_url(tenant), json=[1, 2], headers=auth_headers)

    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_body"


def test_put_rejection_keeps_stored_settings(client, auth_headers, tenant):
    before = client.get(pacing_url(tenant), headers=auth_headers).json["settings"]

    response = client.put(pacing_url(tenant), json={"min_dial_level": 2, "ring_timeout_s": 5},
                          headers=auth_headers)

    assert response.status_code == 400
    assert client.get(pacing_url(tenant), headers=auth_headers).json["settings"] == before


def test_put_valid_change_stored_and_audited(client, auth_headers, conn, tenant):
    body = {"dial_mode": "predictive", "abandon_target_pct": 2, "min_dial_level": 1.5, "ring_timeout_s": 30}

    response = client.put(pacing_url(tenant), json=body, headers=auth_headers)

    assert response.status_code == 200, response.json
    with conn.cursor() as cur:
        cur.execute("SELECT dial_mode, abandon_target_pct, min_dial_level, ring_timeout_s, max_dial_level"
                    " FROM campaigns WHERE id = %s", (tenant["campaign_id"],))
        stored = cur.fetchone()
        cur.execute("SELECT user_id, target, details FROM audit_log WHERE tenant_id = %s"
                    " AND action = 'campaign.pacing'", (tenant["id"],))
        audits = cur.fetchall()
    assert stored["dial_mode"] == "predictive"
    assert float(stored["abandon_target_pct"]) == 2.0
    assert float(stored["min_dial_level"]) == 1.5
    assert stored["ring_timeout_s"] == 30
    assert float(stored["max_dial_level"]) == 5.0
    assert response.json["settings"]["min_dial_level"] == 1.5
    assert len(audits) == 1
    assert audits[0]["user_id"] == tenant["user_id"]
    assert audits[0]["target"] == f"campaign:{tenant['campaign_id']}"
    assert audits[0]["details"]["before"]["dial_mode"] == "progressive"
    assert audits[0]["details"]["before"]["ring_timeout_s"] == 25
    assert audits[0]["details"]["after"]["dial_mode"] == "predictive"
    assert audits[0]["details"]["after"]["ring_timeout_s"] == 30


def test_put_boundary_values_accepted(client, auth_headers, tenant):
    body = {"abandon_target_pct": 3, "ring_timeout_s": 15, "min_dial_level": 10, "max_dial_level": 10,
            "max_lines_per_agent": 1, "short_window_s": 3600}

    response = client.put(pacing_url(tenant), json=body, headers=auth_headers)

    assert response.status_code == 200, response.json
    assert response.json["settings"]["abandon_target_pct"] == 3.0
    assert response.json["settings"]["ring_timeout_s"] == 15


# RBAC and tenants ----------------------------------------------------------------

def test_viewer_cannot_change_settings(app, conn, tenant):
    headers = headers_for(app, add_user(conn, tenant, "viewer"))
    client = client_from(app)

    rejected = client.put(pacing_url(tenant), json={"min_dial_level": 2}, headers=headers)
    readable = client.get(pacing_url(tenant), headers=headers)

    assert rejected.status_code == 403
    assert readable.status_code == 200
    assert readable.json["settings"]["min_dial_level"] == 1.0


def test_agent_cannot_change_settings(app, conn, tenant):
    headers = headers_for(app, add_user(conn, tenant, "agent"))

    response = client_from(app).put(pacing_url(tenant), json={"min_dial_level": 2}, headers=headers)

    assert response.status_code == 403


def test_supervisor_can_change_settings(app, conn, tenant):
    headers = headers_for(app, add_user(conn, tenant, "supervisor"))

    response = client_from(app).put(pacing_url(tenant), json={"max_dial_level": 3}, headers=headers)

    assert response.status_code == 200
    assert response.json["settings"]["max_dial_level"] == 3.0


def test_anonymous_request_rejected(client, tenant):
    assert client.get(pacing_url(tenant)).status_code == 401


def test_other_tenant_campaign_not_found(app, conn, tenant, auth_headers):
    other = _other_tenant(conn, tenant)
    add_decision(conn, other, 1, reason="other tenant")
    add_a_legs(conn, other, dt.datetime.now(dt.UTC), live=4, abandoned=1)
    client = client_from(app)
    url = f"/api/campaigns/{other['campaign_id']}/pacing"

    read = client.get(url, headers=auth_headers)
    changed = client.put(url, json={"min_dial_level": 2}, headers=auth_headers)
    history = client.get(f"{url}/history", headers=auth_headers)
    trend = client.get(TREND_URL, query_string={"campaign_id": other["campaign_id"]}, headers=auth_headers)

    assert read.status_code == 404
    assert changed.status_code == 404
    assert history.status_code == 404
    assert trend.status_code == 404
    with conn.cursor() as cur:
        cur.execute("SELECT min_dial_level FROM campaigns WHERE id = %s", (other["campaign_id"],))
        assert float(cur.fetchone()["min_dial_level"]) == 1.0


def _other_tenant(conn, tenant: dict) -> dict:
    slug = f"o-{uuid.uuid4().hex[:10]}"
    with db.transaction(conn) as cur:
        cur.execute("INSERT INTO tenants (slug, name) VALUES (%s, 'Otro') RETURNING id", (slug,))
        tenant_id = cur.fetchone()["id"]
        cur.execute("INSERT INTO campaigns (tenant_id, name, queue_name) VALUES (%s, 'Ajena', 'q@default')"
                    " RETURNING id", (tenant_id,))
        campaign_id = cur.fetchone()["id"]
    return {"id": tenant_id, "slug": slug, "campaign_id": campaign_id}


# History ---------------------------------------------------------------------------

def test_history_newest_first_with_inputs(client, auth_headers, conn, tenant):
    add_decision(conn, tenant, 30, dial_level=1.2, inputs={"agents_logged_in": 3})
    add_decision(conn, tenant, 20, dial_level=2.2, inputs={"agents_logged_in": 4})
    add_decision(conn, tenant, 10, dial_level=3.2, inputs={"agents_logged_in": 5})

    response = client.get(f"{pacing_url(tenant)}/history", headers=auth_headers)

    decisions = response.json["decisions"]
    assert [decision["dial_level"] for decision in decisions] == [3.2, 2.2, 1.2]
    assert decisions[0]["inputs"] == {"agents_logged_in": 5}


def test_history_since_and_limit(client, auth_headers, conn, tenant):
    for minutes_ago, level in ((60, 1.1), (30, 1.2), (20, 1.3), (10, 1.4)):
        add_decision(conn, tenant, minutes_ago, dial_level=level)
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=45)).isoformat()

    response = client.get(f"{pacing_url(tenant)}/history", query_string={"since": since, "limit": 2},
                          headers=auth_headers)

    assert [decision["dial_level"] for decision in response.json["decisions"]] == [1.4, 1.3]


def test_history_bad_query_rejected(client, auth_headers, tenant):
    cases = [({"since": "yesterday"}, "since"), ({"limit": "0"}, "limit"), ({"limit": "5000"}, "limit"),
             ({"limit": "-1"}, "limit")]
    for query, field in cases:
        response = client.get(f"{pacing_url(tenant)}/history", query_string=query, headers=auth_headers)

        assert response.status_code == 400, query
        assert response.json["error"]["field"] == field, query


# Abandonment trend ----------------------------------------------------------------

def _bucket_start(moment: dt.datetime) -> dt.datetime:
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


def test_trend_quarter_hour_values(client, auth_headers, conn, tenant):
    now = dt.datetime.now(dt.UTC)
    current = _bucket_start(now)
    two_back = current - dt.timedelta(minutes=30)
    add_a_legs(conn, tenant, current, live=10, abandoned=1, machine=3)
    add_a_legs(conn, tenant, two_back + dt.timedelta(minutes=7), live=4, abandoned=2)

    query = {"campaign_id": tenant["campaign_id"], "hours": 2}
    response = client.get(TREND_URL, query_string=query, headers=auth_headers)

    assert response.status_code == 200, response.json
    points = response.json["quarter_hours"]
    assert len(points) == 8
    by_start = {dt.datetime.fromisoformat(point["start"]): point for point in points}
    assert dt.datetime.fromisoformat(points[-1]["start"]) == current
    assert by_start[current]["live_answers"] == 10
    assert by_start[current]["abandoned"] == 1
    assert by_start[current]["rate_pct"] == 10.0
    assert by_start[two_back]["rate_pct"] == 50.0
    assert by_start[current - dt.timedelta(minutes=15)]["rate_pct"] is None
    assert response.json["ftc_ceiling_pct"] == 3.0


def test_trend_rolling_30_day_values(client, auth_headers, conn, tenant):
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    add_a_legs(conn, tenant, today + dt.timedelta(minutes=1), live=6, abandoned=0)
    add_a_legs(conn, tenant, today - dt.timedelta(days=10), live=4, abandoned=2)
    # 40 days ago: inside the window of the first points, outside today's.
    add_a_legs(conn, tenant, today - dt.timedelta(days=40), live=10, abandoned=10)

    query = {"campaign_id": tenant["campaign_id"]}
    response = client.get(TREND_URL, query_string=query, headers=auth_headers)

    points = response.json["rolling_30d"]
    assert len(points) == 30
    assert points[-1]["day"] == today.date().isoformat()
    assert points[-1]["live_answers"] == 10
    assert points[-1]["abandoned"] == 2
    assert points[-1]["rate_pct"] == 20.0
    # The window of the day before the 10-day-old calls still includes the 40-day-old ones.
    eleven_back = next(p for p in points if p["day"] == (today - dt.timedelta(days=11)).date().isoformat())
    assert eleven_back["live_answers"] == 10
    assert eleven_back["rate_pct"] == 100.0
    assert points[0]["day"] == (today - dt.timedelta(days=29)).date().isoformat()


def test_trend_without_live_answers_is_null(client, auth_headers, tenant):
    query = {"campaign_id": tenant["campaign_id"], "hours": 1}
    response = client.get(TREND_URL, query_string=query, headers=auth_headers)

    assert len(response.json["quarter_hours"]) == 4
    assert all(point["rate_pct"] is None for point in response.json["quarter_hours"])
    assert all(point["rate_pct"] is None for point in response.json["rolling_30d"])


def test_trend_bad_query_rejected(client, auth_headers, tenant):
    campaign_id = str(tenant["campaign_id"])
    cases = [({}, "campaign_id"), ({"campaign_id": "abc"}, "campaign_id"),
             ({"campaign_id": campaign_id, "hours": "0"}, "hours"),
             ({"campaign_id": campaign_id, "hours": "169"}, "hours")]
    for query, field in cases:
        response = client.get(TREND_URL, query_string=query, headers=auth_headers)

        assert response.status_code == 400, query
        assert response.json["error"]["field"] == field, query
