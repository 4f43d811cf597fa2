"""Prometheus metrics at ``GET /api/metrics``.

Request counts, request latency and CDR ingest counters are counters and
histograms of prometheus-client. Gauges for live calls and agents (from the
Redis ``live:t:{tenant}:c:{campaign}`` hashes) and for abandonment and ASR
(from PostgreSQL) are computed at scrape time, so they are the same in every
worker.

gunicorn runs several worker processes. When ``PROMETHEUS_MULTIPROC_DIR``
names a folder (``scripts/demo.sh`` sets ``var/prometheus`` and empties it at
start), prometheus-client keeps each worker's counters and histograms in
files there and a scrape sums them over every worker, so the totals do not
depend on which worker serves the scrape. The variable must be set before the process
imports prometheus-client. Without it each worker exports only its own share.
"""

from __future__ import annotations

import logging
import re
import time

import psycopg2
import redis
from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily

from dialer_common.cdr.metrics import counter_registry
from web.db import DatabaseUnavailable, get_conn, get_redis

log = logging.getLogger(__name__)

bp = Blueprint("metrics", __name__)

HTTP_REQUESTS = Counter(
    "dialer_http_requests", "HTTP requests answered by this worker", ["method", "endpoint", "status"]
)
HTTP_LATENCY = Histogram(
    "dialer_http_request_duration_seconds",
    "Time to answer an HTTP request in this worker",
    ["method", "endpoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)

LIVE_FIELDS = {
    "dialing": ("dialer_calls_dialing", "Calls originated and not yet ringing"),
    "ringing": ("dialer_calls_ringing", "Calls ringing at the far end"),
    "talking": ("dialer_calls_talking", "Calls answered and in progress"),
    "agents_available": ("dialer_agents_available", "Agents in status Available and state Waiting"),
}

ABANDONMENT_WINDOWS = {"15m": 900, "30d": 30 * 86400}
ASR_WINDOW = ("1h", 3600)

WEIGHTED_ABANDONMENT_SQL = """
SELECT tenant_id, campaign_id,
       count(*) FILTER (WHERE live) AS live_answers,
       count(*) FILTER (WHERE live AND abandoned) AS abandoned
  FROM cdr
 WHERE leg = 'a' AND campaign_id IS NOT NULL
   AND started_at >= now() - make_interval(secs => %s)
 GROUP BY tenant_id, campaign_id
"""

ASR_SQL = """
SELECT tenant_id, trunk, count(*) AS attempts, count(*) FILTER (WHERE answered) AS answered
  FROM cdr
 WHERE leg = 'a' AND trunk IS NOT NULL
   AND started_at >= now() - make_interval(secs => %s)
 GROUP BY tenant_id, trunk
"""


def _endpoint_label() -> str:
    # The URL rule, not the path, keeps the label count bounded.
    return request.url_rule.rule if request.url_rule is not None else "unmatched"


def _start_timer() -> None:
    g.request_started = time.perf_counter()


def _observe(response: Response) -> Response:
    started = g.pop("request_started", None)
    endpoint = _endpoint_label()
    HTTP_REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
    if started is not None:
        HTTP_LATENCY.labels(request.method, endpoint).observe(time.perf_counter() - started)
    return response


def init_app(app: Flask) -> None:
    """Count and time every request of ``app``."""
    app.before_request(_start_timer)
    app.after_request(_observe)


def live_gauges(client: redis.Redis, prefix: str) -> list[GaugeMetricFamily]:
    """Read every campaign's live-counter hash under ``prefix`` into gauges by tenant and campaign."""
    families = {
        field: GaugeMetricFamily(name, text, labels=["tenant", "campaign"])
        for field, (name, text) in LIVE_FIELDS.items()
    }
    # The scan pattern also matches the orchestrators' ``:owners`` sorted sets
    # and ``:o:{owner}`` contribution hashes (see dialer_common.live). Only the
    # keys that end in the campaign id are the summed campaign hashes.
    campaign_key = re.compile(rf"{re.escape(prefix)}live:t:(\d+):c:(\d+)")
    matches = []
    for key in client.scan_iter(match=f"{prefix}live:t:*:c:*", count=500):
        match = campaign_key.fullmatch(key)
        if match is not None:
            matches.append(match)
    pipe = client.pipeline(transaction=False)
    for match in matches:
        pipe.hgetall(match.group(0))
    for match, values in zip(matches, pipe.execute(), strict=True):
        tenant, campaign = match.groups()
        for field, family in families.items():
            if field in values:
                family.add_metric([tenant, campaign], float(values[field]))
    return list(families.values())


def database_gauges(conn) -> list[GaugeMetricFamily]:
    """Compute abandonment (per campaign, 15m and 30d) and ASR (per trunk) gauges."""
    abandonment = GaugeMetricFamily(
        "dialer_abandonment_weighted_pct",
        "Abandoned live answers / live answers in percent, over all A legs of the window",
        labels=["tenant", "campaign", "window"],
    )
    asr = GaugeMetricFamily(
        "dialer_asr_by_trunk",
        f"Answer-seizure ratio (answered A legs / A legs, 0-1) per trunk over {ASR_WINDOW[0]}",
        labels=["tenant", "trunk"],
    )
    with conn.cursor() as cur:
        for label, seconds in ABANDONMENT_WINDOWS.items():
            cur.execute(WEIGHTED_ABANDONMENT_SQL, (seconds,))
            for row in cur.fetchall():
                if row["live_answers"]:
                    value = 100.0 * row["abandoned"] / row["live_answers"]
                    abandonment.add_metric([str(row["tenant_id"]), str(row["campaign_id"]), label], value)
        cur.execute(ASR_SQL, (ASR_WINDOW[1],))
        for row in cur.fetchall():
            asr.add_metric([str(row["tenant_id"]), row["trunk"]], row["answered"] / row["attempts"])
    conn.rollback()
    return [abandonment, asr]


class _ScrapeCollector:
    def __init__(self, families: list[GaugeMetricFamily]) -> None:
        self._families = families

    def collect(self):
        return iter(self._families)


@bp.get("/api/metrics")
def scrape() -> Response:
    # NOTE: no authentication, like most Prometheus targets; the numbers
    # carry tenant ids but no names or phone numbers. Bind the web tier to a
    # private address or put it behind a proxy that restricts this path.
    families: list[GaugeMetricFamily] = []
    try:
        families += live_gauges(get_redis(), current_app.config["DIALER"].redis_prefix)
    except redis.RedisError as exc:
        log.warning("metrics.redis_failed error=%s", exc)
    try:
        families += database_gauges(get_conn())
    except (DatabaseUnavailable, psycopg2.Error) as exc:
        log.warning("metrics.database_failed error=%s", str(exc).strip().splitlines()[0])

    scrape_registry = CollectorRegistry()
    scrape_registry.register(_ScrapeCollector(families))
    body = generate_latest(_counter_registry()) + generate_latest(scrape_registry)
    return Response(body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def _counter_registry() -> CollectorRegistry:
    """Return the registry of counters and histograms: summed over workers in multiprocess mode."""
    return counter_registry(current_app.config["DIALER"].prometheus_multiproc_dir)
