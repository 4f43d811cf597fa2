"""Health, campaigns, roles, tenant isolation, the abandonment report and metrics."""

from __future__ import annotations

import dataclasses
import json
import time
import uuid

import pytest
from argon2 import PasswordHasher
from prometheus_client.parser import text_string_to_metric_families

from dialer_common import db
from dialer_common.cdr.store import insert_cdr, parse_cdr
from tests.conftest import free_port
from tests.web.cdr_samples import FIXTURES, fresh_cdr
from tests.web.conftest import client_from, login
from web import create_app, reports

TEMPLATE = json.loads((FIXTURES / "cdr_json" / "raw" / "originate_answer_hangup.json").read_text())


def _add_user(conn, tenant: dict, role: str) -> str:
    email = f"{role}-{uuid.uuid4().hex[:6]}@{tenant['slug']}.example"
    with db.transaction(conn) as cur:
        cur.execute(
            "INSERT INTO users (tenant_id, email, password_hash, role, locale) VALUES (%s, %s, %s, %s, 'en')",
            (tenant["id"], email, PasswordHasher().hash("Clave-456"), role),
        )
    return email


def _bearer(client, email: str, password: str) -> dict:
    response = login(client, email, password)
    assert response.status_code == 200, response.json
    return {"Authorization": f"Bearer {response.json['access_token']}"}


def _store(conn, tenant_id: int, campaign_id: int, minutes_ago: float, leg_b: bool = False, **variables):
    start_us = int((time.time() - minutes_ago * 60) * 1_000_000)
    document = fresh_cdr(TEMPLATE, tenant_id, start_us, dialer_campaign_id=str(campaign_id), **variables)
    if leg_b:
        document["callflow"][0]["caller_profile"]["originator"] = {"originator_caller_profiles": []}
    insert_cdr(conn, parse_cdr(json.dumps(document).encode(), "application/json"))


def test_health_ok(client):
    response = client.get("/health")

    assert response.status_code == 200
    assert response.json == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_health_degraded_without_database(config):
    app = create_app(dataclasses.replace(config, database_url=f"postgresql://x:y@127.0.0.1:{free_port()}/z"))
    response = app.test_client().get("/health")

    assert response.status_code == 503
    assert response.json["status"] == "degraded"
    assert response.json["checks"]["database"] == "unavailable"
    assert response.json["checks"]["redis"] == "ok"


def test_not_found_json_under_api_html_elsewhere(client):
    api = client.get("/api/nothing-here")
    page = client.get("/nothing-here", headers={"Accept": "text/html"})

    assert api.status_code == 404
    assert api.json["error"]["code"] == "not_found"
    assert page.status_code == 404
    assert page.mimetype == "text/html"


def test_method_not_allowed_json(client):
    response = client.delete("/api/campaigns")

    assert response.status_code == 405
    assert response.json["error"]["code"] == "method_not_allowed"


def test_campaigns_list_and_get(client, auth_headers, tenant):
    listing = client.get("/api/campaigns", headers=auth_headers)
    single = client.get(f"/api/campaigns/{tenant['campaign_id']}", headers=auth_headers)

    assert listing.status_code == 200
    assert [c["name"] for c in listing.json["campaigns"]] == ["Cobranza Diciembre"]
    assert single.json["caller_id_name"] == "Peña Cobranzas"


def test_campaign_patch_status_audited(client, auth_headers, tenant, conn):
    response = client.patch(f"/api/campaigns/{tenant['campaign_id']}", json={"status": "running"},
                            headers=auth_headers)

    assert response.status_code == 200
    assert response.json["status"] == "running"
    with conn.cursor() as cur:
        cur.execute("SELECT action, details FROM audit_log WHERE tenant_id = %s AND action = 'campaign.status'",
                    (tenant["id"],))
        row = cur.fetchone()
    assert row["details"] == {"from": "draft", "to": "running"}


@pytest.mark.parametrize("body", [{"status": "finished"}, {"status": 3}, {}, {"status": "paused", "name": "x"}])
def test_campaign_patch_invalid_rejected(client, auth_headers, tenant, body):
    response = client.patch(f"/api/campaigns/{tenant['campaign_id']}?lang=en", json=body, headers=auth_headers)

    assert response.status_code == 400
    assert response.json["error"]["field"] in ("status", "name")


def test_campaign_patch_message_names_value(client, auth_headers, tenant):
    # ?lang=en (the page's language) wins over the admin's locale claim (es).
    response = client.patch(f"/api/campaigns/{tenant['campaign_id']}?lang=en", json={"status": "finished"},
                            headers=auth_headers)

    assert response.json["error"]["message"] == "Invalid status 'finished': use one of running, paused."


@pytest.mark.parametrize("role", ["agent", "viewer"])
def test_campaign_patch_forbidden_for_role(client, conn, tenant, role):
    headers = _bearer(client, _add_user(conn, tenant, role), "Clave-456")

    response = client.patch(f"/api/campaigns/{tenant['campaign_id']}", json={"status": "paused"},
                            headers=headers)

    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden"
    assert role in response.json["error"]["message"]


def test_supervisor_can_pause(client, conn, tenant):
    headers = _bearer(client, _add_user(conn, tenant, "supervisor"), "Clave-456")

    response = client.patch(f"/api/campaigns/{tenant['campaign_id']}", json={"status": "paused"},
                            headers=headers)

    assert response.status_code == 200


def test_user_locale_claim_sets_language(client, conn, tenant):
    headers = _bearer(client, _add_user(conn, tenant, "viewer"), "Clave-456")

    response = client.get("/api/campaigns/999999999", headers=headers)

    assert response.json["error"]["message"] == "Campaign 999999999 not found."


def test_tenant_isolation(app, conn, tenant):
    with db.transaction(conn) as cur:
        cur.execute("INSERT INTO tenants (slug, name) VALUES (%s, 'B') RETURNING id", (f"b-{uuid.uuid4().hex[:8]}",))
        other_id = cur.fetchone()["id"]
        cur.execute("INSERT INTO campaigns (tenant_id, name, queue_name) VALUES (%s, 'Ventas B', 'q@b')"
                    " RETURNING id", (other_id,))
        other_campaign = cur.fetchone()["id"]
    _store(conn, other_id, other_campaign, 1, dialer_live="true", dialer_abandoned="true")
    client = client_from(app)
    headers = _bearer(client, tenant["email"], tenant["password"])

    listing = client.get("/api/campaigns", headers=headers)
    single = client.get(f"/api/campaigns/{other_campaign}", headers=headers)
    patch = client.patch(f"/api/campaigns/{other_campaign}", json={"status": "running"}, headers=headers)
    report = client.get("/api/reports/abandonment?window=1h", headers=headers)

    assert [c["id"] for c in listing.json["campaigns"]] == [tenant["campaign_id"]]
    assert single.status_code == 404
    assert patch.status_code == 404
    assert [row["campaign_id"] for row in report.json["campaigns"]] == [tenant["campaign_id"]]
    assert report.json["campaigns"][0]["live_answers"] == 0
    with conn.cursor() as cur:
        cur.execute("SELECT status FROM campaigns WHERE id = %s", (other_campaign,))
        assert cur.fetchone()["status"] == "draft"


def test_abandonment_matches_inserted_cdrs(client, auth_headers, conn, tenant):
    campaign = tenant["campaign_id"]
    for abandoned in ("true", "false", "false", "false"):
        _store(conn, tenant["id"], campaign, 2, dialer_live="true", dialer_abandoned=abandoned)
    _store(conn, tenant["id"], campaign, 2, dialer_live="false", dialer_amd_result="machine")
    _store(conn, tenant["id"], campaign, 2, leg_b=True, dialer_live="true", dialer_abandoned="true")
    _store(conn, tenant["id"], campaign, 120, dialer_live="true", dialer_abandoned="true")

    short = client.get("/api/reports/abandonment?window=15m", headers=auth_headers).json
    day = client.get("/api/reports/abandonment?window=24h", headers=auth_headers).json

    assert short["window"] == "15m"
    assert short["campaigns"][0] == {"campaign_id": campaign, "name": "Cobranza Diciembre", "live_answers": 4,
                                     "abandoned": 1, "rate_pct": 25.0, "window": "15m"}
    assert day["window"] == "1d"
    assert day["campaigns"][0]["live_answers"] == 5
    assert day["campaigns"][0]["abandoned"] == 2
    assert day["campaigns"][0]["rate_pct"] == 40.0


def test_abandonment_without_live_answers_is_none(conn, tenant):
    rows = reports.abandonment(conn, tenant["id"], 900)

    assert rows[0]["rate_pct"] is None
    assert rows[0]["live_answers"] == 0


@pytest.mark.parametrize("window", ["15", "1w", "0m", "-5m", "400d", ""])
def test_abandonment_bad_window_400(client, auth_headers, window):
    response = client.get(f"/api/reports/abandonment?window={window}", headers=auth_headers)

    assert response.status_code == 400
    assert response.json["error"]["field"] == "window"
    assert repr(window) in response.json["error"]["message"]
    assert "15m, 1h, 24h, 30d" in response.json["error"]["message"]


@pytest.mark.parametrize("text, seconds", [("15m", 900), ("1h", 3600), ("24h", 86400), ("30d", 2592000)])
def test_parse_window_accepted_forms(text, seconds):
    assert reports.parse_window(text) == seconds


def test_metrics_text_parses(client, conn, tenant, redis_client, config):
    key = f"{config.redis_prefix}live:t:{tenant['id']}:c:{tenant['campaign_id']}"
    redis_client.hset(key, mapping={"dialing": 3, "ringing": 2, "talking": 5, "agents_available": 1})
    _store(conn, tenant["id"], tenant["campaign_id"], 1, dialer_live="true", dialer_abandoned="true",
           dialer_trunk_id="carrier-a")
    _store(conn, tenant["id"], tenant["campaign_id"], 1, dialer_live="true", dialer_abandoned="false",
           dialer_trunk_id="carrier-a")
    client.get("/health")

    response = client.get("/api/metrics")

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    labels = (("campaign", str(tenant["campaign_id"])), ("tenant", str(tenant["id"])))
    assert samples[("dialer_calls_dialing", labels)] == 3
    assert samples[("dialer_calls_talking", labels)] == 5
    assert samples[("dialer_agents_available", labels)] == 1
    assert samples[("dialer_abandonment_weighted_pct", labels + (("window", "15m"),))] == 50.0
    assert samples[("dialer_abandonment_weighted_pct", labels + (("window", "30d"),))] == 50.0
    assert samples[("dialer_asr_by_trunk", (("tenant", str(tenant["id"])), ("trunk", "carrier-a")))] == 1.0
    health = ("dialer_http_requests_total", (("endpoint", "/health"), ("method", "GET"), ("status", "200")))
    assert samples[health] >= 1


def test_accept_language_selects_english(client):
    english = client.get("/api/me", headers={"Accept-Language": "en-US,en;q=0.9"})
    spanish = client.get("/api/me")

    assert english.json["error"]["message"] == "Missing access token: send Authorization: Bearer <token>."
    assert spanish.json["error"]["message"] == "Falta el token de acceso: envíe Authorization: Bearer <token>."
