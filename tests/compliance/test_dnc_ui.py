"""The do-not-call page and an agent's call disposition, on the real app."""

from __future__ import annotations

import uuid

import pytest
from argon2 import PasswordHasher

from dialer_common import db

PHONE = "+13055550177"


def _insert_lead(conn, tenant: dict, phone: str = PHONE) -> int:
    with db.transaction(conn) as cur:
        cur.execute(
            "INSERT INTO leads (tenant_id, campaign_id, phone_e164) VALUES (%s, %s, %s) RETURNING id",
            (tenant["id"], tenant["campaign_id"], phone),
        )
        return cur.fetchone()["id"]


def _insert_attempt(conn, tenant_id: int, campaign_id: int, lead_id: int, phone: str = PHONE) -> str:
    attempt_id = str(uuid.uuid4())
    with db.transaction(conn) as cur:
        cur.execute(
            "INSERT INTO attempts (id, tenant_id, campaign_id, lead_id, phone_e164)"
            " VALUES (%s, %s, %s, %s, %s)",
            (attempt_id, tenant_id, campaign_id, lead_id, phone),
        )
    return attempt_id


@pytest.fixture
def attempt(conn, tenant) -> dict:
    lead_id = _insert_lead(conn, tenant)
    return {"id": _insert_attempt(conn, tenant["id"], tenant["campaign_id"], lead_id), "lead_id": lead_id}


def _lead_status(conn, lead_id: int) -> str:
    with db.transaction(conn) as cur:
        cur.execute("SELECT status FROM leads WHERE id = %s", (lead_id,))
        return cur.fetchone()["status"]


def _audit_rows(conn, attempt_id: str) -> list[dict]:
    with db.transaction(conn) as cur:
        cur.execute(
            "SELECT action, user_id, details FROM audit_log"
            " WHERE target = %s AND action = 'attempt.disposition'",
            (attempt_id,),
        )
        return list(cur.fetchall())


def test_dnc_page_renders_spanish_by_default(client):
    response = client.get("/compliance/dnc")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<html lang="es">' in page
    assert "Lista de no llamar" in page
    assert "Números de teléfono, uno por línea" in page
    assert "us-national-dnc" in page
    assert "dnc.js" in page


def test_dnc_page_renders_english(client):
    page = client.get("/compliance/dnc?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Do-not-call list" in page
    assert "Phone numbers, one per line" in page
    assert "Lista de no llamar" not in page


def test_report_page_links_dnc_page(client, tenant):
    page = client.get(f"/compliance/campaigns/{tenant['campaign_id']}?lang=en").get_data(as_text=True)
    assert "/compliance/dnc?lang=en" in page


def test_dnc_add_skip_invalid_lists_rejected(client, auth_headers):
    body = {"numbers": ["(305) 555-0181", "12ab", "+13055550181"], "skip_invalid": True}
    response = client.post("/api/dnc?lang=en", json=body, headers=auth_headers)
    assert response.status_code == 201, response.json
    assert response.json["accepted"] == ["+13055550181", "+13055550181"]
    assert response.json["added"] == 1
    assert [item["number"] for item in response.json["rejected"]] == ["12ab"]
    assert "12ab" in response.json["rejected"][0]["message"]


def test_dnc_add_skip_invalid_must_be_boolean(client, auth_headers):
    response = client.post(
        "/api/dnc", json={"numbers": ["+13055550181"], "skip_invalid": "yes"}, headers=auth_headers
    )
    assert response.status_code == 400
    assert response.json["error"]["field"] == "skip_invalid"


def test_disposition_dnc_lists_number_and_lead(client, auth_headers, conn, tenant, attempt):
    assert client.get(f"/api/dnc?number={PHONE}", headers=auth_headers).json["listed"] is False

    response = client.post(
        f"/api/attempts/{attempt['id']}/disposition",
        json={"disposition": "do_not_call", "note": "pidió no recibir más llamadas"},
        headers=auth_headers,
    )
    assert response.status_code == 200, response.json
    assert response.json["dnc_listed"] is True

    found = client.get("/api/dnc?number=%2B13055550177", headers=auth_headers).json
    assert found["listed"] is True
    assert found["listings"][0]["registry"] == "internal"
    assert found["listings"][0]["reason"] == "agent disposition"
    assert _lead_status(conn, attempt["lead_id"]) == "dnc"

    rows = _audit_rows(conn, attempt["id"])
    assert len(rows) == 1
    assert rows[0]["user_id"] == tenant["user_id"]
    assert rows[0]["details"]["disposition"] == "do_not_call"
    assert rows[0]["details"]["note"] == "pidió no recibir más llamadas"


def test_disposition_dnc_records_user_email(client, auth_headers, conn, tenant, attempt):
    client.post(
        f"/api/attempts/{attempt['id']}/disposition",
        json={"disposition": "do_not_call"},
        headers=auth_headers,
    )
    with db.transaction(conn) as cur:
        cur.execute(
            "SELECT added_by FROM dnc_numbers WHERE tenant_id = %s AND phone_e164 = %s", (tenant["id"], PHONE)
        )
        assert cur.fetchone()["added_by"] == tenant["email"]


def test_disposition_sale_keeps_lead_dialable(client, auth_headers, conn, attempt):
    response = client.post(
        f"/api/attempts/{attempt['id']}/disposition", json={"disposition": "sale"}, headers=auth_headers
    )
    assert response.status_code == 200, response.json
    assert response.json["dnc_listed"] is False
    assert client.get("/api/dnc?number=%2B13055550177", headers=auth_headers).json["listed"] is False
    assert _lead_status(conn, attempt["lead_id"]) == "new"
    assert _audit_rows(conn, attempt["id"])[0]["details"]["disposition"] == "sale"


def test_disposition_other_tenant_not_found(client, auth_headers, conn, tenant):
    with db.transaction(conn) as cur:
        cur.execute(
            "INSERT INTO tenants (slug, name) VALUES (%s, 'Otro') RETURNING id",
            (f"o-{uuid.uuid4().hex[:10]}",),
        )
        other_tenant_id = cur.fetchone()["id"]
    other_attempt = _insert_attempt(conn, other_tenant_id, tenant["campaign_id"], 1)

    response = client.post(
        f"/api/attempts/{other_attempt}/disposition",
        json={"disposition": "do_not_call"},
        headers=auth_headers,
    )
    assert response.status_code == 404
    assert client.get("/api/dnc?number=%2B13055550177", headers=auth_headers).json["listed"] is False
    assert _audit_rows(conn, other_attempt) == []


def test_disposition_viewer_forbidden(client, conn, tenant, attempt):
    email = f"viewer@{tenant['slug']}.example"
    with db.transaction(conn) as cur:
        cur.execute(
            "INSERT INTO users (tenant_id, email, password_hash, full_name, role)"
            " VALUES (%s, %s, %s, 'Visor', 'viewer')",
            (tenant["id"], email, PasswordHasher().hash("Secreto-123")),
        )
    login = client.post("/api/auth/login", json={"email": email, "password": "Secreto-123"})
    headers = {"Authorization": f"Bearer {login.json['access_token']}"}

    response = client.post(
        f"/api/attempts/{attempt['id']}/disposition", json={"disposition": "do_not_call"}, headers=headers
    )
    assert response.status_code == 403
    assert _lead_status(conn, attempt["lead_id"]) == "new"


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", "Invalid disposition maybe: use one of do_not_call, callback"),
        ("es", "Resultado de llamada no válido maybe"),
    ],
)
def test_disposition_invalid_value_rejected(client, auth_headers, conn, attempt, lang, expected):
    response = client.post(
        f"/api/attempts/{attempt['id']}/disposition?lang={lang}",
        json={"disposition": "maybe"},
        headers=auth_headers,
    )
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_disposition"
    assert expected in response.json["error"]["message"]
    assert _audit_rows(conn, attempt["id"]) == []
