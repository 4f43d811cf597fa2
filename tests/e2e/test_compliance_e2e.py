"""Dial a small lead list through the whole stack: blocked leads are never originated.

The orchestrator's compliance clock is shifted (DIALER_COMPLIANCE_CLOCK_OFFSET_S)
to a Wednesday at 15:00 UTC, whatever the hour the test runs at: New York
is then at 11:00, inside the 08:00-21:00 federal window, and Hawaii at
05:00, outside it. One New York number is on the tenant's do-not-call list.
"""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest

from dialer_common import db
from dialer_common.compliance import add_numbers
from tests.e2e.conftest import PYTHON

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

GATE_TIME = dt.datetime(2031, 3, 12, 15, 0, tzinfo=dt.UTC)
OPEN_NUMBERS = ["+12127363110", "+12127363111", "+12127363112", "+12127363113"]
CLOSED_NUMBERS = ["+18089561230", "+18089561231"]
DNC_NUMBER = "+12127363119"
DIAL_TIMEOUT_S = 45


def _seed(stack, conn) -> tuple[int, int]:
    output = stack.run_cli("demo", "seed")
    match = re.search(r"^campaign_id=(\d+)$", output, re.MULTILINE)
    assert match, f"demo seed printed no campaign_id=<id>:\n{output}"
    campaign_id = int(match.group(1))
    with db.transaction(conn) as cur:
        cur.execute("SELECT tenant_id FROM campaigns WHERE id = %s", (campaign_id,))
        return cur.fetchone()["tenant_id"], campaign_id


def _add_leads(conn, tenant_id: int, campaign_id: int) -> dict[str, int]:
    leads = {}
    rows = [(number, "NY") for number in [*OPEN_NUMBERS, DNC_NUMBER]] + [(number, "HI") for number in CLOSED_NUMBERS]
    with db.transaction(conn) as cur:
        for number, state in rows:
            cur.execute(
                "INSERT INTO leads (tenant_id, campaign_id, phone_e164, state_code) VALUES (%s, %s, %s, %s)"
                " RETURNING id",
                (tenant_id, campaign_id, number, state),
            )
            leads[number] = cur.fetchone()["id"]
    return leads


def _queue_first(conn, campaign_id: int, lead_ids: list[int]) -> None:
    """Dial the test's leads before leads left by earlier tests in the shared demo campaign.

    Leads are claimed by next_attempt_at with NULLs first, then id, so the
    other dialable leads get next_attempt_at = now(): still dialable, but
    after these.
    """
    with db.transaction(conn) as cur:
        cur.execute(
            "UPDATE leads SET next_attempt_at = now() WHERE campaign_id = %s AND status IN ('new', 'retry')"
            " AND next_attempt_at IS NULL AND NOT (id = ANY(%s))",
            (campaign_id, lead_ids),
        )


def _attempted(conn, lead_ids: list[int]) -> set[int]:
    with db.transaction(conn) as cur:
        cur.execute("SELECT DISTINCT lead_id FROM attempts WHERE lead_id = ANY(%s)", (lead_ids,))
        return {row["lead_id"] for row in cur.fetchall()}


def test_blocked_leads_never_originated(stack, stack_env, conn):
    tenant_id, campaign_id = _seed(stack, conn)
    leads = _add_leads(conn, tenant_id, campaign_id)
    _queue_first(conn, campaign_id, list(leads.values()))
    add_numbers(conn, tenant_id, [DNC_NUMBER], "asked not to be called", "e2e")
    offset_s = int((GATE_TIME - dt.datetime.now(dt.UTC)).total_seconds())
    stack_env["DIALER_COMPLIANCE_CLOCK_OFFSET_S"] = str(offset_s)

    stack.start("orchestrator", [PYTHON, "-m", "orchestrator"])
    open_ids = [leads[number] for number in OPEN_NUMBERS]
    deadline = time.monotonic() + DIAL_TIMEOUT_S
    while _attempted(conn, open_ids) != set(open_ids) and time.monotonic() < deadline:
        time.sleep(0.5)
    # A few more dial ticks, so a blocked lead that slipped through would show.
    time.sleep(2)
    stack.processes["orchestrator"].terminate()
    stack.processes["orchestrator"].wait(timeout=15)

    assert _attempted(conn, open_ids) == set(open_ids), stack.log("orchestrator")[-3000:]
    blocked_ids = [leads[number] for number in [*CLOSED_NUMBERS, DNC_NUMBER]]
    assert _attempted(conn, blocked_ids) == set()
    with db.transaction(conn) as cur:
        cur.execute(
            "SELECT lead_id, rule, retry_at FROM compliance_blocks WHERE tenant_id = %s AND campaign_id = %s",
            (tenant_id, campaign_id),
        )
        blocks = cur.fetchall()
        cur.execute("SELECT id, status FROM leads WHERE id = ANY(%s)", (blocked_ids,))
        statuses = {row["id"]: row["status"] for row in cur.fetchall()}
    rules = {(row["lead_id"], row["rule"]) for row in blocks}
    for number in CLOSED_NUMBERS:
        assert (leads[number], "us-federal:hours") in rules
        assert statuses[leads[number]] == "new"
    assert (leads[DNC_NUMBER], "dnc:internal") in rules
    assert statuses[leads[DNC_NUMBER]] == "dnc"
    blocked_open = {row["lead_id"] for row in blocks} & set(open_ids)
    assert blocked_open == set()
    assert "compliance.clock_offset" in stack.log("orchestrator")
