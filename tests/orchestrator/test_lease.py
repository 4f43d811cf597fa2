"""Campaign leases on the session's Redis: take, renew, expire, take over."""

import time

import pytest
import redis

from orchestrator.lease import LeaseManager, lease_key


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def manager_pair(config, redis_client):
    clock = FakeClock()
    first = LeaseManager(redis_client, config.redis_prefix, "orch-a", ttl_ms=300, safety_ms=100, clock=clock)
    second = LeaseManager(redis_client, config.redis_prefix, "orch-b", ttl_ms=300, safety_ms=100, clock=clock)
    return first, second, clock


def test_lease_taken_by_one_holder(manager_pair):
    first, second, _ = manager_pair

    assert first.acquire(7)
    assert not second.acquire(7)
    assert first.holds(7)
    assert not second.holds(7)
    assert first.holder(7) == "orch-a"


def test_renew_keeps_lease_past_ttl(manager_pair):
    first, second, _ = manager_pair
    first.acquire(7)

    for _ in range(4):
        time.sleep(0.15)
        assert first.renew(7)

    assert not second.acquire(7)
    assert first.holder(7) == "orch-a"


def test_holder_stops_trusting_before_expiry(manager_pair):
    first, _, clock = manager_pair
    first.acquire(7)

    clock.now += 0.19
    assert first.holds(7)
    clock.now += 0.02
    assert not first.holds(7)


def test_dead_holder_lease_taken_over(manager_pair, config, redis_client):
    first, second, _ = manager_pair
    first.acquire(7)

    # The holder stops renewing; the key expires after its 300 ms TTL.
    started = time.monotonic()
    while not second.acquire(7):
        assert time.monotonic() - started < 2.0, "lease not free 2 s after a 300 ms TTL"
        time.sleep(0.02)

    assert second.holder(7) == "orch-b"
    assert redis_client.pttl(lease_key(config.redis_prefix, 7)) > 0
    # The old holder's renewal compares tokens and fails, so it stops at once.
    assert not first.renew(7)
    assert not first.holds(7)
    assert second.holds(7)


def test_release_only_own_token(manager_pair):
    first, second, _ = manager_pair
    first.acquire(7)

    second.release(7)
    assert first.holder(7) == "orch-a"
    first.release(7)
    assert first.holder(7) is None
    assert second.acquire(7)


def test_renew_failure_on_redis_error_drops_lease(config, redis_client):
    manager = LeaseManager(redis_client, config.redis_prefix, "orch-a")
    manager.acquire(9)
    manager.client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    manager._renew = manager.client.register_script("return 1")

    assert not manager.renew(9)
    assert not manager.holds(9)


def test_safety_must_be_below_ttl(redis_client):
    with pytest.raises(ValueError, match="safety_ms=3000"):
        LeaseManager(redis_client, "x:", "orch-a", ttl_ms=3000, safety_ms=3000)
