"""Two orchestrators on one predictive campaign: one dials, the other takes over.

Runs web, the switch simulator at 20 times real speed and two orchestrator
processes. The first holds the campaign's lease and dials; the second only
follows events. After ``kill -9`` of the holder, the second must take the
lease within 5 s, adopt the calls in flight and keep dialing, and every
attempt, including the dead holder's, must end with an outcome.
"""

from __future__ import annotations

import re
import signal
import time
from datetime import datetime

import pytest
import redis

from orchestrator.lease import lease_key
from tests.e2e.conftest import PYTHON
from tests.e2e.test_campaign_end_to_end import _seed_and_import

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TAKEOVER_BOUND_S = 5.0
# Lines the orchestrator logs start with ``%(asctime)s``: local time to the millisecond.
_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ", re.MULTILINE)


def _line_time(line: str) -> float:
    stamp = _TIME.match(line).group(1)
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()


def _lines(text: str, event: str, campaign_id: int) -> list[str]:
    return [
        line
        for line in text.splitlines()
        if f" {event} " in line and f"campaign_id={campaign_id} " in f"{line} " and _TIME.match(line)
    ]


def _wait_for(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def _holder(client: redis.Redis, prefix: str, campaign_id: int) -> str | None:
    token = client.get(lease_key(prefix, campaign_id))
    return token.decode().rpartition("/")[0] if token else None


def test_two_orchestrators_take_over(stack, stack_env, conn):
    campaign_id = _seed_and_import(stack)
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE campaigns SET dial_mode = 'predictive' WHERE id = %s RETURNING tenant_id", (campaign_id,)
        )
        tenant_id = cur.fetchone()["tenant_id"]
    conn.commit()
    prefix = stack_env["DIALER_REDIS_PREFIX"]
    client = redis.Redis.from_url(stack_env["DIALER_REDIS_URL"])

    # Attempts of an earlier test on the same demo campaign are left out:
    # nobody stored the ends of the calls it left on the simulator.
    started_at = time.time()
    stack.env = {**stack_env, "DIALER_ORCHESTRATOR_ID": "orch-a"}
    first = stack.start("orch-a", [PYTHON, "-m", "orchestrator"])
    _wait_for(lambda: _holder(client, prefix, campaign_id) == "orch-a", 20, "orch-a to take the lease")
    stack.env = {**stack_env, "DIALER_ORCHESTRATOR_ID": "orch-b"}
    stack.start("orch-b", [PYTHON, "-m", "orchestrator"])
    _wait_for(lambda: "orchestrator.start" in stack.log("orch-b"), 20, "orch-b to start")

    # Both run for a while; only the holder dials.
    time.sleep(8)
    assert _holder(client, prefix, campaign_id) == "orch-a"
    assert _lines(stack.log("orch-a"), "dial.placed", campaign_id), stack.log("orch-a")[-3000:]
    assert _lines(stack.log("orch-b"), "dial.placed", campaign_id) == []
    assert _lines(stack.log("orch-b"), "lease.acquired", campaign_id) == []

    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    killed_at = time.time()
    _wait_for(lambda: _holder(client, prefix, campaign_id) == "orch-b", 10, "orch-b to take the lease")
    _wait_for(lambda: _lines(stack.log("orch-b"), "dial.placed", campaign_id), 15, "orch-b to dial")

    acquired = _lines(stack.log("orch-b"), "lease.acquired", campaign_id)
    assert len(acquired) == 1
    assert _line_time(acquired[0]) - killed_at <= TAKEOVER_BOUND_S
    taken_over = _lines(stack.log("orch-b"), "campaign.taken_over", campaign_id)
    assert len(taken_over) == 1
    first_dial_b = _line_time(_lines(stack.log("orch-b"), "dial.placed", campaign_id)[0])
    assert first_dial_b >= _line_time(acquired[0])

    # Let orch-b drive for a while. The calls the dead holder placed end on the
    # simulator, and orch-b must store each of them with an outcome.
    time.sleep(5)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT count(*) AS n FROM attempts WHERE tenant_id = %s AND campaign_id = %s"
            " AND created_at > to_timestamp(%s)",
            (tenant_id, campaign_id, killed_at),
        )
        after_kill = cur.fetchone()["n"]
    conn.rollback()
    assert after_kill > 0

    def all_ended() -> bool:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT count(*) AS n FROM attempts WHERE tenant_id = %s AND campaign_id = %s"
                " AND created_at BETWEEN to_timestamp(%s) AND to_timestamp(%s) AND outcome IS NULL",
                (tenant_id, campaign_id, started_at, killed_at),
            )
            open_count = cur.fetchone()["n"]
        conn.rollback()
        return open_count == 0

    try:
        # Bridged calls run for up to about 30 s of wall clock at speed 20.
        _wait_for(all_ended, 30, "the dead holder's attempts to end")
    except AssertionError:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT id, state, created_at, answered_at FROM attempts WHERE tenant_id = %s"
                " AND campaign_id = %s AND created_at <= to_timestamp(%s) AND outcome IS NULL",
                (tenant_id, campaign_id, started_at, killed_at),
            )
            still_open = cur.fetchall()
        conn.rollback()
        raise AssertionError(f"attempts still open: {still_open}\n{stack.log('orch-b')[-4000:]}") from None

    with conn.cursor() as cur:
        cur.execute(
            "SELECT outcome, hangup_cause FROM attempts WHERE tenant_id = %s AND campaign_id = %s"
            " AND created_at BETWEEN to_timestamp(%s) AND to_timestamp(%s)",
            (tenant_id, campaign_id, started_at, killed_at),
        )
        before_kill = cur.fetchall()
        cur.execute(
            "SELECT lead_id, count(*) AS n FROM attempts WHERE tenant_id = %s AND campaign_id = %s"
            " AND state <> 'ended' GROUP BY lead_id HAVING count(*) > 1",
            (tenant_id, campaign_id),
        )
        doubled = cur.fetchall()
        cur.execute(
            "SELECT mode, reason, inputs FROM pacing_log WHERE tenant_id = %s AND campaign_id = %s"
            " AND created_at >= to_timestamp(%s)",
            (tenant_id, campaign_id, started_at),
        )
        pacing_rows = cur.fetchall()
    conn.rollback()

    assert before_kill
    lost = [row for row in before_kill if row["hangup_cause"] == "DIALER_EVENTS_LOST"]
    assert lost == []
    assert doubled == []
    assert pacing_rows
    assert all(row["reason"] for row in pacing_rows)
    writers = {row["inputs"].get("orchestrator_id") for row in pacing_rows}
    assert writers == {"orch-a", "orch-b"}
    assert {row["mode"] for row in pacing_rows} <= {"predictive", "progressive"}

    live = client.hgetall(f"{prefix}live:t:{tenant_id}".encode())
    assert b"dialing" in live
    client.close()
