"""Malformed request bodies and tokens get a 4xx naming the problem, never a 500."""

from __future__ import annotations

import io
import time
import uuid

import jwt
import pytest

from tests.web.conftest import login

DEEP_JSON = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("method, path, body", [
    ("post", "/api/dnc", "[1]"),
    ("put", "/api/compliance/campaigns/{campaign}/settings", "[1]"),
    ("put", "/api/compliance/campaigns/{campaign}/settings", '{"retry_delays_s": [1, 2]}'),
    ("put", "/api/compliance/campaigns/{campaign}/settings", '{"packs": [["us-federal"]]}'),
    ("put", "/api/compliance/campaigns/{campaign}/settings", '{"purpose": 7}'),
    ("post", "/api/dnc", '{"numbers": [null]}'),
    ("post", "/api/dnc", '{"numbers": ["+13055550150"], "reason": {"a": 1}}'),
    ("patch", "/api/campaigns/{campaign}", "[1]"),
    ("put", "/api/campaigns/{campaign}/pacing", '"text"'),
    ("post", "/api/dnc", "{not json"),
])
def test_wrong_shape_is_400(client, auth_headers, tenant, method, path, body):
    url = path.format(campaign=tenant["campaign_id"])

    response = getattr(client, method)(url, data=body, content_type="application/json", headers=auth_headers)

    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json["error"]["code"] in ("invalid_body", "invalid_field", "invalid_json")


@pytest.mark.parametrize("method, path", [
    ("post", "/api/dnc"),
    ("put", "/api/compliance/campaigns/{campaign}/settings"),
    ("put", "/api/campaigns/{campaign}/pacing"),
    ("post", "/api/auth/login"),
])
def test_deeply_nested_json_is_400(client, auth_headers, tenant, method, path):
    url = path.format(campaign=tenant["campaign_id"])

    send = getattr(client, method)

    response = send(url, data=DEEP_JSON, content_type="application/json", headers=auth_headers)

    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_json"


def test_null_number_names_item(client, auth_headers):
    response = client.post("/api/dnc", json={"numbers": ["+13055550150", None]}, headers=auth_headers)

    assert response.status_code == 400
    assert response.json["error"]["field"] == "numbers"
    assert response.json["error"]["message"] == (
        "Cada elemento de numbers debe ser una cadena de texto entre comillas; el elemento 2 es null."
    )


def test_huge_csv_field_is_400(app, tenant, auth_headers):
    client = app.test_client()
    big = b"+1305" + b"5" * (60 * 1024 * 1024) + b"\n"
    data = {"file": (io.BytesIO(big), "dnc.csv"), "registry": "internal"}

    response = client.post(
        "/api/dnc/upload", data=data, headers=auth_headers, content_type="multipart/form-data"
    )

    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_file"
    assert response.json["error"]["field"] == "file"


def _forged(config, tenant, **claims) -> str:
    now = int(time.time())
    payload = {"sub": str(tenant["user_id"]), "tid": tenant["id"], "role": "admin", "email": tenant["email"],
               "locale": "en", "type": "access", "iat": now, "exp": now + 60, "jti": uuid.uuid4().hex}
    payload.update(claims)
    return jwt.encode(payload, config.jwt_access_secret, algorithm="HS256")


@pytest.mark.parametrize("claims", [{"sub": "abc"}, {"tid": "abc"}, {"tid": "7"}, {"tid": True}, {"sub": 5}])
def test_token_with_bad_ids_is_401(client, config, tenant, claims):
    token = _forged(config, tenant, **claims)

    response = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401
    assert response.json["error"]["code"] == "token_invalid"


def test_email_number_must_be_string(client):
    response = client.post("/api/auth/login?lang=en", json={"email": 123, "password": "x"})

    assert response.status_code == 400
    assert response.json["error"]["field"] == "email"
    assert response.json["error"]["message"] == "The field email must be a string, not 123."


def test_login_still_works(client, tenant):
    assert login(client, tenant["email"], tenant["password"]).status_code == 200
