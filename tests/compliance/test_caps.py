"""Frequency caps in Redis: sliding windows, retry delays and racing processes."""

from __future__ import annotations

import datetime as dt
import multiprocessing

import redis

from dialer_common.compliance.caps import CapRequest, RedisFrequencyCaps
from dialer_common.compliance.gate import CampaignRules, ComplianceGate, LeadInfo

UTC = dt.UTC
NOON = dt.datetime(2026, 6, 3, 16, 0, tzinfo=UTC)  # 12:00 in Miami, a Wednesday


class NoDnc:
    def find(self, tenant_id, phone):
        return []


def florida_cap(limit=3):
    return CapRequest("number", "+13055550123", limit, 86400, "us-fl:cap_number")


def test_sliding_window_frees_after_24_hours(caps):
    for hour in range(3):
        assert caps.reserve(1, 10, [florida_cap()], NOON + dt.timedelta(hours=hour)).ok

    refused = caps.reserve(1, 10, [florida_cap()], NOON + dt.timedelta(hours=23))
    assert not refused.ok
    assert refused.blocked_by.rule == "us-fl:cap_number"
    assert refused.retry_at == NOON + dt.timedelta(hours=24, milliseconds=1)
    assert caps.reserve(1, 10, [florida_cap()], NOON + dt.timedelta(hours=24, seconds=1)).ok


def test_refused_reservation_counts_nothing(caps):
    lead_cap = CapRequest("c1:lead", "10", 1, 0, "campaign:max_attempts")
    assert caps.reserve(1, 10, [lead_cap], NOON).ok
    refused = caps.reserve(1, 10, [florida_cap(), lead_cap], NOON)
    assert not refused.ok
    assert refused.retry_at is None
    assert caps.count(1, florida_cap(), NOON) == 0


def test_release_gives_slot_back(caps):
    reservation = caps.reserve(1, 10, [florida_cap(limit=1)], NOON)
    assert not caps.reserve(1, 11, [florida_cap(limit=1)], NOON).ok
    caps.release(reservation)
    assert caps.reserve(1, 11, [florida_cap(limit=1)], NOON).ok


def test_retry_delay_blocks_until_expiry(caps):
    caps.set_retry_delay(1, 10, 600)
    refused = caps.reserve(1, 10, [florida_cap()], NOON)
    assert refused.retry_delay
    assert NOON + dt.timedelta(seconds=590) < refused.retry_at <= NOON + dt.timedelta(seconds=600)
    assert caps.reserve(1, 11, [florida_cap()], NOON).ok


def test_tenants_do_not_share_caps(caps):
    assert caps.reserve(1, 10, [florida_cap(limit=1)], NOON).ok
    assert caps.reserve(2, 10, [florida_cap(limit=1)], NOON).ok


def test_gate_applies_florida_cap(caps, packs):
    gate = ComplianceGate(packs, caps, NoDnc())
    campaign = CampaignRules(1, 5, pack_ids=("us-federal", "us-fl"), max_attempts=10)
    lead = LeadInfo(10, "+13055550123", postal_code="33101")
    verdicts = [gate.check(lead, campaign, NOON + dt.timedelta(minutes=m)) for m in range(4)]
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert verdicts[3].rule == "us-fl:cap_number"
    # Another campaign of the same tenant shares Florida's count for the number.
    other = CampaignRules(1, 6, pack_ids=("us-federal", "us-fl"), max_attempts=10)
    assert gate.check(LeadInfo(11, "+13055550123"), other, NOON).rule == "us-fl:cap_number"


def test_gate_applies_debt_cap_across_numbers(caps, packs):
    gate = ComplianceGate(packs, caps, NoDnc())
    campaign = CampaignRules(
        1, 5, purpose="collections", pack_ids=("us-federal", "us-debt-collection"), max_attempts=20
    )
    allowed = []
    for day in range(8):
        phone = f"+1212555{day:04d}"
        lead = LeadInfo(100 + day, phone, postal_code="10001", debt_key="loan-77")
        allowed.append(gate.check(lead, campaign, NOON + dt.timedelta(minutes=day * 30)).allowed)
    assert allowed == [True] * 7 + [False]


def test_gate_applies_max_attempts(caps, packs):
    gate = ComplianceGate(packs, caps, NoDnc())
    campaign = CampaignRules(1, 5, pack_ids=("us-federal",), max_attempts=2)
    lead = LeadInfo(10, "+12125550123")
    results = [gate.check(lead, campaign, NOON + dt.timedelta(days=d)) for d in range(3)]
    assert [v.allowed for v in results] == [True, True, False]
    assert results[2].rule == "campaign:max_attempts"


def _race(redis_url: str, prefix: str, start, results, worker: int) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    caps = RedisFrequencyCaps(client, prefix)
    start.wait(timeout=10)
    won = 0
    for attempt in range(10):
        if caps.reserve(1, 1000 + worker, [florida_cap(limit=3)], NOON + dt.timedelta(seconds=attempt)).ok:
            won += 1
    results.put(won)
    client.close()


def test_racing_processes_get_exactly_the_cap(config, redis_client):
    workers = 6
    context = multiprocessing.get_context("fork")
    start = context.Event()
    results = context.Queue()
    processes = [
        context.Process(target=_race, args=(config.redis_url, config.redis_prefix, start, results, n))
        for n in range(workers)
    ]
    for process in processes:
        process.start()
    start.set()
    wins = [results.get(timeout=30) for _ in processes]
    for process in processes:
        process.join(timeout=10)

    assert sum(wins) == 3
    key = f"{config.redis_prefix}cap:t:1:number:+13055550123:86400"
    assert redis_client.zcard(key) == 3
