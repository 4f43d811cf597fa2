"""Redis key names and the live counters the dashboard reads.

Keys (every one starts with ``Config.redis_prefix``):

- ``live:t:{tenant}:c:{campaign}``: hash with ``dialing``, ``ringing``,
  ``talking``, ``agents_available``, ``agents_logged_in``, ``updated_ms``:
  the sum of the live contributions below.
- ``live:t:{tenant}:c:{campaign}:o:{owner}``: hash, one orchestrator's
  contribution to that campaign (same counter fields), expiring after
  ``CONTRIBUTION_TTL_MS`` unless rewritten.
- ``live:t:{tenant}:c:{campaign}:owners``: sorted set of the contributing
  orchestrator ids, scored by the epoch ms at which each contribution expires.
- ``live:t:{tenant}``: hash with the tenant's totals over its campaigns (the
  counter fields, ``campaigns`` and ``updated_ms``).
- ``live:t:{tenant}:campaigns``: sorted set of the tenant's campaign ids,
  scored by the epoch ms at which each campaign hash expires.
- ``events:t:{tenant}``: pub/sub channel of JSON messages, ``campaign.counters``
  and ``agent.state``.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass

COUNTER_FIELDS = ("dialing", "ringing", "talking", "agents_available", "agents_logged_in")
# A campaign hash nobody refreshes for this long disappears, so a stopped
# orchestrator does not leave stale numbers on the dashboard, in seconds.
LIVE_TTL_S = 300

# Writes the hash, refreshes its TTL and publishes the message in one atomic step.
_WRITE_COUNTERS_LUA = """
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
redis.call('PUBLISH', KEYS[2], ARGV[2])
return 1
"""


# A contribution not rewritten for this long is left out of the sums, so a dead
# orchestrator's calls stop counting, in milliseconds. The daemon rewrites its
# contributions at least every few seconds (orchestrator.daemon.COUNTERS_REFRESH_S).
CONTRIBUTION_TTL_MS = 10_000

# Stores one owner's contribution (or removes it when ARGV[4] is 'remove'),
# drops expired contributions, and rewrites the campaign and tenant sums in
# one atomic step, so several orchestrators never lose or double count a
# contribution. It reads keys it builds from KEYS[1] and ARGV[7], which is
# fine on one Redis server.
# NOTE: on Redis Cluster those built keys would break the one-slot rule; keep
# every key of one tenant in one slot with a hash tag before moving there.
# KEYS: campaign hash, owners zset, tenant hash, tenant campaigns zset, events channel.
# ARGV: now_ms, contribution_ttl_ms, live_ttl_s, mode, owner, campaign_id,
#       tenant key prefix ("<prefix>live:t:<tenant>:c:"), then the counter values
#       in COUNTER_FIELDS order.
_CONTRIBUTE_LUA = """
local fields = {'dialing', 'ringing', 'talking', 'agents_available', 'agents_logged_in'}
local now = tonumber(ARGV[1])
local ttl_ms = tonumber(ARGV[2])
local live_ttl_s = tonumber(ARGV[3])
local owner_key = KEYS[1] .. ':o:' .. ARGV[5]

if ARGV[4] == 'remove' then
  redis.call('DEL', owner_key)
  redis.call('ZREM', KEYS[2], ARGV[5])
else
  for i, name in ipairs(fields) do
    redis.call('HSET', owner_key, name, ARGV[7 + i])
  end
  redis.call('PEXPIRE', owner_key, ttl_ms)
  redis.call('ZADD', KEYS[2], now + ttl_ms, ARGV[5])
end
for _, expired in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  redis.call('DEL', KEYS[1] .. ':o:' .. expired)
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('PEXPIRE', KEYS[2], live_ttl_s * 1000)

local sums = {0, 0, 0, 0, 0}
for _, owner in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local values = redis.call('HMGET', KEYS[1] .. ':o:' .. owner, unpack(fields))
  for i = 1, #fields do sums[i] = sums[i] + (tonumber(values[i]) or 0) end
end
local message = {type = 'campaign.counters', campaign_id = tonumber(ARGV[6]), updated_ms = now}
for i, name in ipairs(fields) do
  redis.call('HSET', KEYS[1], name, sums[i])
  message[name] = sums[i]
end
redis.call('HSET', KEYS[1], 'updated_ms', now)
redis.call('EXPIRE', KEYS[1], live_ttl_s)

redis.call('ZADD', KEYS[4], now + live_ttl_s * 1000, ARGV[6])
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
redis.call('EXPIRE', KEYS[4], live_ttl_s)
local totals = {0, 0, 0, 0, 0}
local campaigns = redis.call('ZRANGE', KEYS[4], 0, -1)
for _, campaign in ipairs(campaigns) do
  local values = redis.call('HMGET', ARGV[7] .. campaign, unpack(fields))
  for i = 1, #fields do totals[i] = totals[i] + (tonumber(values[i]) or 0) end
end
for i, name in ipairs(fields) do
  redis.call('HSET', KEYS[3], name, totals[i])
end
redis.call('HSET', KEYS[3], 'campaigns', #campaigns, 'updated_ms', now)
redis.call('EXPIRE', KEYS[3], live_ttl_s)

redis.call('PUBLISH', KEYS[5], cjson.encode(message))
return sums
"""


def live_key(prefix: str, tenant_id: int, campaign_id: int) -> str:
    """Return the key of a campaign's live counters hash."""
    return f"{prefix}live:t:{tenant_id}:c:{campaign_id}"


def tenant_live_key(prefix: str, tenant_id: int) -> str:
    """Return the key of a tenant's live totals hash."""
    return f"{prefix}live:t:{tenant_id}"


def events_channel(prefix: str, tenant_id: int) -> str:
    """Return the pub/sub channel of a tenant's live events."""
    return f"{prefix}events:t:{tenant_id}"


@dataclass(frozen=True)
class CampaignCounters:
    """Live numbers of one campaign across every switch.

    ``dialing`` counts originates sent and not yet ringing, ``ringing``
    counts calls ringing or answered and waiting for an agent, ``talking``
    counts calls bridged to an agent.
    """

    dialing: int = 0
    ringing: int = 0
    talking: int = 0
    agents_available: int = 0
    agents_logged_in: int = 0


class LiveCounters:
    """Writes campaign counters and agent states to Redis for the web tier."""

    def __init__(self, client, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self._write = client.register_script(_WRITE_COUNTERS_LUA)
        self._contribute = client.register_script(_CONTRIBUTE_LUA)

    def write(self, tenant_id: int, campaign_id: int, counters: CampaignCounters, now_ms: int | None = None) -> None:
        """Store a campaign's counters and publish them as one ``campaign.counters`` message."""
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        values = asdict(counters)
        message = {"type": "campaign.counters", "campaign_id": campaign_id, **values, "updated_ms": now_ms}
        pairs: list[object] = []
        for name, value in values.items():
            pairs += [name, value]
        pairs += ["updated_ms", now_ms]
        self._write(
            keys=[live_key(self.prefix, tenant_id, campaign_id), events_channel(self.prefix, tenant_id)],
            args=[LIVE_TTL_S, json.dumps(message), *pairs],
        )

    def contribute(
        self,
        tenant_id: int,
        campaign_id: int,
        owner: str,
        counters: CampaignCounters,
        now_ms: int | None = None,
        ttl_ms: int = CONTRIBUTION_TTL_MS,
    ) -> dict[str, int]:
        """Store one orchestrator's counters for a campaign; return the campaign's new sums.

        The campaign hash, the tenant hash and the ``campaign.counters``
        message all carry the sums over every live contribution.
        """
        return self._run_contribution("set", tenant_id, campaign_id, owner, counters, now_ms, ttl_ms)

    def withdraw(self, tenant_id: int, campaign_id: int, owner: str, now_ms: int | None = None) -> dict[str, int]:
        """Remove one orchestrator's contribution to a campaign; return the campaign's new sums."""
        return self._run_contribution("remove", tenant_id, campaign_id, owner, CampaignCounters(), now_ms, 0)

    def _run_contribution(
        self, mode: str, tenant_id: int, campaign_id: int, owner: str,
        counters: CampaignCounters, now_ms: int | None, ttl_ms: int,
    ) -> dict[str, int]:
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        key = live_key(self.prefix, tenant_id, campaign_id)
        values = asdict(counters)
        sums = self._contribute(
            keys=[
                key, f"{key}:owners", tenant_live_key(self.prefix, tenant_id),
                f"{tenant_live_key(self.prefix, tenant_id)}:campaigns", events_channel(self.prefix, tenant_id),
            ],
            args=[
                now_ms, ttl_ms, LIVE_TTL_S, mode, owner, campaign_id,
                f"{self.prefix}live:t:{tenant_id}:c:", *(values[name] for name in COUNTER_FIELDS),
            ],
        )
        return dict(zip(COUNTER_FIELDS, (int(value) for value in sums), strict=True))

    def read_tenant(self, tenant_id: int) -> dict[str, int]:
        """Return a tenant's totals (empty when none were written)."""
        raw = self.client.hgetall(tenant_live_key(self.prefix, tenant_id))
        return {name.decode() if isinstance(name, bytes) else name: int(value) for name, value in raw.items()}

    def publish_agent(self, tenant_id: int, campaign_id: int, name: str, status: str, state: str) -> None:
        """Publish one ``agent.state`` message."""
        message = {
            "type": "agent.state",
            "campaign_id": campaign_id,
            "agent": name,
            "status": status,
            "state": state,
            "updated_ms": int(time.time() * 1000),
        }
        self.client.publish(events_channel(self.prefix, tenant_id), json.dumps(message))

    def read(self, tenant_id: int, campaign_id: int) -> dict[str, int]:
        """Return a campaign's counters (empty when none were written)."""
        raw = self.client.hgetall(live_key(self.prefix, tenant_id, campaign_id))
        return {name.decode() if isinstance(name, bytes) else name: int(value) for name, value in raw.items()}
