"""The live reader behind /ws: Redis counters, cached PostgreSQL figures."""

from __future__ import annotations

import pytest

from dialer_common import db
from web import live
from web.live import LiveReader, counters_key


@pytest.fixture
def reader(config, redis_client):
    live_reader = LiveReader(config, redis_client)
    yield live_reader
    live_reader.close()


def rename_campaign(conn, campaign_id: int, name: str) -> None:
    with db.transaction(conn) as cur:
        cur.execute("UPDATE campaigns SET name = %s WHERE id = %s", (name, campaign_id))


def test_reader_malformed_counters_read_zero(reader, config, tenant, redis_client):
    key = counters_key(config.redis_prefix, tenant["id"], tenant["campaign_id"])
    redis_client.hset(key, mapping={"dialing": "lots", "ringing": "-3", "talking": "6", "updated_ms": "x"})

    (campaign,) = reader.snapshot(tenant["id"])

    assert campaign["dialing"] == 0
    assert campaign["ringing"] == 0
    assert campaign["talking"] == 6
    assert campaign["agents_available"] == 0
    assert campaign["updated_ms"] is None


def test_reader_caches_database_figures(reader, tenant, conn):
    first = reader.snapshot(tenant["id"])
    rename_campaign(conn, tenant["campaign_id"], "Cobranza Enero")

    cached = reader.snapshot(tenant["id"])

    assert first[0]["name"] == "Cobranza Diciembre"
    assert cached[0]["name"] == "Cobranza Diciembre"


def test_reader_reloads_after_ttl(reader, tenant, conn, monkeypatch):
    reader.snapshot(tenant["id"])
    rename_campaign(conn, tenant["campaign_id"], "Cobranza Enero")
    monkeypatch.setattr(live, "CACHE_TTL_S", 0.0)

    reloaded = reader.snapshot(tenant["id"])

    assert reloaded[0]["name"] == "Cobranza Enero"


def test_reader_unknown_tenant_empty(reader, tenant):
    assert reader.snapshot(tenant["id"] + 10_000) == []


def test_alert_threshold_either_window():
    below = {"live_answers": 100, "abandoned": 3, "rate_pct": 3.0}
    above = {"live_answers": 100, "abandoned": 4, "rate_pct": 4.0}
    empty = {"live_answers": 0, "abandoned": 0, "rate_pct": None}

    assert live.over_alert_threshold({"abandonment_15m": above, "abandonment_30d": below}) is True
    assert live.over_alert_threshold({"abandonment_15m": below, "abandonment_30d": above}) is True
    assert live.over_alert_threshold({"abandonment_15m": below, "abandonment_30d": below}) is False
    assert live.over_alert_threshold({"abandonment_15m": empty, "abandonment_30d": empty}) is False
