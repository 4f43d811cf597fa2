"""Lead claiming, attempt rows and lead updates against the session's PostgreSQL."""

import uuid
from datetime import UTC, datetime

from dialer_common import db
from orchestrator import store
from orchestrator.calls import Attempt, CallEnd, StateChange


def add_leads(conn, tenant, count: int, **columns) -> list[int]:
    ids = []
    with db.transaction(conn) as cur:
        for index in range(count):
            cur.execute(
                "INSERT INTO leads (tenant_id, campaign_id, phone_e164, status, attempts_count)"
                " VALUES (%s, %s, %s, %s, %s) RETURNING id",
                (tenant["id"], tenant["campaign_id"], f"+1305555{index:04d}",
                 columns.get("status", "new"), columns.get("attempts_count", 0)),
            )
            ids.append(cur.fetchone()["id"])
    return ids


def claim(conn, tenant, limit, max_attempts=3):
    with db.transaction(conn) as cur:
        return store.claim_leads(cur, tenant["id"], tenant["campaign_id"], max_attempts, limit)


def test_claim_skip_locked_two_connections(conn, config, tenant):
    add_leads(conn, tenant, 6)
    other = db.connect(config.database_url)
    try:
        with db.transaction(other) as other_cur:
            first = store.claim_leads(other_cur, tenant["id"], tenant["campaign_id"], 3, 4)
            # The first transaction is still open: its rows stay locked.
            second = claim(conn, tenant, 4)
    finally:
        other.close()

    assert len(first) == 4
    assert len(second) == 2
    assert {row["id"] for row in first}.isdisjoint(row["id"] for row in second)


def test_claim_skips_exhausted_and_other_tenants(conn, tenant):
    add_leads(conn, tenant, 2, attempts_count=3)

    assert claim(conn, tenant, 5, max_attempts=3) == []
    assert claim(conn, {**tenant, "id": tenant["id"] + 1000}, 5) == []
    assert len(claim(conn, tenant, 5, max_attempts=4)) == 2


def test_claim_marks_dialing(conn, tenant):
    add_leads(conn, tenant, 1)
    lead_id = claim(conn, tenant, 1)[0]["id"]

    with db.transaction(conn) as cur:
        cur.execute("SELECT status FROM leads WHERE id = %s", (lead_id,))
        assert cur.fetchone()["status"] == "dialing"
    assert claim(conn, tenant, 1) == []


def start_attempt(conn, tenant) -> Attempt:
    add_leads(conn, tenant, 1)
    lead = claim(conn, tenant, 1)[0]
    attempt = Attempt(
        id=str(uuid.uuid4()), tenant_id=tenant["id"], campaign_id=tenant["campaign_id"],
        lead_id=lead["id"], switch_name="sim1", phone_e164=lead["phone_e164"], job_uuid=str(uuid.uuid4()),
    )
    with db.transaction(conn) as cur:
        store.insert_attempt(cur, attempt, tenant["trunk_id"], "+13055550150")
    return attempt


def read_rows(conn, attempt):
    with db.transaction(conn) as cur:
        cur.execute("SELECT * FROM attempts WHERE id = %s", (attempt.id,))
        attempt_row = cur.fetchone()
        cur.execute("SELECT * FROM leads WHERE id = %s", (attempt.lead_id,))
        return attempt_row, cur.fetchone()


def test_attempt_lifecycle_busy_retries(conn, tenant):
    attempt = start_attempt(conn, tenant)
    now = datetime.now(tz=UTC)
    with db.transaction(conn) as cur:
        store.apply_state_change(cur, StateChange(attempt, "ringing", now))
        end = CallEnd(attempt, "busy", now, hangup_cause="USER_BUSY", sip_status=486)
        assert store.apply_call_end(cur, end) is True
        assert store.apply_call_end(cur, end) is False

    attempt_row, lead_row = read_rows(conn, attempt)
    assert attempt_row["state"] == "ended"
    assert attempt_row["outcome"] == "busy"
    assert attempt_row["sip_status"] == 486
    assert attempt_row["did"] == "+13055550150"
    assert lead_row["status"] == "retry"
    assert lead_row["attempts_count"] == 1
    delay = (lead_row["next_attempt_at"] - now).total_seconds()
    assert 500 < delay < 700


def test_attempt_bridged_lead_done(conn, tenant):
    attempt = start_attempt(conn, tenant)
    attempt.agent_name = "1001@default"
    now = datetime.now(tz=UTC)
    with db.transaction(conn) as cur:
        store.apply_state_change(cur, StateChange(attempt, "answered", now))
        store.apply_state_change(cur, StateChange(attempt, "bridged", now))
        store.apply_call_end(cur, CallEnd(attempt, "live_bridged", now, hangup_cause="NORMAL_CLEARING",
                                          billsec=40, live=True, abandoned=False))

    attempt_row, lead_row = read_rows(conn, attempt)
    assert attempt_row["agent_name"] == "1001@default"
    assert attempt_row["answered_at"] is not None
    assert attempt_row["billsec"] == 40
    assert lead_row["status"] == "done"
    assert lead_row["next_attempt_at"] is None


def test_last_attempt_exhausts_lead(conn, tenant):
    with db.transaction(conn) as cur:
        cur.execute("UPDATE campaigns SET max_attempts = 1 WHERE id = %s", (tenant["campaign_id"],))
    attempt = start_attempt(conn, tenant)
    with db.transaction(conn) as cur:
        store.apply_call_end(cur, CallEnd(attempt, "no_answer", datetime.now(tz=UTC), hangup_cause="NO_ANSWER"))

    _, lead_row = read_rows(conn, attempt)
    assert lead_row["status"] == "exhausted"


def test_unsent_attempt_frees_lead(conn, tenant):
    attempt = start_attempt(conn, tenant)
    with db.transaction(conn) as cur:
        store.end_unsent_attempt(cur, attempt)

    attempt_row, lead_row = read_rows(conn, attempt)
    assert attempt_row["outcome"] == "failed"
    assert lead_row["status"] == "retry"
    assert lead_row["attempts_count"] == 0
