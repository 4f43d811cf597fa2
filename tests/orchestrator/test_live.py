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
