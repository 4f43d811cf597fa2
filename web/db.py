"""Per-request PostgreSQL connections and the Redis client of each app.

``init_app`` attaches a bounded connection pool sized for gunicorn's
threads; ``get_conn()`` lends one connection to the current request (kept in
``g``) and the teardown hook rolls back anything left open and returns it.
"""

from __future__ import annotations

import logging
import threading

import psycopg2
import psycopg2.extras
import redis
from flask import Flask, current_app, g

from dialer_common.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

POOL_KEY = "dialer.db_pool"


def init_app(app: Flask, max_connections: int = 32) -> None:
    """Attach a lazily opened connection pool and the teardown hook to ``app``."""
    app.extensions[POOL_KEY] = _LazyPool(app.config["DIALER"].database_url, max_connections)
    app.teardown_appcontext(_return_conn)


def get_conn():
    """Return this request's connection (dict rows), borrowing one on first use.

    Raises DatabaseUnavailable when PostgreSQL cannot be reached.
    """
    if "db_conn" not in g:
        g.db_conn = current_app.extensions[POOL_KEY].getconn()
    return g.db_conn


def close_pool(app: Flask) -> None:
    """Close every pooled connection of ``app`` (tests and benchmarks)."""
    app.extensions[POOL_KEY].closeall()


def _return_conn(_exc: BaseException | None) -> None:
    conn = g.pop("db_conn", None)
    if conn is None:
        return
    pool = current_app.extensions[POOL_KEY]
    broken = conn.closed != 0
    if not broken:
        try:
            conn.rollback()
        except psycopg2.Error:
            log.warning("db.rollback_failed closing=true")
            broken = True
    pool.putconn(conn, close=broken)


class _LazyPool:
    """A bounded pool that opens connections on demand and keeps them idle for reuse.

    Opening lazily lets the app start (and return 503 from /health) while
    PostgreSQL is down, and lets each gunicorn worker open its own sockets
    after the fork. psycopg2's own pools close every connection above
    ``minconn`` when it is returned, which costs a new connection (and a
    SCRAM handshake) per request, so this pool keeps them instead.
    """

    def __init__(self, dsn: str, max_connections: int, wait_s: float = 5.0) -> None:
        self._dsn = dsn
        self._max = max_connections
        self._wait_s = wait_s
        self._idle: list = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_connections)

    def getconn(self):
        if not self._slots.acquire(timeout=self._wait_s):
            raise DatabaseUnavailable(f"all {self._max} pooled connections stayed busy for {self._wait_s} s")
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is not None:
            return conn
        try:
            return psycopg2.connect(self._dsn, cursor_factory=psycopg2.extras.RealDictCursor, connect_timeout=3)
        except psycopg2.OperationalError as exc:
            self._slots.release()
            raise DatabaseUnavailable(str(exc).strip()) from exc

    def putconn(self, conn, close: bool = False) -> None:
        if close or conn.closed:
            conn.close()
        else:
            with self._lock:
                self._idle.append(conn)
        self._slots.release()

    def closeall(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


REDIS_KEY = "dialer.redis"


def init_redis(app: Flask) -> None:
    """Attach one Redis client (its own connection pool) to ``app``."""
    config = app.config["DIALER"]
    app.extensions[REDIS_KEY] = redis.Redis.from_url(
        config.redis_url, decode_responses=True, socket_timeout=2, socket_connect_timeout=2
    )


def get_redis() -> redis.Redis:
    """Return the current app's Redis client."""
    return current_app.extensions[REDIS_KEY]
