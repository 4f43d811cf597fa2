"""Redis key names and the live counters the dashboard reads.

Keys (every one starts with ``Config.redis_prefix``):

- ``live:t:{tenant}:c:{campaign}``: hash with ``dialing``, ``ringing``,
  ``talking``, ``agents_available``, ``agents_logged_in``, ``updated_ms``.
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


def live_key(prefix: str, tenant_id: int, campaign_id: int) -> str:
    """Return the key of a campaign's live counters hash."""
    return f"{prefix}live:t:{tenant_id}:c:{campaign_id}"


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
