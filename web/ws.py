"""The dashboard's live WebSocket at ``/ws?token=<access token>`` (flask-sock).

Messages from the server, JSON text frames; ``server_time`` is epoch ms:

- ``ws.error`` ``{code, message}``: the message is translated. After
  ``token_missing``, ``token_invalid`` or ``token_expired`` the server
  closes with 1008 (policy violation); the client refreshes its token.
- ``ws.hello`` ``{user, tenant_id, server_time, heartbeat_s}``, once.
- ``live.snapshot`` ``{campaigns, server_time}``, once after the hello, then
  ``live.update`` with the same shape whenever the tenant's Redis channel
  ``<prefix>events:t:{tenant}`` publishes (at most one every
  ``MIN_UPDATE_GAP_S``) and at least every ``MAX_UPDATE_GAP_S``.
- ``ws.heartbeat`` ``{server_time}`` every ``Config.ws_heartbeat_s``.
- ``pong`` ``{server_time, id}`` in reply to the client's ``{"type": "ping"}``.

Each socket runs in its own thread (gunicorn gthread) with its own pub/sub
subscription, and the server keeps no list of sockets. The reader in
``web.live``, the only shared state, has its own lock.

An open socket occupies one gunicorn thread for its whole life, so each
worker process accepts at most ``Config.ws_max_sockets`` sockets (keep it
well below ``--threads``) and the other threads stay free for HTTP requests
and CDR posts. A socket over the limit gets ``ws.error`` with code
``too_many_sockets`` and close code 1013 (try again later).
"""

from __future__ import annotations

import json
import logging
import threading
import time

import psycopg2
import redis
from flask import Flask, current_app, request
from flask_babel import gettext as _
from flask_sock import Sock
from simple_websocket import ConnectionClosed

from dialer_common.errors import ConfigError
from web.auth.tokens import AuthError, decode_access_token
from web.db import REDIS_KEY
from web.live import LiveReader, events_channel

log = logging.getLogger(__name__)

READER_KEY = "dialer.live_reader"
SLOTS_KEY = "dialer.ws_slots"
MIN_UPDATE_GAP_S = 0.5
MAX_UPDATE_GAP_S = 2.0
# How long one loop turn waits for a client frame before it checks Redis and the clocks.
POLL_S = 0.1
MAX_CLIENT_MESSAGE_BYTES = 4096
# RFC 6455 limits a close frame's reason text to 123 bytes.
MAX_CLOSE_REASON_BYTES = 123
POLICY_VIOLATION = 1008
# RFC 6455 close code "try again later": the server is at its socket limit.
TRY_AGAIN_LATER = 1013


def register(app: Flask) -> None:
    """Add the ``/ws`` route and the live-data reader it shares between sockets."""
    config = app.config["DIALER"]
    if config.ws_max_sockets < 1:
        raise ConfigError(
            f"invalid DIALER_WS_MAX_SOCKETS={config.ws_max_sockets}: expected at least 1,"
            " and well below gunicorn's --threads"
        )
    app.extensions[READER_KEY] = LiveReader(config, app.extensions[REDIS_KEY])
    app.extensions[SLOTS_KEY] = threading.BoundedSemaphore(config.ws_max_sockets)
    app.config.setdefault("SOCK_SERVER_OPTIONS", {"max_message_size": MAX_CLIENT_MESSAGE_BYTES})
    Sock(app).route("/ws")(live_socket)


def live_socket(ws) -> None:
    """Authenticate the socket from ``?token=``, then stream the tenant's live data."""
    try:
        claims = decode_access_token(request.args.get("token", ""))
    except AuthError as error:
        log.info("ws.rejected code=%s remote_addr=%s", error.code, request.remote_addr)
        reject(ws, error.code, str(error.message))
        return

    slots = current_app.extensions[SLOTS_KEY]
    if not slots.acquire(blocking=False):
        limit = current_app.config["DIALER"].ws_max_sockets
        log.warning("ws.rejected code=too_many_sockets limit=%s tenant_id=%s", limit, claims.get("tid"))
        message = _("The server has too many open live connections: try again in a minute.")
        reject(ws, "too_many_sockets", str(message), close_code=TRY_AGAIN_LATER)
        return
    try:
        session = LiveSession(ws, current_app.extensions[READER_KEY], current_app.config["DIALER"], claims)
        session.run()
    finally:
        slots.release()


def reject(ws, code: str, message: str, close_code: int = POLICY_VIOLATION) -> None:
    """Send ``ws.error`` and close with ``close_code`` (default 1008, policy violation)."""
    ws.send(json.dumps({"type": "ws.error", "code": code, "message": message}))
    reason = message.encode()[:MAX_CLOSE_REASON_BYTES].decode(errors="ignore")
    ws.close(reason=close_code, message=reason)


def now_ms() -> int:
    return int(time.time() * 1000)


class LiveSession:
    """One authenticated socket: its pub/sub subscription, timers and sends."""

    def __init__(self, ws, reader: LiveReader, config, claims: dict) -> None:
        self.ws = ws
        self.reader = reader
        self.claims = claims
        self.tenant_id = int(claims["tid"])
        self.heartbeat_s = config.ws_heartbeat_s
        self.channel = events_channel(config.redis_prefix, self.tenant_id)
        self.redis = reader.redis
        self.pubsub = None
        self.dirty = False
        self.last_update = 0.0
        self.last_heartbeat = 0.0
        self.failures = 0

    def run(self) -> None:
        started = time.monotonic()
        log.info("ws.connected tenant_id=%s user_id=%s", self.tenant_id, self.claims["sub"])
        try:
            self.subscribe()
            self.send_hello()
            self.send_campaigns("live.snapshot")
            while self.turn():
                pass
        except ConnectionClosed:
            pass
        finally:
            self.unsubscribe()
            log.info(
                "ws.closed tenant_id=%s user_id=%s duration_s=%.1f",
                self.tenant_id, self.claims["sub"], time.monotonic() - started,
            )

    def turn(self) -> bool:
        """Run one loop turn; return False once the socket must end."""
        text = self.ws.receive(timeout=POLL_S)
        if text is not None:
            self.handle_client_message(text)
        if time.time() >= self.claims["exp"]:
            reject(self.ws, "token_expired", _("The token has expired: log in again."))
            return False

        self.drain_events()
        now = time.monotonic()
        if (self.dirty and now - self.last_update >= MIN_UPDATE_GAP_S) or (
            now - self.last_update >= MAX_UPDATE_GAP_S
        ):
            self.send_campaigns("live.update")
        if now - self.last_heartbeat >= self.heartbeat_s:
            self.send({"type": "ws.heartbeat", "server_time": now_ms()})
            self.last_heartbeat = now
        return True

    def send(self, message: dict) -> None:
        self.ws.send(json.dumps(message, separators=(",", ":")))

    def send_hello(self) -> None:
        user = {key: self.claims.get(key) for key in ("email", "role", "locale")}
        user["id"] = self.claims["sub"]
        self.send({
            "type": "ws.hello",
            "user": user,
            "tenant_id": self.tenant_id,
            "server_time": now_ms(),
            "heartbeat_s": self.heartbeat_s,
        })
        self.last_heartbeat = time.monotonic()

    def send_campaigns(self, message_type: str) -> None:
        # The timer restarts even when the read fails, so a database outage
        # costs one attempt every MAX_UPDATE_GAP_S, not one per loop turn.
        self.last_update = time.monotonic()
        self.dirty = False
        try:
            campaigns = self.reader.snapshot(self.tenant_id)
        except (psycopg2.Error, redis.RedisError) as exc:
            self.report_failure(exc)
            return
        if self.failures:
            log.info("ws.live_recovered tenant_id=%s failures=%s", self.tenant_id, self.failures)
            self.failures = 0
        self.send({"type": message_type, "campaigns": campaigns, "server_time": now_ms()})

    def report_failure(self, exc: Exception) -> None:
        self.failures += 1
        # Log the first failure and then one in 30 (about one a minute).
        if self.failures % 30 == 1:
            log.warning(
                "ws.live_failed tenant_id=%s failures=%s error=%s", self.tenant_id, self.failures, exc
            )
        if self.failures == 1:
            message = _("Live data is unavailable right now. The dashboard keeps retrying.")
            self.send({"type": "ws.error", "code": "live_unavailable", "message": message})

    def handle_client_message(self, text) -> None:
        try:
            message = json.loads(text)
        except (TypeError, ValueError):
            message = None
        if not isinstance(message, dict) or message.get("type") != "ping":
            error = _('Unknown message: the server only accepts {"type": "ping"}.')
            self.send({"type": "ws.error", "code": "bad_message", "message": error})
            return
        self.send({"type": "pong", "server_time": now_ms(), "id": message.get("id")})

    def subscribe(self) -> None:
        try:
            self.pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            self.pubsub.subscribe(self.channel)
        except redis.RedisError as exc:
            log.warning("ws.subscribe_failed tenant_id=%s error=%s", self.tenant_id, exc)
            self.unsubscribe()

    def unsubscribe(self) -> None:
        if self.pubsub is not None:
            try:
                self.pubsub.close()
            except redis.RedisError as exc:
                log.debug("ws.unsubscribe_failed tenant_id=%s error=%s", self.tenant_id, exc)
            self.pubsub = None

    def drain_events(self) -> None:
        """Mark the campaigns dirty if the tenant's channel published since the last turn."""
        if self.pubsub is None:
            # A lost subscription is retried at most once per periodic update.
            if time.monotonic() - self.last_update >= MAX_UPDATE_GAP_S:
                self.subscribe()
            return
        try:
            while self.pubsub.get_message(timeout=0.0) is not None:
                self.dirty = True
        except redis.RedisError as exc:
            log.warning("ws.events_failed tenant_id=%s error=%s", self.tenant_id, exc)
            self.unsubscribe()
