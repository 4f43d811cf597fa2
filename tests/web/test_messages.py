"""User-facing messages: translated, in the page's locale, with the right hint."""

from __future__ import annotations

import csv
import io
import json

import psycopg2.extras
import pytest

from dialer_common import db
from tests.conftest import ROOT
from web.compliance.views import _csv_value
from web.pacing.reasons import translate_reason

CATALOGS = [
    ROOT / "web/translations/es/LC_MESSAGES/messages.po",
    ROOT / "dialer_common/locale/es/LC_MESSAGES/dialer.po",
]


def test_dnc_invalid_number_spanish(client, auth_headers):
    response = client.post("/api/dnc", json={"numbers": ["abc"]}, headers=auth_headers)

    assert response.status_code == 400
    assert response.json["error"]["message"].startswith("número de teléfono no válido 'abc'")


def test_dnc_invalid_number_english(client, auth_headers):
    response = client.post("/api/dnc?lang=en", json={"numbers": ["abc"]}, headers=auth_headers)

    assert response.json["error"]["message"].startswith("invalid phone number 'abc'")


def test_refresh_error_hints_login(client):
    client.set_cookie("refresh_token", "not-a-jwt", path="/api/auth")

    response = client.post("/api/auth/refresh?lang=en")

    assert response.status_code == 401
    assert response.json["error"]["message"] == "The refresh token is invalid: log in again."
    assert "Authorization" not in response.json["error"]["message"]


def test_pacing_string_number_rejected(client, auth_headers, tenant):
    url = f"/api/campaigns/{tenant['campaign_id']}/pacing?lang=en"

    response = client.put(url, json={"ring_timeout_s": "20"}, headers=auth_headers)

    assert response.status_code == 400
    assert response.json["error"]["field"] == "ring_timeout_s"
    assert response.json["error"]["message"] == 'The field ring_timeout_s must be a number, not "20".'


def _log_decision(conn, tenant, reason: str) -> None:
    with db.transaction(conn) as cur:
        cur.execute(
            "INSERT INTO pacing_log"
            " (tenant_id, campaign_id, mode, dial_level, multiplier, throttled, reason, inputs)"
            " VALUES (%s, %s, 'progressive', 1.0, 1.0, false, %s, %s)",
            (tenant["id"], tenant["campaign_id"], reason, psycopg2.extras.Json({})),
        )


def test_pacing_reason_spanish(client, auth_headers, conn, tenant):
    _log_decision(conn, tenant, "progressive mode")

    response = client.get(f"/api/campaigns/{tenant['campaign_id']}/pacing?lang=es", headers=auth_headers)

    assert response.json["latest_decision"]["reason"] == "modo progresivo"


@pytest.mark.parametrize("reason, spanish", [
    ("no agents logged in", "no hay agentes conectados"),
    ("5-minute abandonment 4.50% is over the 2.50% target; lowered the multiplier to 0.81",
     "abandono de 5 minutos del 4,5 % por encima del objetivo del 2,5 %; multiplicador reducido a 0,81"),
    ("5-minute abandonment 1.00% is within the 3.00% target",
     "abandono de 5 minutos del 1 % dentro del objetivo del 3 %"),
    ("unknown future reason", "unknown future reason"),
])
def test_reason_templates_translated(app, reason, spanish):
    with app.test_request_context("/?lang=es"):
        assert translate_reason(reason) == spanish


def test_spanish_catalogs_say_cliente():
    for catalog in CATALOGS:
        text = catalog.read_text().lower()
        assert "inquilino" not in text, catalog
        assert "arrendatario" not in text, catalog


def test_csv_booleans_and_decimals(app):
    with app.test_request_context("/?lang=es"):
        assert _csv_value(True) == "sí"
        assert _csv_value(False) == "no"
        assert _csv_value(2.5) == "2,5"
    with app.test_request_context("/?lang=en"):
        assert _csv_value(True) == "yes"
        assert _csv_value(2.5) == "2.5"


def test_csv_export_translated(client, auth_headers, tenant):
    url = f"/api/compliance/campaigns/{tenant['campaign_id']}/report?format=csv&lang=es"

    rows = list(csv.reader(io.StringIO(client.get(url, headers=auth_headers).get_data(as_text=True))))

    progressive = next(row for row in rows if row[0] == "abandonment" and row[1] == "debe pasar a progresivo")
    assert progressive[2] in ("sí", "no")
    assert not any("True" in row or "False" in row for row in rows)


def test_compliance_page_heading_string(client, tenant):
    page = client.get(f"/compliance/campaigns/{tenant['campaign_id']}?lang=es").get_data(as_text=True)
    script = (ROOT / "web/compliance/static/compliance.js").read_text()

    strings = json.loads(page.split('id="ui-strings"', 1)[1].split(">", 1)[1].split("</script>", 1)[0])
    assert strings["heading"] == "Informe de cumplimiento · {name}"
    assert "strings.heading.replace(\"{name}\", report.campaign.name)" in script
