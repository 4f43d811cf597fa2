"""The /ws live socket, through a real HTTP server, PostgreSQL and Redis."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import struct
import time
import uuid

import pytest
import websocket

from dialer_common import db
from tests.web.conftest import serve_app
from web import ws as live_ws
from web.auth.tokens import issue_access_token
from web.live import counters_key, events_channel

HEARTBEAT_S = 0.5
RECEIVE_TIMEOUT_S = 10.0


@pytest.fixture
def ws_config(config):
    return dataclasses.replace(config, ws_heartbeat_s=HEARTBEAT_S)


@contextlib.contextmanager
def serve(config):
    """Serve the real app on 127.0.0.1 and a free port; yield its ws:// URL."""
    with serve_app(config, "ws-test-server") as base_url:
        yield base_url.replace("http://", "ws://", 1) + "/ws"


@pytest.fixture
def server(ws_config):
    with serve(ws_config) as url:
        yield url


@pytest.fixture
def slow_periodic_updates(monkeypatch):
    """Stretch the periodic update so only a publish can cause one during a test."""
    monkeypatch.setattr(live_ws, "MAX_UPDATE_GAP_S", 60.0)


def token_for(tenant: dict, config, **overrides) -> str:
    user = {
        "id": tenant["user_id"],
        "tenant_id": tenant["id"],
        "role": "admin",
        "email": tenant["email"],
        "locale": "es",
    }
    token, _ttl = issue_access_token(user, dataclasses.replace(config, **overrides))
    return token


def connect(url: str, token: str, lang: str = "es") -> websocket.WebSocket:
    return websocket.create_connection(f"{url}?token={token}&lang={lang}", timeout=RECEIVE_TIMEOUT_S)


def receive(sock: websocket.WebSocket) -> dict:
    return json.loads(sock.recv())


def receive_until(sock: websocket.WebSocket, message_type: str, predicate=lambda message: True) -> dict:
    """Return the first message of ``message_type`` that matches ``predicate``."""
    deadline = time.monotonic() + RECEIVE_TIMEOUT_S
    while time.monotonic() < deadline:
        message = receive(sock)
        if message["type"] == message_type and predicate(message):
            return message
    raise AssertionError(f"no matching {message_type} message within {RECEIVE_TIMEOUT_S} s")


def messages_within(sock: websocket.WebSocket, seconds: float) -> list[str]:
    """Return the types of the messages that arrive within ``seconds``."""
    types = []
    deadline = time.monotonic() + seconds
    sock.settimeout(0.1)
    while time.monotonic() < deadline:
        try:
            types.append(receive(sock)["type"])
        except websocket.WebSocketTimeoutException:
            continue
    sock.settimeout(RECEIVE_TIMEOUT_S)
    return types


def receive_close(sock: websocket.WebSocket) -> tuple[int, str]:
    opcode, data = sock.recv_data(control_frame=True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    code = struct.unpack("!H", data[:2])[0]
    return code, data[2:].decode()


def open_session(url: str, token: str) -> tuple[websocket.WebSocket, dict, dict]:
    sock = connect(url, token)
    hello = receive(sock)
    snapshot = receive(sock)
    return sock, hello, snapshot


def campaign_in(message: dict, campaign_id: int) -> dict:
    matches = [campaign for campaign in message["campaigns"] if campaign["campaign_id"] == campaign_id]
    assert len(matches) == 1, f"campaign {campaign_id} not in {message['campaigns']}"
    return matches[0]


def add_tenant(conn) -> dict:
    slug = f"t-{uuid.uuid4().hex[:10]}"
    with db.transaction(conn) as cur:
        cur.execute("INSERT INTO tenants (slug, name) VALUES (%s, %s) RETURNING id", (slug, slug))
        tenant_id = cur.fetchone()["id"]
        cur.execute(
            "INSERT INTO users (tenant_id, email, password_hash, role)"
            " VALUES (%s, %s, 'unused', 'supervisor') RETURNING id",
            (tenant_id, f"sup@{slug}.example"),
        )
        user_id = cur.fetchone()["id"]
        cur.execute(
            "INSERT INTO campaigns (tenant_id, name, queue_name)"
            " VALUES (%s, 'Ventas Norte', %s) RETURNING id",
            (tenant_id, f"campaign-{slug}@default"),
        )
        campaign_id = cur.fetchone()["id"]
    return {"id": tenant_id, "user_id": user_id, "email": f"sup@{slug}.example", "campaign_id": campaign_id}


def add_live_answers(conn, tenant: dict, live: int, abandoned: int) -> None:
    with db.transaction(conn) as cur:
        for index in range(live):
            cur.execute(
                "INSERT INTO cdr (tenant_id, call_uuid, leg, started_at, campaign_id, answered, live,"
                " abandoned, raw) VALUES (%s, %s, 'a', now(), %s, true, true, %s, '{}')",
                (tenant["id"], str(uuid.uuid4()), tenant["campaign_id"], index < abandoned),
            )


def test_ws_invalid_token_rejected(server):
    sock = connect(server, "not-a-jwt")

    error = receive(sock)
    code, reason = receive_close(sock)

    assert error["type"] == "ws.error"
    assert error["code"] == "token_invalid"
    assert error["message"]
    assert code == 1008
    assert reason == error["message"]


def test_ws_missing_token_rejected(server):
    sock = websocket.create_connection(server, timeout=RECEIVE_TIMEOUT_S)

    error = receive(sock)
    code, _reason = receive_close(sock)

    assert error["code"] == "token_missing"
    assert code == 1008


def test_ws_expired_token_rejected(server, ws_config, tenant):
    sock = connect(server, token_for(tenant, ws_config, access_token_ttl_s=-60))

    error = receive(sock)
    code, _reason = receive_close(sock)

    assert error["code"] == "token_expired"
    assert code == 1008


def test_ws_error_message_follows_lang(server):
    spanish = connect(server, "not-a-jwt", lang="es")
    english = connect(server, "not-a-jwt", lang="en")

    spanish_message = receive(spanish)["message"]
    english_message = receive(english)["message"]

    assert english_message.startswith("The token is invalid")
    assert spanish_message != english_message


def test_ws_hello_then_snapshot(server, ws_config, tenant):
    sock, hello, snapshot = open_session(server, token_for(tenant, ws_config))

    assert hello["type"] == "ws.hello"
    assert hello["tenant_id"] == tenant["id"]
    assert hello["user"]["email"] == tenant["email"]
    assert hello["user"]["id"] == str(tenant["user_id"])
    assert hello["heartbeat_s"] == HEARTBEAT_S
    assert abs(hello["server_time"] - time.time() * 1000) < 60_000
    assert snapshot["type"] == "live.snapshot"
    campaign = campaign_in(snapshot, tenant["campaign_id"])
    assert campaign["name"] == "Cobranza Diciembre"
    assert campaign["status"] == "draft"
    assert campaign["ringing"] == 0
    assert campaign["abandonment_15m"] == {"live_answers": 0, "abandoned": 0, "rate_pct": None}
    assert campaign["alert"] is False
    sock.close()


def test_ws_publish_sends_update(server, ws_config, tenant, redis_client, slow_periodic_updates):
    sock, _hello, _snapshot = open_session(server, token_for(tenant, ws_config))
    key = counters_key(ws_config.redis_prefix, tenant["id"], tenant["campaign_id"])
    redis_client.hset(
        key,
        mapping={"dialing": 4, "ringing": 7, "talking": 2, "agents_available": 3, "agents_logged_in": 5},
    )
    event = {"type": "campaign.counters", "campaign_id": tenant["campaign_id"]}

    redis_client.publish(events_channel(ws_config.redis_prefix, tenant["id"]), json.dumps(event))
    update = receive_until(sock, "live.update")

    campaign = campaign_in(update, tenant["campaign_id"])
    assert campaign["dialing"] == 4
    assert campaign["ringing"] == 7
    assert campaign["talking"] == 2
    assert campaign["agents_available"] == 3
    assert campaign["agents_logged_in"] == 5
    sock.close()


def test_ws_update_without_publish(server, ws_config, tenant, redis_client):
    sock, _hello, _snapshot = open_session(server, token_for(tenant, ws_config))
    key = counters_key(ws_config.redis_prefix, tenant["id"], tenant["campaign_id"])

    redis_client.hset(key, "talking", 9)
    update = receive_until(
        sock, "live.update", lambda message: campaign_in(message, tenant["campaign_id"])["talking"] == 9
    )

    assert update["server_time"] > 0
    sock.close()


def test_ws_coalesces_event_bursts(server, ws_config, tenant, redis_client, slow_periodic_updates):
    sock, _hello, _snapshot = open_session(server, token_for(tenant, ws_config))
    channel = events_channel(ws_config.redis_prefix, tenant["id"])

    for index in range(50):
        redis_client.publish(channel, json.dumps({"type": "agent.state", "seq": index}))
    receive_until(sock, "live.update")
    updates = 1 + messages_within(sock, seconds=1.5).count("live.update")

    # Coalescing allows one update per 0.5 s, so at most 4 fit in this
    # 1.5 s window. Without it, 50 events could cause up to 50 updates.
    assert updates <= 4
    sock.close()


def test_ws_heartbeat_arrives(server, ws_config, tenant):
    sock, _hello, _snapshot = open_session(server, token_for(tenant, ws_config))

    heartbeat = receive_until(sock, "ws.heartbeat")

    assert heartbeat["server_time"] > 0
    sock.close()


def test_ws_ping_answered_with_pong(server, ws_config, tenant):
    sock, _hello, _snapshot = open_session(server, token_for(tenant, ws_config))

    sock.send(json.dumps({"type": "ping", "id": 17}))
    pong = receive_until(sock, "pong")

    assert pong["id"] == 17
    sock.close()


def test_ws_unknown_message_keeps_socket(server, ws_config, tenant):
    sock, _hello, _snapshot = open_session(server, token_for(tenant, ws_config))

    sock.send("{not json")
    error = receive_until(sock, "ws.error")
    sock.send(json.dumps({"type": "ping"}))
    pong = receive_until(sock, "pong")

    assert error["code"] == "bad_message"
    assert pong["type"] == "pong"
    sock.close()


def test_ws_closes_when_token_expires(server, ws_config, tenant):
    sock, _hello, _snapshot = open_session(server, token_for(tenant, ws_config, access_token_ttl_s=1))

    error = receive_until(sock, "ws.error")
    code, _reason = receive_close(sock)

    assert error["code"] == "token_expired"
    assert code == 1008


def test_ws_snapshot_has_abandonment(server, ws_config, tenant, conn):
    add_live_answers(conn, tenant, live=20, abandoned=1)

    sock, _hello, snapshot = open_session(server, token_for(tenant, ws_config))

    campaign = campaign_in(snapshot, tenant["campaign_id"])
    assert campaign["abandonment_15m"] == {"live_answers": 20, "abandoned": 1, "rate_pct": 5.0}
    assert campaign["abandonment_30d"]["rate_pct"] == 5.0
    assert campaign["alert"] is True
    sock.close()


def test_ws_tenant_sees_only_own_campaigns(
    server, ws_config, tenant, conn, redis_client, slow_periodic_updates
):
    other = add_tenant(conn)
    prefix = ws_config.redis_prefix
    redis_client.hset(counters_key(prefix, other["id"], other["campaign_id"]), "ringing", 11)
    redis_client.hset(counters_key(prefix, tenant["id"], tenant["campaign_id"]), "ringing", 2)
    own, _hello, own_snapshot = open_session(server, token_for(tenant, ws_config))
    foreign, _other_hello, foreign_snapshot = open_session(server, token_for(other, ws_config))

    redis_client.publish(events_channel(prefix, other["id"]), json.dumps({"type": "campaign.counters"}))
    foreign_update = receive_until(foreign, "live.update")
    own_types_meanwhile = messages_within(own, seconds=1.0)
    redis_client.publish(events_channel(prefix, tenant["id"]), json.dumps({"type": "campaign.counters"}))
    own_update = receive_until(own, "live.update")

    own_ids = {campaign["campaign_id"] for campaign in own_snapshot["campaigns"] + own_update["campaigns"]}
    foreign_ids = {
        campaign["campaign_id"] for campaign in foreign_snapshot["campaigns"] + foreign_update["campaigns"]
    }
    assert "live.update" not in own_types_meanwhile
    assert own_ids == {tenant["campaign_id"]}
    assert foreign_ids == {other["campaign_id"]}
    assert campaign_in(own_update, tenant["campaign_id"])["ringing"] == 2
    assert campaign_in(foreign_update, other["campaign_id"])["ringing"] == 11
    own.close()
    foreign.close()


def test_ws_reports_database_outage(ws_config, tenant):
    missing_database = ws_config.database_url.rpartition("/")[0] + "/dialer_missing_database"
    config = dataclasses.replace(ws_config, database_url=missing_database)

    with serve(config) as url:
        sock = connect(url, token_for(tenant, config))
        hello = receive(sock)
        error = receive(sock)
        heartbeat = receive_until(sock, "ws.heartbeat")
        sock.close()

    assert hello["type"] == "ws.hello"
    assert error["type"] == "ws.error"
    assert error["code"] == "live_unavailable"
    assert error["message"] == "Los datos en vivo no están disponibles ahora. El panel sigue reintentando."
    assert heartbeat["server_time"] > 0
