"""A supervisor's pacing change reaches the running orchestrator without a restart."""

from __future__ import annotations

import time

import pytest
import requests

from tests.e2e.conftest import PYTHON
from tests.e2e.test_campaign_end_to_end import _login, _seed_and_import

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# The orchestrator re-reads campaign settings every 3 s; a dial already
# claimed may still go out just after the change.
SETTLE_S = 6


def _attempts_since(conn, campaign_id: int, since_sql: str) -> int:
    with conn.cursor() as cur:
        cur.execute(
            f"SELECT count(*) AS n FROM attempts WHERE campaign_id = %s AND created_at > {since_sql}",
            (campaign_id,),
        )
        count = cur.fetchone()["n"]
    conn.rollback()
    return count


def _set_mode(base_url: str, token: str, campaign_id: int, mode: str) -> None:
    response = requests.put(
        f"{base_url}/api/campaigns/{campaign_id}/pacing",
        json={"dial_mode": mode},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text


def test_mode_change_applies_without_restart(stack, stack_env, conn):
    campaign_id = _seed_and_import(stack)
    base_url = stack_env["DIALER_WEB_BASE_URL"]
    token = _login(base_url, stack_env["DEMO_EMAIL"], stack_env["DEMO_PASSWORD"])
    orchestrator = stack.start("orchestrator", [PYTHON, "-m", "orchestrator"])

    time.sleep(8)
    assert _attempts_since(conn, campaign_id, "now() - interval '1 hour'") > 0, stack.log("orchestrator")[-2000:]

    _set_mode(base_url, token, campaign_id, "preview")
    time.sleep(SETTLE_S)
    with conn.cursor() as cur:
        cur.execute("SELECT now() AS t")
        quiet_from = cur.fetchone()["t"]
    conn.rollback()
    time.sleep(SETTLE_S)
    assert _attempts_since(conn, campaign_id, f"'{quiet_from.isoformat()}'") == 0

    _set_mode(base_url, token, campaign_id, "progressive")
    time.sleep(SETTLE_S + 2)
    assert _attempts_since(conn, campaign_id, f"'{quiet_from.isoformat()}'") > 0
    assert orchestrator.poll() is None
