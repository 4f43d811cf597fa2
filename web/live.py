"""Live campaign figures for the dashboard and the /ws socket.

Counters come from the Redis hash ``<prefix>live:t:{tenant}:c:{campaign}``
on every read. Campaign names, statuses and abandonment rates come from
PostgreSQL and are cached per tenant for ``CACHE_TTL_S`` seconds, so many
open sockets cost one set of queries per tenant every few seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import psycopg2
import redis

from dialer_common import db
from dialer_common.config import Config
from web.reports import abandonment

log = logging.getLogger(__name__)

CACHE_TTL_S = 5.0
COUNTER_FIELDS = ("dialing", "ringing", "talking", "agents_available", "agents_logged_in")
# Abandonment windows shown on the dashboard: key in the snapshot -> seconds.
ABANDONMENT_WINDOWS = {"abandonment_15m": 15 * 60, "abandonment_30d": 30 * 86400}
# Above this rate (in either window) the dashboard raises its alert bar; the
# FTC telemarketing rule caps abandonment at 3 % of live answers per campaign
# over 30 days.
ABANDONMENT_ALERT_PCT = 3.0


def counters_key(prefix: str, tenant_id: int, campaign_id: int) -> str:
    return f"{prefix}live:t:{tenant_id}:c:{campaign_id}"


def events_channel(prefix: str, tenant_id: int) -> str:
    return f"{prefix}events:t:{tenant_id}"


@dataclass
class _TenantCache:
    loaded_at: float
    # One dict per campaign: campaign_id, name, status and both abandonment windows.
    campaigns: list[dict]


class LiveReader:
    """Build per-tenant snapshots of every campaign's live figures.

    Thread-safe: gunicorn's gthread workers call ``snapshot`` from one thread
    per open socket. Database reads go through one connection of the reader's
    own, under a lock, so open sockets never hold pooled request connections.
    """

    def __init__(self, config: Config, redis_client: redis.Redis) -> None:
        self._config = config
        self.redis = redis_client
        self._lock = threading.Lock()
        self._conn = None
        self._cache: dict[int, _TenantCache] = {}

    def snapshot(self, tenant_id: int) -> list[dict]:
        """Return the tenant's campaigns with live counters and abandonment rates."""
        campaigns = self._tenant_campaigns(tenant_id)
        counters = self._read_counters(tenant_id, [campaign["campaign_id"] for campaign in campaigns])
        merged = [{**campaign, **counters[campaign["campaign_id"]]} for campaign in campaigns]
        for campaign in merged:
            campaign["alert"] = over_alert_threshold(campaign)
        return merged

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _tenant_campaigns(self, tenant_id: int) -> list[dict]:
        with self._lock:
            cached = self._cache.get(tenant_id)
            if cached is None or time.monotonic() - cached.loaded_at >= CACHE_TTL_S:
                cached = _TenantCache(time.monotonic(), self._load_campaigns(tenant_id))
                self._cache[tenant_id] = cached
            return cached.campaigns

    def _load_campaigns(self, tenant_id: int) -> list[dict]:
        # Called with self._lock held. One retry covers a connection that
        # PostgreSQL closed since the last refresh (restart, idle timeout).
        try:
            return _query_campaigns(self._connection(), tenant_id)
        except psycopg2.OperationalError as exc:
            log.warning("live.db_failed tenant_id=%s retrying=true error=%s", tenant_id, exc)
            self._drop_connection()
        return _query_campaigns(self._connection(), tenant_id)

    def _connection(self):
        if self._conn is None or self._conn.closed:
            self._conn = db.connect(self._config.database_url, connect_timeout=3)
            self._conn.autocommit = True
        return self._conn

    def _drop_connection(self) -> None:
        if self._conn is not None and not self._conn.closed:
            self._conn.close()
        self._conn = None

    def _read_counters(self, tenant_id: int, campaign_ids: list[int]) -> dict[int, dict]:
        prefix = self._config.redis_prefix
        pipeline = self.redis.pipeline(transaction=False)
        for campaign_id in campaign_ids:
            pipeline.hgetall(counters_key(prefix, tenant_id, campaign_id))
        rows = pipeline.execute()
        return {campaign_id: _parse_counters(row) for campaign_id, row in zip(campaign_ids, rows)}


def _query_campaigns(conn, tenant_id: int) -> list[dict]:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT id, name, status FROM campaigns WHERE tenant_id = %s ORDER BY name, id",
            (tenant_id,),
        )
        rows = cur.fetchall()
    windows = {
        key: {row["campaign_id"]: row for row in abandonment(conn, tenant_id, window_s)}
        for key, window_s in ABANDONMENT_WINDOWS.items()
    }
    return [
        {
            "campaign_id": row["id"],
            "name": row["name"],
            "status": row["status"],
            **{key: _abandonment_figures(by_campaign.get(row["id"])) for key, by_campaign in windows.items()},
        }
        for row in rows
    ]


def _abandonment_figures(report_row: dict | None) -> dict:
    if report_row is None:
        return {"live_answers": 0, "abandoned": 0, "rate_pct": None}
    rate = report_row["rate_pct"]
    return {
        "live_answers": int(report_row["live_answers"]),
        "abandoned": int(report_row["abandoned"]),
        "rate_pct": None if rate is None else round(float(rate), 2),
    }


def _parse_counters(row: dict) -> dict:
    counters = {}
    for name in COUNTER_FIELDS:
        value = row.get(name, "0")
        try:
            counters[name] = max(int(value), 0)
        except ValueError:
            log.warning("live.bad_counter field=%s value=%r", name, value)
            counters[name] = 0
    updated_ms = row.get("updated_ms")
    counters["updated_ms"] = int(updated_ms) if updated_ms and updated_ms.isdigit() else None
    return counters


def over_alert_threshold(campaign: dict) -> bool:
    """Return whether either abandonment window of ``campaign`` passes the alert rate."""
    rates = [campaign[key]["rate_pct"] for key in ABANDONMENT_WINDOWS]
    return any(rate is not None and rate > ABANDONMENT_ALERT_PCT for rate in rates)
