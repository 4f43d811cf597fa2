"""Smoke test of a running web tier: health, login, a report, the WebSocket, CDR ingest, metrics.

Usage: API=http://127.0.0.1:8080 EMAIL=admin@demo.example PASS=... python ops/smoke/smoke.py

CDR_USER and CDR_PASS are the basic-auth credentials of ``POST /api/cdr``
(default ``cdr`` / ``cdr-secret``, the demo's). The CDR step stores one
minimal call record with a new uuid in the signed-in user's tenant, so a
broken ingest path fails the smoke test.

Prints ``SMOKE OK`` and exits 0, or prints the failing step with the reason
and exits 1. Needs only the standard library and websocket-client.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from urllib.parse import quote

import websocket

TIMEOUT_S = 10
DEFAULT_CDR_USER = "cdr"
DEFAULT_CDR_PASS = "cdr-secret"


class SmokeFailure(Exception):
    """A step failed; the message names the step and the reason."""


def _request(
    method: str, url: str, body: dict | None = None, token: str = "", basic: tuple[str, str] | None = None
) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if basic is not None:
        credentials = base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {credentials}")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        raise SmokeFailure(f"{method} {url} failed: {exc}") from None


def step_health(api: str) -> None:
    status, body = _request("GET", f"{api}/health")
    if status != 200:
        raise SmokeFailure(f"health: expected 200, got {status}: {body[:200]!r}")


def step_login(api: str, email: str, password: str) -> tuple[str, int]:
    """Log in; return the access token and the user's tenant id."""
    status, body = _request("POST", f"{api}/api/auth/login", {"email": email, "password": password})
    if status != 200:
        raise SmokeFailure(f"login: expected 200, got {status}: {body[:200]!r}")
    document = json.loads(body)
    return document["access_token"], document["user"]["tenant_id"]


def minimal_cdr(tenant_id: int) -> dict:
    """Build the smallest CDR that /api/cdr stores: a new channel uuid, a start time and the tenant."""
    start_us = int(time.time() * 1_000_000)
    return {
        "variables": {
            "uuid": str(uuid.uuid4()),
            "start_epoch": str(start_us // 1_000_000),
            "start_uepoch": str(start_us),
            "dialer_tenant_id": str(tenant_id),
            "hangup_cause": "NORMAL_CLEARING",
        },
    }


def step_cdr(api: str, tenant_id: int, user: str, password: str) -> None:
    document = minimal_cdr(tenant_id)
    call_uuid = document["variables"]["uuid"]
    status, body = _request("POST", f"{api}/api/cdr?uuid={call_uuid}", document, basic=(user, password))
    try:
        stored = status == 200 and json.loads(body).get("status") == "stored"
    except ValueError:
        stored = False
    if not stored:
        raise SmokeFailure(f"cdr: expected 200 with status stored, got {status}: {body[:200]!r}")


def step_report(api: str, token: str) -> None:
    status, body = _request("GET", f"{api}/api/reports/abandonment?window=15m", token=token)
    if status != 200 or "campaigns" not in json.loads(body):
        raise SmokeFailure(f"report: expected 200 with campaigns, got {status}: {body[:200]!r}")


def step_websocket(api: str, token: str) -> None:
    url = api.replace("http://", "ws://", 1).replace("https://", "wss://", 1) + f"/ws?token={quote(token)}"
    try:
        connection = websocket.create_connection(url, timeout=TIMEOUT_S)
    except (websocket.WebSocketException, OSError) as exc:
        raise SmokeFailure(f"websocket: cannot connect to {api}/ws: {exc}") from None
    try:
        message = json.loads(connection.recv())
    except (websocket.WebSocketException, OSError, ValueError) as exc:
        raise SmokeFailure(f"websocket: no hello message: {exc}") from None
    finally:
        connection.close()
    if message.get("type") != "ws.hello":
        raise SmokeFailure(f"websocket: expected type ws.hello, got {message!r:.200}")


def step_metrics(api: str) -> None:
    status, body = _request("GET", f"{api}/api/metrics")
    if status != 200 or b"dialer_http_requests_total" not in body:
        raise SmokeFailure(f"metrics: expected 200 with dialer_http_requests_total, got {status}")


def run(api: str, email: str, password: str, cdr_user: str, cdr_password: str) -> None:
    """Run every step; raise SmokeFailure at the first one that fails."""
    step_health(api)
    token, tenant_id = step_login(api, email, password)
    step_report(api, token)
    step_websocket(api, token)
    step_cdr(api, tenant_id, cdr_user, cdr_password)
    step_metrics(api)


def main(env: dict[str, str] | None = None) -> int:
    env = dict(os.environ if env is None else env)
    missing = [name for name in ("API", "EMAIL", "PASS") if not env.get(name)]
    if missing:
        print(f"SMOKE FAILED: set {', '.join(missing)} (e.g. API=http://127.0.0.1:8080 EMAIL=... PASS=...)")
        return 1
    try:
        run(
            env["API"].rstrip("/"), env["EMAIL"], env["PASS"],
            env.get("CDR_USER", DEFAULT_CDR_USER), env.get("CDR_PASS", DEFAULT_CDR_PASS),
        )
    except SmokeFailure as failure:
        print(f"SMOKE FAILED {failure}")
        return 1
    print("SMOKE OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
