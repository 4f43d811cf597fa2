"""Frequency caps and retry delays, reserved atomically in Redis at dial time.

Each cap is a sorted set of dial ids scored by epoch milliseconds, one set
per tenant, scope and scope value (a number, a debt, a lead). One Lua script
trims every set to its sliding window, checks every limit and the lead's
retry delay, and only when all pass adds the dial to every set. Redis runs
a script alone, so orchestrators racing for the last slot cannot both win.

Keys (under ``Config.redis_prefix``):

    cap:t:{tenant}:{scope}:{value}:{window_s}   sorted set of dial ids
    retry:t:{tenant}:lead:{lead}                 string with a TTL of the retry delay
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import Protocol

import redis

log = logging.getLogger(__name__)

# Attempts per lead have no window; their set expires this long after the
# last dial, so a lead reworked after a year starts afresh.
LIFETIME_TTL_MS = 400 * 86400 * 1000

RESERVE_SCRIPT = """
local now = tonumber(ARGV[1])
local member = ARGV[2]
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then
  return {0, 0, ttl}
end
local count = #KEYS - 1
for i = 1, count do
  local key = KEYS[i + 1]
  local window = tonumber(ARGV[1 + 2 * i])
  local limit = tonumber(ARGV[2 + 2 * i])
  if window > 0 then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  end
  if redis.call('ZCARD', key) >= limit then
    if window == 0 then
      return {0, i, -1}
    end
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    return {0, i, tonumber(oldest[2]) + window - now + 1}
  end
end
for i = 1, count do
  local key = KEYS[i + 1]
  local window = tonumber(ARGV[1 + 2 * i])
  redis.call('ZADD', key, now, member)
  if window > 0 then
    redis.call('PEXPIRE', key, window)
  else
    redis.call('PEXPIRE', key, tonumber(ARGV[3 + 2 * count]))
  end
end
return {1, 0, 0}
"""

# The same check-and-add for many dials in one call. ARGV: now, lifetime TTL,
# then per dial: member, number of caps, and (window, limit) per cap. KEYS:
# per dial, its retry key then its cap keys. Returns ok, index, wait per dial.
RESERVE_MANY_SCRIPT = """
local now = tonumber(ARGV[1])
local lifetime = tonumber(ARGV[2])
local results = {}
local k = 1
local a = 3
while a <= #ARGV do
  local member = ARGV[a]
  local count = tonumber(ARGV[a + 1])
  local ok, index, wait = 1, 0, 0
  local ttl = redis.call('PTTL', KEYS[k])
  if ttl > 0 then
    ok, wait = 0, ttl
  else
    for i = 1, count do
      local key = KEYS[k + i]
      local window = tonumber(ARGV[a + 2 * i])
      local limit = tonumber(ARGV[a + 1 + 2 * i])
      if window > 0 then
        redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
      end
      if redis.call('ZCARD', key) >= limit then
        ok, index = 0, i
        if window == 0 then
          wait = -1
        else
          local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
          wait = tonumber(oldest[2]) + window - now + 1
        end
        break
      end
    end
    if ok == 1 then
      for i = 1, count do
        local key = KEYS[k + i]
        local window = tonumber(ARGV[a + 2 * i])
        redis.call('ZADD', key, now, member)
        if window > 0 then
          redis.call('PEXPIRE', key, window)
        else
          redis.call('PEXPIRE', key, lifetime)
        end
      end
    end
  end
  results[#results + 1] = ok
  results[#results + 1] = index
  results[#results + 1] = wait
  k = k + 1 + count
  a = a + 2 + 2 * count
end
return results
"""

RELEASE_SCRIPT = """
for i = 1, #KEYS do
  redis.call('ZREM', KEYS[i], ARGV[1])
end
return 1
"""


@dataclass(frozen=True)
class CapRequest:
    """One limit to check: at most ``limit`` dials per ``scope`` ``value`` in ``window_s`` (0: ever)."""

    scope: str
    value: str
    limit: int
    window_s: int
    rule: str


@dataclass(frozen=True)
class Reservation:
    """The outcome of a reservation: ``member`` identifies the dial when ``ok``."""

    ok: bool
    member: str
    keys: tuple[str, ...] = ()
    blocked_by: CapRequest | None = None
    retry_delay: bool = False
    retry_at: dt.datetime | None = None


class FrequencyCaps(Protocol):
    """Store of dial counts; the gate reserves one dial against every cap at once."""

    def reserve(
        self, tenant_id: int, lead_id: int, caps: list[CapRequest], now: dt.datetime
    ) -> Reservation: ...

    def reserve_many(
        self, requests: list[tuple[int, int, list[CapRequest]]], now: dt.datetime
    ) -> list[Reservation]: ...

    def release(self, reservation: Reservation) -> None: ...


def _epoch_ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


class RedisFrequencyCaps:
    """Caps shared by every orchestrator through one Redis."""

    def __init__(self, client: redis.Redis, prefix: str = "dialer:") -> None:
        self._client = client
        self._prefix = prefix
        self._reserve = client.register_script(RESERVE_SCRIPT)
        self._reserve_many = client.register_script(RESERVE_MANY_SCRIPT)
        self._release = client.register_script(RELEASE_SCRIPT)

    def cap_key(self, tenant_id: int, cap: CapRequest) -> str:
        return f"{self._prefix}cap:t:{tenant_id}:{cap.scope}:{cap.value}:{cap.window_s}"

    def retry_key(self, tenant_id: int, lead_id: int) -> str:
        return f"{self._prefix}retry:t:{tenant_id}:lead:{lead_id}"

    def reserve(self, tenant_id: int, lead_id: int, caps: list[CapRequest], now: dt.datetime) -> Reservation:
        """Reserve one dial against every cap in ``caps``, or none when the retry delay or any cap blocks."""
        keys, args = self._script_input(tenant_id, lead_id, caps, now)
        return self._reservation(self._reserve(keys=keys, args=args), keys, args, caps, now)

    def reserve_many(
        self, requests: list[tuple[int, int, list[CapRequest]]], now: dt.datetime
    ) -> list[Reservation]:
        """Reserve ``(tenant_id, lead_id, caps)`` dials in one script call, in order.

        The whole batch runs atomically, and a later dial in the list counts
        the slots the earlier ones took.
        """
        # NOTE: one script touches every key of the batch. Redis Cluster
        # rejects that unless all keys hash to one slot, so this needs a
        # single Redis, as the project runs today.
        all_keys: list[str] = []
        all_args: list[int | str] = [_epoch_ms(now), LIFETIME_TTL_MS]
        inputs = []
        for tenant_id, lead_id, caps in requests:
            keys, args = self._script_input(tenant_id, lead_id, caps, now)
            all_keys.extend(keys)
            all_args.extend((args[1], len(caps), *args[2:-1]))
            inputs.append((keys, args, caps))
        flat = self._reserve_many(keys=all_keys, args=all_args) if requests else []
        return [
            self._reservation(flat[3 * n : 3 * n + 3], keys, args, caps, now)
            for n, (keys, args, caps) in enumerate(inputs)
        ]

    def _script_input(self, tenant_id: int, lead_id: int, caps: list[CapRequest], now: dt.datetime):
        keys = [self.retry_key(tenant_id, lead_id)] + [self.cap_key(tenant_id, cap) for cap in caps]
        args: list[int | str] = [_epoch_ms(now), uuid.uuid4().hex]
        for cap in caps:
            args.extend((cap.window_s * 1000, cap.limit))
        args.append(LIFETIME_TTL_MS)
        return keys, args

    @staticmethod
    def _reservation(
        result, keys: list[str], args: list, caps: list[CapRequest], now: dt.datetime
    ) -> Reservation:
        ok, index, wait_ms = result
        member = str(args[1])
        if ok:
            return Reservation(True, member, tuple(keys[1:]))
        retry_at = now + dt.timedelta(milliseconds=wait_ms) if wait_ms >= 0 else None
        if index == 0:
            return Reservation(False, member, retry_delay=True, retry_at=retry_at)
        return Reservation(False, member, blocked_by=caps[index - 1], retry_at=retry_at)

    def release(self, reservation: Reservation) -> None:
        """Give back a reserved dial that was never placed (the originate failed before sending)."""
        if reservation.ok and reservation.keys:
            self._release(keys=list(reservation.keys), args=[reservation.member])

    def set_retry_delay(self, tenant_id: int, lead_id: int, delay_s: int) -> None:
        """Forbid dialing the lead again for ``delay_s`` seconds (after a busy signal or no answer)."""
        if delay_s > 0:
            self._client.set(self.retry_key(tenant_id, lead_id), "1", px=delay_s * 1000)

    def count(self, tenant_id: int, cap: CapRequest, now: dt.datetime) -> int:
        """Return how many dials count against ``cap`` at ``now`` (for reports and tests)."""
        key = self.cap_key(tenant_id, cap)
        low = _epoch_ms(now) - cap.window_s * 1000 if cap.window_s else 0
        return int(self._client.zcount(key, f"({low}", "+inf"))
