"""CDR group commit: batching, duplicates, failed batches and a lost database, against real PostgreSQL."""

from __future__ import annotations

import base64
import json
import threading
import uuid

import pytest
import requests

from dialer_common.cdr.committer import APPLICATION_NAME, BatchFailed, CdrCommitter, QueueFull
from dialer_common.cdr.parse import CdrError
from dialer_common.cdr.store import parse_cdr
from tests.conftest import free_port
from tests.web.cdr_samples import HTTP_FILES, for_tenant, read_request
from web.cdr.views import COMMITTER_KEY, get_committer
from web.db import DatabaseUnavailable

AUTH = "Basic " + base64.b64encode(b"cdr:cdr-secret").decode()
RAW = HTTP_FILES[0].parent.parent / "raw"
WAIT_S = 10


@pytest.fixture
def committer(config):
    committer = CdrCommitter.for_database(config.database_url)
    yield committer
    committer.close()


@pytest.fixture(autouse=True)
def _close_app_committer(request):
    app = request.getfixturevalue("app") if "app" in request.fixturenames else None
    yield
    if app is not None:
        get_committer(app).close()


@pytest.fixture
def poison_trigger(conn):
    """Make PostgreSQL reject every cdr row whose switchname starts with 'poison'."""
    with conn.cursor() as cur:
        cur.execute("""
            CREATE FUNCTION test_reject_poison() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.switchname LIKE 'poison%' THEN
                    RAISE EXCEPTION 'poisoned CDR %', NEW.call_uuid;
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER test_reject_poison BEFORE INSERT ON cdr
                FOR EACH ROW EXECUTE FUNCTION test_reject_poison();
        """)
    conn.commit()
    yield
    with conn.cursor() as cur:
        cur.execute("DROP TRIGGER test_reject_poison ON cdr; DROP FUNCTION test_reject_poison();")
    conn.commit()


def _row(tenant_id: int, name: str = "originate_busy", switchname: str | None = None) -> dict:
    request = read_request(RAW / f"{name}.http")
    call_uuid = str(uuid.uuid4())
    row = parse_cdr(for_tenant(request, tenant_id, uuid=call_uuid), "application/json")
    if switchname is not None:
        row["switchname"] = switchname
    return row


def _stored_count(conn, call_uuids: list[str]) -> int:
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) AS n FROM cdr WHERE call_uuid = ANY(%s::uuid[])", (call_uuids,))
        count = cur.fetchone()["n"]
    conn.rollback()
    return count


def _one_batch(committer: CdrCommitter, rows: list[dict]) -> list:
    """Submit ``rows`` while the committer is paused, so they form one batch; return outcomes or errors."""
    committer.pause()
    tickets = [committer.submit(row) for row in rows]
    committer.resume()
    results = []
    for ticket in tickets:
        try:
            results.append(ticket.wait(WAIT_S))
        except (BatchFailed, CdrError, DatabaseUnavailable) as error:
            results.append(error)
    return results


def test_batch_duplicates_inside_and_across(committer, conn, tenant):
    earlier = _row(tenant["id"])
    assert committer.submit(earlier).wait(WAIT_S) == "stored"
    fresh = _row(tenant["id"])
    batches_before = committer.batches_committed

    results = _one_batch(committer, [fresh, dict(fresh), earlier, dict(fresh)])

    assert results == ["stored", "duplicate", "duplicate", "duplicate"]
    assert committer.batches_committed == batches_before + 1
    assert _stored_count(conn, [fresh["call_uuid"], earlier["call_uuid"]]) == 2


def test_batch_stores_both_legs_of_call(committer, conn, tenant):
    member = _row(tenant["id"], "callcenter_flow.member_leg")
    agent = _row(tenant["id"], "callcenter_flow.agent_leg")
    agent["call_uuid"] = member["call_uuid"]

    results = _one_batch(committer, [member, agent])

    assert results == ["stored", "stored"]
    assert _stored_count(conn, [member["call_uuid"]]) == 2


def test_batch_unknown_tenant_rejected_alone(committer, conn, tenant):
    good = _row(tenant["id"])
    stranger = _row(987654321)

    results = _one_batch(committer, [good, stranger])

    assert results[0] == "stored"
    assert isinstance(results[1], CdrError)
    assert results[1].reason == "unknown_tenant"
    assert _stored_count(conn, [good["call_uuid"], stranger["call_uuid"]]) == 1


def test_batch_failure_isolates_rejected_row(committer, conn, tenant, poison_trigger):
    rows = [_row(tenant["id"]), _row(tenant["id"], switchname="poison-1"), _row(tenant["id"])]
    rows.append(dict(rows[1]))

    results = _one_batch(committer, rows)

    assert results[0] == "stored"
    assert results[2] == "stored"
    assert isinstance(results[1], BatchFailed)
    assert isinstance(results[3], BatchFailed)
    assert "poisoned CDR" in str(results[1])
    assert _stored_count(conn, [rows[0]["call_uuid"], rows[2]["call_uuid"]]) == 2
    assert _stored_count(conn, [rows[1]["call_uuid"]]) == 0


def test_batch_failure_stores_nothing(committer, conn, tenant, poison_trigger):
    rows = [_row(tenant["id"], switchname=f"poison-{index}") for index in range(5)]

    results = _one_batch(committer, rows)

    assert all(isinstance(result, BatchFailed) for result in results), results
    assert _stored_count(conn, [row["call_uuid"] for row in rows]) == 0


def test_batch_after_connection_killed(committer, conn, tenant):
    assert committer.submit(_row(tenant["id"])).wait(WAIT_S) == "stored"
    with conn.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    " AND application_name = %s", (APPLICATION_NAME,))
        assert cur.rowcount == 1
    conn.commit()
    lost = _row(tenant["id"])

    with pytest.raises(DatabaseUnavailable):
        committer.submit(lost).wait(WAIT_S)
    retried = committer.submit(lost).wait(WAIT_S)

    assert retried == "stored"
    assert _stored_count(conn, [lost["call_uuid"]]) == 1


def test_database_down_answers_each_ticket(tenant):
    committer = CdrCommitter.for_database(f"postgresql://dialer:dialer@127.0.0.1:{free_port()}/dialer")
    try:
        results = _one_batch(committer, [_row(tenant["id"]), _row(tenant["id"])])
    finally:
        committer.close()

    assert all(isinstance(result, DatabaseUnavailable) for result in results), results


def test_submit_queue_full_raises(committer, tenant):
    small = CdrCommitter(committer._connect, max_pending=2)
    small.pause()
    small.submit(_row(tenant["id"]))
    small.submit(_row(tenant["id"]))

    with pytest.raises(QueueFull, match="2 CDRs are already waiting"):
        small.submit(_row(tenant["id"]))
    small.close()


def test_close_commits_queued_rows(config, conn, tenant):
    committer = CdrCommitter.for_database(config.database_url)
    committer.pause()
    tickets = [committer.submit(_row(tenant["id"])) for _ in range(3)]

    committer.close()

    assert [ticket.wait(0) for ticket in tickets] == ["stored"] * 3
    with pytest.raises(QueueFull, match="shut down"):
        committer.submit(_row(tenant["id"]))


def test_idle_thread_exits_and_restarts(config, tenant):
    committer = CdrCommitter.for_database(config.database_url, idle_exit_s=0.2)
    try:
        assert committer.submit(_row(tenant["id"])).wait(WAIT_S) == "stored"
        thread = committer._thread
        thread.join(WAIT_S)
        assert not thread.is_alive()
        assert committer.submit(_row(tenant["id"])).wait(WAIT_S) == "stored"
    finally:
        committer.close()


def test_http_concurrent_posts_stored_once(live_server, conn, tenant):
    request = read_request(HTTP_FILES[0].parent.parent / "encoded" / "originate_answer_hangup.http")
    call_uuids = [str(uuid.uuid4()) for _ in range(50)]
    bodies = [for_tenant(request, tenant["id"], uuid=call_uuid) for call_uuid in call_uuids]
    statuses: dict[str, list[str]] = {call_uuid: [] for call_uuid in call_uuids}
    start = threading.Barrier(50)

    def post_twice(index: int) -> None:
        session = requests.Session()
        start.wait(WAIT_S)
        for _ in range(2):
            response = session.post(f"{live_server}/api/cdr?uuid={call_uuids[index]}", data=bodies[index],
                                    headers={"Content-Type": request.headers["Content-Type"],
                                             "Authorization": AUTH}, timeout=WAIT_S)
            statuses[call_uuids[index]].append(f"{response.status_code} {response.json().get('status')}")

    threads = [threading.Thread(target=post_twice, args=(index,)) for index in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(2 * WAIT_S)

    assert all(answers == ["200 stored", "200 duplicate"] for answers in statuses.values()), statuses
    assert _stored_count(conn, call_uuids) == 50


def test_http_failed_row_answers_503(live_server, conn, tenant, poison_trigger):
    request = read_request(RAW / "originate_busy.http")
    body = for_tenant(request, tenant["id"])
    body = json.dumps(dict(json.loads(body), switchname="poison-http")).encode()

    response = requests.post(f"{live_server}/api/cdr", data=body, timeout=WAIT_S,
                             headers={"Content-Type": "application/json", "Authorization": AUTH})

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json()["error"]["code"] == "database_error"


def test_http_queue_full_answers_503(app, client, tenant):
    full = CdrCommitter.for_database(app.config["DIALER"].database_url, max_pending=1)
    get_committer(app).close()
    app.extensions[COMMITTER_KEY] = full
    full.pause()
    waiting = full.submit(_row(tenant["id"]))
    request = read_request(RAW / "originate_busy.http")

    response = client.post("/api/cdr", data=for_tenant(request, tenant["id"]),
                           headers={"Content-Type": "application/json", "Authorization": AUTH})

    assert response.status_code == 503
    assert response.json["error"]["code"] == "ingest_busy"
    assert response.headers["Retry-After"] == "5"
    full.resume()
    assert waiting.wait(WAIT_S) == "stored"


def test_out_of_range_variable_rejected(client, conn, tenant):
    request = read_request(RAW / "originate_busy.http")
    body = for_tenant(request, tenant["id"], dialer_campaign_id="99999999999999999999")

    response = client.post("/api/cdr", data=body, headers={"Content-Type": "application/json",
                                                           "Authorization": AUTH})

    assert response.status_code == 422
    assert response.json["error"]["code"] == "invalid_variable"
    assert "dialer_campaign_id" in response.json["error"]["detail"]

