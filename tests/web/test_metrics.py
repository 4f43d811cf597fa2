"""/api/metrics: alert rules against the exported names, live gauges, counters over workers."""

from __future__ import annotations

import base64
import dataclasses
import re
import time
import urllib.request
import uuid

import yaml
from prometheus_client.parser import text_string_to_metric_families

from dialer_common.live import CampaignCounters, LiveCounters
from tests.conftest import ROOT, free_port
from tests.web.conftest import gunicorn_env, gunicorn_server
from tests.web.test_api import _store
from web import create_app
from web.cdr.views import get_committer

ALERTS = ROOT / "ops" / "prometheus" / "alerts_dialer.yml"
CDR_AUTH = "Basic " + base64.b64encode(b"cdr:cdr-secret").decode()
# Series that Prometheus itself adds to every target; /api/metrics does not export them.
PROMETHEUS_SERIES = {"up"}
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless"}
IDENTIFIER = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def _scrape_families(client) -> dict[str, set[str]]:
    """Return each exported family name with the label names its samples carry."""
    response = client.get("/api/metrics")
    assert response.status_code == 200
    families: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        labels = families.setdefault(family.name, set())
        for sample in family.samples:
            labels.update(sample.labels)
            # Alerts name the samples: a counter's family foo exports foo_total.
            families.setdefault(sample.name, set()).update(sample.labels)
    return families


def _expression_parts(expression: str) -> tuple[set[str], set[str]]:
    """Split a PromQL expression into metric names and the label names it groups or filters by."""
    # Strings and range selectors ([5m]) hold no metric names.
    without_strings = re.sub(r'"[^"]*"|\[[^\]]*\]', '""', expression)
    labels = set()
    for group in re.findall(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)", without_strings):
        labels.update(name.strip() for name in group.split(",") if name.strip())
    for selector in re.findall(r"\{([^}]*)\}", without_strings):
        labels.update(re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", selector))
    bare = re.sub(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)|\{[^}]*\}", " ", without_strings)
    names = set()
    for match in IDENTIFIER.finditer(bare):
        following = bare[match.end():].lstrip()[:1]
        word = match.group(0)
        if following != "(" and word not in PROMQL_WORDS:
            names.add(word)
    return names, labels


def test_alert_rules_use_exported_metrics(client, conn, tenant, redis_client, config):
    key = f"{config.redis_prefix}live:t:{tenant['id']}:c:{tenant['campaign_id']}"
    redis_client.hset(key, mapping={"dialing": 1, "ringing": 0, "talking": 0, "agents_available": 1})
    _store(conn, tenant["id"], tenant["campaign_id"], 1, dialer_live="true", dialer_abandoned="true",
           dialer_trunk_id="carrier-a")
    # One CDR gets a 503, so the rejection counter has a sample with its reason label.
    down = dataclasses.replace(config, database_url=f"postgresql://dialer:dialer@127.0.0.1:{free_port()}/x")
    down_app = create_app(down, {"TESTING": True})
    down_app.test_client().post("/api/cdr", data=b'{"variables":{"uuid":"%s","dialer_tenant_id":"%d",'
                                b'"start_uepoch":"%d"}}' % (str(uuid.uuid4()).encode(), tenant["id"],
                                                            int(time.time() * 1e6)),
                                content_type="application/json", headers={"Authorization": CDR_AUTH})
    get_committer(down_app).close()
    exported = _scrape_families(client)
    rules = [rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]]

    checked = 0
    for rule in rules:
        names, labels = _expression_parts(rule["expr"])
        for name in names - PROMETHEUS_SERIES:
            assert name in exported, f"alert {rule['alert']} queries {name}, not exported by /api/metrics"
            missing = labels - exported[name]
            assert not missing, f"alert {rule['alert']} uses labels {sorted(missing)} that {name} lacks"
            checked += 1
    assert checked >= 3


def test_live_gauges_skip_orchestrator_keys(client, tenant, redis_client, config):
    counters = LiveCounters(redis_client, config.redis_prefix)
    counters.contribute(tenant["id"], tenant["campaign_id"], "orch-a",
                        CampaignCounters(dialing=2, ringing=1, talking=4, agents_available=3))
    owners = f"{config.redis_prefix}live:t:{tenant['id']}:c:{tenant['campaign_id']}:owners"
    assert redis_client.type(owners) == "zset"

    response = client.get("/api/metrics")

    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            if sample.name.startswith(("dialer_calls_", "dialer_agents_")):
                samples[(sample.name, sample.labels["tenant"], sample.labels["campaign"])] = sample.value
    campaign = (str(tenant["id"]), str(tenant["campaign_id"]))
    assert samples[("dialer_calls_dialing", *campaign)] == 2
    assert samples[("dialer_calls_ringing", *campaign)] == 1
    assert samples[("dialer_calls_talking", *campaign)] == 4
    assert samples[("dialer_agents_available", *campaign)] == 3
    assert all(label_campaign.isdigit() for _name, _tenant, label_campaign in samples)


def _health_count(base_url: str) -> float:
    with urllib.request.urlopen(f"{base_url}/api/metrics", timeout=5) as response:
        text = response.read().decode()
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "dialer_http_requests_total" and sample.labels.get("endpoint") == "/health":
                total += sample.value
    return total


def test_counters_summed_over_workers(config, tmp_path):
    env = gunicorn_env(config, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    with gunicorn_server(env, workers=2, threads=2) as base_url:
        before = _health_count(base_url)
        for _ in range(20):
            with urllib.request.urlopen(f"{base_url}/health", timeout=5) as response:
                assert response.status == 200
        # Each scrape reaches either worker; every one must see all 20 requests.
        counts = {_health_count(base_url) for _ in range(8)}

    assert counts == {before + 20}
