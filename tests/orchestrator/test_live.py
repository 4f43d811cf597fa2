import json

from dialer_common.live import CampaignCounters, LiveCounters, events_channel, live_key


def test_write_counters_hash_and_message(config, redis_client):
    live = LiveCounters(redis_client, config.redis_prefix)
    pubsub = redis_client.pubsub()
    pubsub.subscribe(events_channel(config.redis_prefix, 5))
    pubsub.get_message(timeout=1.0)

    live.write(5, 9, CampaignCounters(dialing=2, ringing=1, talking=3, agents_available=1, agents_logged_in=4),
               now_ms=1234)

    assert live.read(5, 9) == {
        "dialing": 2, "ringing": 1, "talking": 3, "agents_available": 1, "agents_logged_in": 4, "updated_ms": 1234,
    }
    assert redis_client.ttl(live_key(config.redis_prefix, 5, 9)) > 0
    message = pubsub.get_message(timeout=1.0)
    pubsub.close()
    assert message is not None
    payload = json.loads(message["data"])
    assert payload["type"] == "campaign.counters"
    assert payload["campaign_id"] == 9
    assert payload["talking"] == 3


def test_keys_use_prefix():
    assert live_key("dialer:", 1, 2) == "dialer:live:t:1:c:2"
    assert events_channel("dialer:", 1) == "dialer:events:t:1"


def test_contributions_summed_per_campaign_and_tenant(config, redis_client):
    live = LiveCounters(redis_client, config.redis_prefix)

    live.contribute(5, 9, "orch-a", CampaignCounters(dialing=2, talking=1, agents_available=1), now_ms=1000)
    live.contribute(5, 9, "orch-b", CampaignCounters(dialing=1, ringing=4), now_ms=1100)
    live.contribute(5, 10, "orch-b", CampaignCounters(talking=3, agents_logged_in=2), now_ms=1200)

    campaign = live.read(5, 9)
    assert (campaign["dialing"], campaign["ringing"], campaign["talking"]) == (3, 4, 1)
    assert campaign["updated_ms"] == 1100
    tenant = live.read_tenant(5)
    assert (tenant["dialing"], tenant["ringing"], tenant["talking"]) == (3, 4, 4)
    assert tenant["agents_logged_in"] == 2
    assert tenant["campaigns"] == 2


def test_rewrite_replaces_own_contribution(config, redis_client):
    live = LiveCounters(redis_client, config.redis_prefix)

    live.contribute(5, 9, "orch-a", CampaignCounters(dialing=5), now_ms=1000)
    sums = live.contribute(5, 9, "orch-a", CampaignCounters(dialing=2), now_ms=1100)

    assert sums["dialing"] == 2


def test_dead_contribution_expires_and_withdraw(config, redis_client):
    live = LiveCounters(redis_client, config.redis_prefix)
    live.contribute(5, 9, "orch-a", CampaignCounters(talking=4), now_ms=1000, ttl_ms=500)
    live.contribute(5, 9, "orch-b", CampaignCounters(talking=1), now_ms=1000, ttl_ms=5000)

    # orch-a stopped writing; 600 ms later its contribution no longer counts.
    sums = live.contribute(5, 9, "orch-b", CampaignCounters(talking=2), now_ms=1600, ttl_ms=5000)
    assert sums["talking"] == 2

    assert live.withdraw(5, 9, "orch-b", now_ms=1700)["talking"] == 0
    assert live.read(5, 9)["talking"] == 0
    assert live.read_tenant(5)["talking"] == 0


def _contribute_many(redis_url: str, prefix: str, owner: str, rounds: int) -> None:
    import redis as redis_module

    client = redis_module.Redis.from_url(redis_url)
    live = LiveCounters(client, prefix)
    for value in range(1, rounds + 1):
        live.contribute(5, 9, owner, CampaignCounters(dialing=value, talking=1), ttl_ms=60_000)
        live.contribute(5, 11, owner, CampaignCounters(ringing=value), ttl_ms=60_000)
    client.close()


def test_concurrent_processes_never_lose_contributions(config, redis_client):
    import multiprocessing

    rounds = 200
    owners = [f"orch-{index}" for index in range(4)]
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_contribute_many, args=(config.redis_url, config.redis_prefix, owner, rounds))
        for owner in owners
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0

    live = LiveCounters(redis_client, config.redis_prefix)
    campaign = live.read(5, 9)
    assert campaign["dialing"] == rounds * len(owners)
    assert campaign["talking"] == len(owners)
    assert live.read(5, 11)["ringing"] == rounds * len(owners)
    tenant = live.read_tenant(5)
    assert tenant["dialing"] == rounds * len(owners)
    assert tenant["ringing"] == rounds * len(owners)
