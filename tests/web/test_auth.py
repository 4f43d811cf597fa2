"""Login, refresh-token rotation, logout, expired and invalid tokens, roles."""

from __future__ import annotations

import time

import jwt
import pytest

from tests.web.conftest import client_from, login
from web import create_app
from web.db import close_pool


def _audit_actions(conn, tenant_id: int) -> list[str]:
    with conn.cursor() as cur:
        cur.execute("SELECT action FROM audit_log WHERE tenant_id = %s ORDER BY id", (tenant_id,))
        rows = [row["action"] for row in cur.fetchall()]
    conn.rollback()
    return rows


def test_login_ok_returns_tokens(client, tenant, conn):
    response = login(client, tenant["email"].upper(), tenant["password"])

    assert response.status_code == 200
    body = response.json
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["user"]["email"] == tenant["email"]
    assert body["user"]["role"] == "admin"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("refresh_token=")
    assert "HttpOnly" in cookie
    assert "Path=/api/auth" in cookie
    assert "SameSite=Strict" in cookie
    assert "Secure" not in cookie
    assert _audit_actions(conn, tenant["id"]) == ["login.success"]


def test_login_token_claims(client, tenant, config):
    body = login(client, tenant["email"], tenant["password"]).json
    claims = jwt.decode(body["access_token"], config.jwt_access_secret, algorithms=["HS256"])

    assert claims["sub"] == str(tenant["user_id"])
    assert claims["tid"] == tenant["id"]
    assert claims["role"] == "admin"
    assert claims["locale"] == "es"
    assert claims["exp"] - claims["iat"] == config.access_token_ttl_s
    assert claims["jti"]


@pytest.mark.parametrize(
    "email_suffix, password",
    [("", "wrong-password"), (".other", "Secreto-123")],
    ids=["wrong password", "unknown email"],
)
def test_login_bad_credentials_same_answer(client, tenant, conn, email_suffix, password):
    response = login(client, tenant["email"] + email_suffix, password)

    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_credentials"
    assert response.json["error"]["message"] == "Correo o contraseña incorrectos."
    assert "Set-Cookie" not in response.headers


def test_login_failure_audited(client, tenant, conn):
    login(client, tenant["email"], "wrong-password")

    assert _audit_actions(conn, tenant["id"]) == ["login.failure"]


def test_login_missing_field_named(client):
    response = client.post("/api/auth/login?lang=en", json={"email": "a@b.example"})

    assert response.status_code == 400
    assert response.json["error"]["field"] == "password"
    assert "password" in response.json["error"]["message"]


def test_login_rate_limited_per_ip(config, redis_client, tenant):
    app = create_app(config, {"TESTING": True, "LOGIN_IP_RATE_LIMIT": "10/minute"})
    client = client_from(app, "10.250.0.1")
    statuses = [
        login(client, f"nobody{i}@example.invalid", "x").status_code for i in range(11)
    ]

    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429
    close_pool(app)


def test_login_rate_limited_per_email(app, tenant):
    statuses = []
    for i in range(11):
        client = client_from(app, f"10.251.0.{i + 1}")
        statuses.append(login(client, tenant["email"], "wrong").status_code)

    assert statuses[10] == 429
    limited = login(
        client_from(app, "10.251.1.1"), tenant["email"], tenant["password"]
    )
    assert limited.status_code == 429
    assert limited.json["error"]["code"] == "rate_limited"
    assert limited.json["error"]["message"].startswith("Demasiadas")
    assert "Retry-After" in limited.headers


def test_refresh_rotates_token(client, tenant):
    login(client, tenant["email"], tenant["password"])
    first_cookie = client.get_cookie("refresh_token", path="/api/auth").value

    response = client.post("/api/auth/refresh")

    assert response.status_code == 200
    assert response.json["access_token"]
    second_cookie = client.get_cookie("refresh_token", path="/api/auth").value
    assert second_cookie != first_cookie


def test_refresh_reuse_of_revoked_token_rejected(client, tenant):
    login(client, tenant["email"], tenant["password"])
    old_cookie = client.get_cookie("refresh_token", path="/api/auth").value
    assert client.post("/api/auth/refresh").status_code == 200

    client.set_cookie("refresh_token", old_cookie, path="/api/auth")
    response = client.post("/api/auth/refresh?lang=en")

    assert response.status_code == 401
    assert response.json["error"]["code"] == "refresh_revoked"
    assert "log in again" in response.json["error"]["message"]


def test_refresh_without_cookie_rejected(client):
    response = client.post("/api/auth/refresh")

    assert response.status_code == 401
    assert response.json["error"]["code"] == "refresh_missing"


def test_logout_revokes_refresh_token(client, tenant, conn):
    login(client, tenant["email"], tenant["password"])
    cookie = client.get_cookie("refresh_token", path="/api/auth").value

    response = client.post("/api/auth/logout")

    assert response.status_code == 200
    client.set_cookie("refresh_token", cookie, path="/api/auth")
    assert client.post("/api/auth/refresh").status_code == 401
    assert _audit_actions(conn, tenant["id"]) == ["login.success", "logout"]


def test_expired_token_says_log_in_again(client, tenant, config):
    now = int(time.time())
    claims = {"sub": str(tenant["user_id"]), "tid": tenant["id"], "role": "admin", "email": tenant["email"],
              "locale": "en", "type": "access", "iat": now - 1000, "exp": now - 100, "jti": "x"}
    token = jwt.encode(claims, config.jwt_access_secret, algorithm="HS256")

    response = client.get("/api/me?lang=en", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401
    assert response.json["error"]["code"] == "token_expired"
    assert response.json["error"]["message"] == "The token has expired: log in again."


@pytest.mark.parametrize("header", ["Bearer not-a-jwt", "Bearer ", "Basic abc", ""])
def test_bad_or_missing_token_rejected(client, header):
    response = client.get("/api/me?lang=en", headers={"Authorization": header} if header else {})

    assert response.status_code == 401
    assert response.json["error"]["code"] in ("token_invalid", "token_missing")
    assert "Authorization: Bearer" in response.json["error"]["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_token_signed_with_refresh_secret_rejected(client, tenant, config):
    now = int(time.time())
    claims = {"sub": str(tenant["user_id"]), "tid": tenant["id"], "role": "admin", "type": "access",
              "iat": now, "exp": now + 60, "jti": "y"}
    token = jwt.encode(claims, config.jwt_refresh_secret, algorithm="HS256")

    response = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401
    assert response.json["error"]["code"] == "token_invalid"


def test_me_returns_user(client, auth_headers, tenant):
    response = client.get("/api/me", headers=auth_headers)

    assert response.status_code == 200
    assert response.json["id"] == tenant["user_id"]
    assert response.json["tenant_slug"] == tenant["slug"]
