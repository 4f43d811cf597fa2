"""API message locale: ?lang=, then the lang cookie, then the token's locale, then Accept-Language."""

from __future__ import annotations

import uuid

from argon2 import PasswordHasher

from dialer_common import db
from tests.conftest import ROOT
from tests.web.conftest import login

SPANISH_NOT_FOUND = "No se encontró la campaña 999999."
ENGLISH_NOT_FOUND = "Campaign 999999 not found."


def _english_user_headers(client, conn, tenant) -> dict:
    email = f"en-{uuid.uuid4().hex[:6]}@{tenant['slug']}.example"
    with db.transaction(conn) as cur:
        cur.execute(
            "INSERT INTO users (tenant_id, email, password_hash, role, locale)"
            " VALUES (%s, %s, %s, 'admin', 'en')",
            (tenant["id"], email, PasswordHasher().hash("Clave-456")),
        )
    response = login(client, email, "Clave-456")
    assert response.status_code == 200
    return {"Authorization": f"Bearer {response.json['access_token']}"}


def _message(client, headers, query: str = "") -> str:
    response = client.get(f"/api/campaigns/999999{query}", headers=headers)
    assert response.status_code == 404
    return response.json["error"]["message"]


def test_lang_query_beats_token_locale(client, conn, tenant, auth_headers):
    english_user = _english_user_headers(client, conn, tenant)

    assert _message(client, english_user, "?lang=es") == SPANISH_NOT_FOUND
    assert _message(client, auth_headers, "?lang=en") == ENGLISH_NOT_FOUND


def test_lang_cookie_beats_token_locale(client, conn, tenant):
    english_user = _english_user_headers(client, conn, tenant)
    client.set_cookie("lang", "es")

    assert _message(client, english_user) == SPANISH_NOT_FOUND


def test_token_locale_beats_accept_language(client, conn, tenant):
    english_user = _english_user_headers(client, conn, tenant)

    assert _message(client, english_user) == ENGLISH_NOT_FOUND
    assert _message(client, {**english_user, "Accept-Language": "es"}) == ENGLISH_NOT_FOUND


def test_accept_language_without_token(client):
    response = client.get("/api/me", headers={"Accept-Language": "en"})

    assert response.json["error"]["message"].startswith("Missing access token")


def test_page_scripts_send_lang():
    session = (ROOT / "web/dashboard/static/session.js").read_text()
    pacing = (ROOT / "web/dashboard/static/pacing_common.js").read_text()
    compliance = (ROOT / "web/compliance/templates/compliance_report.html").read_text()

    assert "fetch(withLang(url)" in session
    assert "fetch(DialerSession.withLang(url)" in pacing
    assert compliance.count("lang=locale") == 2
