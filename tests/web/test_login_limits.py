"""Login rate limits: failures per email, a high per-IP limit, trusted proxies."""

from __future__ import annotations

import dataclasses
import uuid

from argon2 import PasswordHasher

from dialer_common import db
from tests.web.conftest import client_from, login
from web import create_app
from web.auth import limits
from web.db import close_pool


def _second_user(conn, tenant) -> str:
    email = f"colega-{uuid.uuid4().hex[:6]}@{tenant['slug']}.example"
    with db.transaction(conn) as cur:
        cur.execute(
            "INSERT INTO users (tenant_id, email, password_hash, role) VALUES (%s, %s, %s, 'agent')",
            (tenant["id"], email, PasswordHasher().hash("Clave-456")),
        )
    return email


def test_one_email_does_not_lock_ip(app, conn, tenant):
    office = client_from(app, "10.252.0.1")
    colleague = _second_user(conn, tenant)

    failures = [login(office, tenant["email"], "wrong").status_code for _ in range(11)]
    other = login(office, colleague, "Clave-456")

    assert failures[:10] == [401] * 10
    assert failures[10] == 429
    assert other.status_code == 200


def test_successes_do_not_count_against_email(app, tenant):
    statuses = [
        login(client_from(app), tenant["email"], tenant["password"]).status_code for _ in range(12)
    ]

    assert statuses == [200] * 12


def test_success_has_no_retry_after(client, tenant):
    response = login(client, tenant["email"], tenant["password"])

    assert response.status_code == 200
    assert "Retry-After" not in response.headers


def test_ip_limit_default_is_high():
    count, _slash, period = limits.DEFAULT_LOGIN_IP_LIMIT.partition("/")

    assert int(count) >= 100
    assert period == "minute"


def _attempt(client, forwarded_for: str) -> int:
    body = {"email": f"{uuid.uuid4().hex}@example.invalid", "password": "x"}
    return client.post("/api/auth/login", json=body, headers={"X-Forwarded-For": forwarded_for}).status_code


def test_trusted_proxy_uses_forwarded_for(config, redis_client, tenant):
    app = create_app(dataclasses.replace(config, trusted_proxies=1),
                     {"TESTING": True, "LOGIN_IP_RATE_LIMIT": "3/minute"})
    proxy = client_from(app, "10.254.0.1")

    first_client = [_attempt(proxy, "198.51.100.7") for _ in range(4)]
    second_client = _attempt(proxy, "198.51.100.8")

    assert first_client == [401, 401, 401, 429]
    assert second_client == 401
    close_pool(app)


def test_forwarded_for_ignored_by_default(config, redis_client, tenant):
    app = create_app(config, {"TESTING": True, "LOGIN_IP_RATE_LIMIT": "3/minute"})
    client = client_from(app, "10.253.0.1")

    statuses = [_attempt(client, f"192.0.2.{i + 1}") for i in range(4)]

    assert statuses == [401, 401, 401, 429]
    close_pool(app)
