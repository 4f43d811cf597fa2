"""Dial the demo campaign through the whole stack for a bounded time.

The simulator runs 20 times faster than real time, so 35 s of wall clock are
about 12 minutes of a contact centre: enough for dozens of calls to end.
"""

from __future__ import annotations

import json
import re
import threading
import time

import pytest
import requests
import websocket

from tests.e2e.conftest import PYTHON

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RUN_SECONDS = 35


def _login(base_url: str, email: str, password: str) -> str:
    response = requests.post(
        f"{base_url}/api/auth/login", json={"email": email, "password": password}, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


class _WsRecorder(threading.Thread):
    """Collect every WebSocket message until stopped."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.messages: list[dict] = []
        self.socket = websocket.create_connection(url, timeout=10)
        self.stopping = False

    def run(self) -> None:
        while not self.stopping:
            try:
                raw = self.socket.recv()
            except (websocket.WebSocketTimeoutException, websocket.WebSocketConnectionClosedException, OSError):
                if self.stopping:
                    return
                continue
            if raw:
                self.messages.append(json.loads(raw))

    def stop(self) -> None:
        self.stopping = True
        self.socket.close()


def _seed_and_import(stack) -> int:
    seed_output = stack.run_cli("demo", "seed")
    match = re.search(r"^campaign_id=(\d+)$", seed_output, re.MULTILINE)
    assert match, f"demo seed printed no campaign_id=<id>:\n{seed_output}"
    campaign_id = int(match.group(1))
    stack.run_cli("leads", "import", "demo/leads_demo.csv", "--campaign", str(campaign_id),
                  "--tenant", "demo", "--no-progress")
    return campaign_id


def test_campaign_end_to_end(stack, stack_env, conn):
    campaign_id = _seed_and_import(stack)
    base_url = stack_env["DIALER_WEB_BASE_URL"]
    token = _login(base_url, stack_env["DEMO_EMAIL"], stack_env["DEMO_PASSWORD"])
    recorder = _WsRecorder(f"ws://{base_url.removeprefix('http://')}/ws?token={token}")
    recorder.start()

    stack.start("orchestrator", [PYTHON, "-m", "orchestrator"])
    time.sleep(RUN_SECONDS)
    stack.processes["orchestrator"].terminate()
    stack.processes["orchestrator"].wait(timeout=15)
    # Calls still up when the orchestrator stopped end on the simulator and
    # post their CDRs; give the last ones time to arrive.
    time.sleep(8)
    recorder.stop()

    with conn.cursor() as cur:
        cur.execute("SELECT id FROM tenants WHERE slug = 'demo'")
        tenant_id = cur.fetchone()["id"]
        cur.execute(
            "SELECT id, outcome, answered_at, live, abandoned FROM attempts"
            " WHERE tenant_id = %s AND campaign_id = %s",
            (tenant_id, campaign_id),
        )
        attempts = cur.fetchall()
        cur.execute(
            "SELECT call_uuid, answered, live, abandoned FROM cdr"
            " WHERE tenant_id = %s AND campaign_id = %s AND leg = 'a'",
            (tenant_id, campaign_id),
        )
        a_legs = cur.fetchall()
    conn.rollback()

    ended = [row for row in attempts if row["outcome"] is not None]
    assert len(attempts) >= 20, stack.log("orchestrator")[-3000:]
    assert len(ended) >= 10
    outcomes = {row["outcome"] for row in ended}
    assert "live_bridged" in outcomes

    # One A-leg CDR for every answered call, and none twice.
    cdr_by_uuid: dict[str, int] = {}
    for row in a_legs:
        cdr_by_uuid[str(row["call_uuid"])] = cdr_by_uuid.get(str(row["call_uuid"]), 0) + 1
    assert all(count == 1 for count in cdr_by_uuid.values())
    answered_ended = [row for row in ended if row["answered_at"] is not None]
    assert answered_ended
    missing = [str(row["id"]) for row in answered_ended if str(row["id"]) not in cdr_by_uuid]
    assert missing == [], f"answered attempts without an A-leg CDR: {missing[:5]}"

    # The report agrees with the CDRs it is computed from.
    live = [row for row in a_legs if row["answered"] and row["live"]]
    abandoned = [row for row in live if row["abandoned"]]
    response = requests.get(
        f"{base_url}/api/reports/abandonment?window=30d",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    report = response.json()
    rows = report["campaigns"] if isinstance(report, dict) else report
    row = next(item for item in rows if item["campaign_id"] == campaign_id)
    assert row["live_answers"] == len(live)
    assert row["abandoned"] == len(abandoned)
    if live:
        assert row["rate_pct"] == pytest.approx(100.0 * len(abandoned) / len(live), abs=0.01)

    # The WebSocket said hello and then sent changing live counters.
    types = [message.get("type") for message in recorder.messages]
    assert types and types[0] == "ws.hello"
    snapshots = [m for m in recorder.messages if m.get("type") in ("live.snapshot", "live.update")]
    assert len(snapshots) >= 3
    talking_values = {
        campaign.get("talking")
        for message in snapshots
        for campaign in message.get("campaigns", [])
        if campaign.get("campaign_id") == campaign_id
    }
    assert len(talking_values) >= 2, f"talking never changed: {talking_values}"
