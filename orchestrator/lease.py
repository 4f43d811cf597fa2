"""Campaign leases in Redis: one orchestrator drives a campaign at a time.

A lease is the key ``<prefix>lease:campaign:{campaign_id}`` whose value is
the holder's token (``<orchestrator id>/<random hex>``). It is taken with
``SET NX PX`` and renewed by a Lua compare-and-extend, so only the holder
extends or deletes it. A holder that dies stops renewing and the key expires
after ``ttl_ms``; another orchestrator takes it on its next try.

The holder trusts its lease only until ``ttl_ms - safety_ms`` after the
moment it sent the last successful renewal, measured on its own monotonic
clock. Any failed renewal drops the lease at once, so a holder that cannot
reach Redis stops dialing before the key can expire and pass to another.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import redis

log = logging.getLogger(__name__)

DEFAULT_TTL_MS = 3000
# Renewal period; three renewals fit in one TTL, so one lost reply does not
# lose the lease.
DEFAULT_RENEW_S = 1.0
# Time subtracted from the TTL before the holder stops trusting its lease, to
# cover the renewal's round trip and clock drift between Redis and the holder.
DEFAULT_SAFETY_MS = 500

# Extends the lease only while it still holds this holder's token.
_RENEW_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
end
return 0
"""

# Deletes the lease only while it still holds this holder's token.
_RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def lease_key(prefix: str, campaign_id: int) -> str:
    """Return the Redis key of a campaign's lease."""
    return f"{prefix}lease:campaign:{campaign_id}"


@dataclass
class _Held:
    token: str
    valid_until_s: float


class LeaseManager:
    """Takes, renews and releases the campaign leases of one orchestrator."""

    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        owner_id: str,
        ttl_ms: int = DEFAULT_TTL_MS,
        safety_ms: int = DEFAULT_SAFETY_MS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if safety_ms >= ttl_ms:
            raise ValueError(f"invalid lease safety_ms={safety_ms}: expected less than ttl_ms={ttl_ms}")
        self.client = client
        self.prefix = prefix
        self.owner_id = owner_id
        self.ttl_ms = ttl_ms
        self.safety_ms = safety_ms
        self.clock = clock
        self._held: dict[int, _Held] = {}
        self._renew = client.register_script(_RENEW_LUA)
        self._release = client.register_script(_RELEASE_LUA)

    def _new_token(self) -> str:
        return f"{self.owner_id}/{uuid.uuid4().hex}"

    def acquire(self, campaign_id: int) -> bool:
        """Take a free lease; return True when this orchestrator holds it now."""
        if self.holds(campaign_id):
            return True
        token = self._new_token()
        sent_s = self.clock()
        taken = self.client.set(lease_key(self.prefix, campaign_id), token, nx=True, px=self.ttl_ms)
        if not taken:
            return False
        self._held[campaign_id] = _Held(token, sent_s + (self.ttl_ms - self.safety_ms) / 1000.0)
        return True

    def renew(self, campaign_id: int) -> bool:
        """Extend a held lease; on any failure drop it and return False."""
        held = self._held.get(campaign_id)
        if held is None:
            return False
        sent_s = self.clock()
        try:
            extended = self._renew(keys=[lease_key(self.prefix, campaign_id)], args=[held.token, self.ttl_ms])
        except redis.RedisError as error:
            log.warning(
                "lease.renew_failed campaign_id=%s owner=%s error=%s", campaign_id, self.owner_id, error
            )
            extended = 0
        if not extended:
            del self._held[campaign_id]
            return False
        held.valid_until_s = sent_s + (self.ttl_ms - self.safety_ms) / 1000.0
        return True

    def holds(self, campaign_id: int) -> bool:
        """Return True while the lease is held and its last renewal is recent enough to trust."""
        held = self._held.get(campaign_id)
        if held is None:
            return False
        if self.clock() >= held.valid_until_s:
            del self._held[campaign_id]
            return False
        return True

    def held_campaigns(self) -> list[int]:
        """Return the campaigns whose lease this orchestrator holds (trusted or not yet renewed)."""
        return list(self._held)

    def release(self, campaign_id: int) -> None:
        """Give a lease back so another orchestrator can take it without waiting for the TTL."""
        held = self._held.pop(campaign_id, None)
        if held is None:
            return
        try:
            self._release(keys=[lease_key(self.prefix, campaign_id)], args=[held.token])
        except redis.RedisError as error:
            log.warning(
                "lease.release_failed campaign_id=%s owner=%s error=%s", campaign_id, self.owner_id, error
            )

    def release_all(self) -> None:
        """Give back every held lease."""
        for campaign_id in list(self._held):
            self.release(campaign_id)

    def holder(self, campaign_id: int) -> str | None:
        """Return the id of the orchestrator that holds a campaign's lease in Redis, or None."""
        token = self.client.get(lease_key(self.prefix, campaign_id))
        if token is None:
            return None
        text = token.decode() if isinstance(token, bytes) else token
        return text.rpartition("/")[0]
