"""Do-not-call lists, blocked-dial evidence and the abandonment rate, on the session database."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest

from dialer_common import db
from dialer_common.compliance import dnc
from dialer_common.compliance.evidence import PgEvidence, abandonment_status
from dialer_common.compliance.gate import CampaignRules, ComplianceGate, LeadInfo
from dialer_common.compliance.settings import load_campaign_rules, save_campaign_rules
from dialer_common.errors import ValidationError

UTC = dt.UTC
NOON = dt.datetime(2026, 6, 3, 16, 0, tzinfo=UTC)


@pytest.fixture
def gate(config, conn, caps, packs):
    dial_conn = db.connect(config.database_url)
    evidence_conn = db.connect(config.database_url)
    yield ComplianceGate(packs, caps, dnc.PgDncLookup(dial_conn), evidence=PgEvidence(evidence_conn))
    dial_conn.close()
    evidence_conn.close()


def test_internal_dnc_blocks_at_once(gate, conn, tenant):
    campaign = CampaignRules(tenant["id"], tenant["campaign_id"], pack_ids=("us-federal",))
    lead = LeadInfo(42, "+12125550123")
    assert gate.check(lead, campaign, NOON).allowed

    dnc.add_numbers(conn, tenant["id"], ["+12125550123"], "agent disposition", "agent:1001")
    verdict = gate.check(lead, campaign, NOON + dt.timedelta(seconds=1))

    assert verdict.rule == "dnc:internal"
    with conn.cursor() as cur:
        cur.execute("SELECT * FROM compliance_blocks WHERE tenant_id = %s", (tenant["id"],))
        rows = cur.fetchall()
    assert len(rows) == 1
    assert rows[0]["rule"] == "dnc:internal"
    assert rows[0]["lead_id"] == 42
    assert rows[0]["campaign_id"] == tenant["campaign_id"]
    assert rows[0]["phone_e164"] == "+12125550123"


def test_hours_block_stores_pack_version(gate, conn, tenant):
    campaign = CampaignRules(tenant["id"], tenant["campaign_id"], pack_ids=("us-federal",))
    verdict = gate.check(LeadInfo(43, "+12125550123"), campaign, NOON.replace(hour=3))
    assert verdict.rule == "us-federal:hours"
    with conn.cursor() as cur:
        cur.execute(
            "SELECT pack_version, retry_at FROM compliance_blocks WHERE tenant_id = %s", (tenant["id"],)
        )
        row = cur.fetchone()
    assert row["pack_version"] == "us-federal@2026.1"
    assert row["retry_at"] == dt.datetime(2026, 6, 3, 12, 0, tzinfo=UTC)


def test_repep_delay_and_collections(gate, conn, tenant, packs):
    signup = dt.date(2026, 5, 1)
    upload = dnc.add_registry_list(
        conn,
        tenant["id"],
        "mx-repep",
        dt.date(2026, 5, 20),
        [("+525512345678", signup)],
        packs,
        today=dt.date(2026, 5, 20),
    )
    assert upload.numbers == 1
    sales = CampaignRules(tenant["id"], tenant["campaign_id"], pack_ids=("mx-repep", "mx-collections"))
    collections = CampaignRules(
        tenant["id"],
        tenant["campaign_id"],
        purpose="collections",
        pack_ids=("mx-repep", "mx-collections"),
        max_attempts=10,
    )
    lead = LeadInfo(44, "+525512345678")
    # 10:00 in Mexico City (UTC-6).
    before = dt.datetime(2026, 5, 30, 16, 0, tzinfo=UTC)
    after = dt.datetime(2026, 5, 31, 16, 0, tzinfo=UTC)

    assert gate.check(lead, sales, before).allowed
    assert gate.check(lead, sales, after).rule == "dnc:mx-repep"
    assert gate.check(lead, collections, after).allowed


def test_registry_upload_warns_when_stale(conn, tenant, packs):
    upload = dnc.add_registry_list(
        conn,
        tenant["id"],
        "us-national-dnc",
        dt.date(2026, 4, 1),
        [("+12125550199", None)],
        packs,
        today=dt.date(2026, 5, 15),
    )
    assert len(upload.warnings) == 1
    assert "44 days old" in upload.warnings[0]
    fresh = dnc.add_registry_list(
        conn,
        tenant["id"],
        "us-national-dnc",
        dt.date(2026, 5, 10),
        [("+12125550199", None)],
        packs,
        today=dt.date(2026, 5, 15),
    )
    assert fresh.warnings == ()


def test_registry_upload_rejects_unknown_registry(conn, tenant, packs):
    with pytest.raises(ValidationError, match="unknown registry 'nope'"):
        dnc.add_registry_list(conn, tenant["id"], "nope", dt.date(2026, 5, 1), [], packs)


def test_import_scrub_returns_blocked_numbers(conn, tenant, packs):
    dnc.add_numbers(conn, tenant["id"], ["+13055550101"], "", "test")
    dnc.add_registry_list(
        conn, tenant["id"], "us-national-dnc", dt.date.today(), [("+13055550102", None)], packs
    )
    phones = ["+13055550101", "+13055550102", "+13055550103"]

    sales = dnc.blocked_for_import(conn, tenant["id"], phones, "telemarketing", packs)
    collections = dnc.blocked_for_import(conn, tenant["id"], phones, "collections", packs)

    assert sales == {"+13055550101": "internal", "+13055550102": "us-national-dnc"}
    assert collections == {"+13055550101": "internal"}


def test_campaign_settings_round_trip(conn, tenant, packs):
    save_campaign_rules(
        conn,
        tenant["id"],
        tenant["campaign_id"],
        "collections",
        ["us-federal", "us-debt-collection"],
        {"busy": 120},
        packs,
    )
    rules = load_campaign_rules(conn, tenant["id"], tenant["campaign_id"])
    assert rules.purpose == "collections"
    assert rules.pack_ids == ("us-federal", "us-debt-collection")
    assert rules.retry_delay_s("busy") == 120
    assert rules.retry_delay_s("no_answer") == 3600
    with pytest.raises(ValidationError, match="unknown rule pack 'us-xx'"):
        save_campaign_rules(conn, tenant["id"], tenant["campaign_id"], "collections", ["us-xx"], {}, packs)


def insert_cdr(conn, tenant_id, campaign_id, started_at, live, abandoned=False, safe_harbor=False, leg="a"):
    with db.transaction(conn) as cur:
        cur.execute(
            "INSERT INTO cdr (tenant_id, call_uuid, leg, started_at, campaign_id, answered, live, abandoned,"
            " safe_harbor_played, safe_harbor_at, duration, raw)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                tenant_id,
                str(uuid.uuid4()),
                leg,
                started_at,
                campaign_id,
                live is not None,
                live,
                abandoned,
                safe_harbor,
                started_at if safe_harbor else None,
                20,
                json.dumps({}),
            ),
        )


def test_abandonment_counts_safe_harbor_and_ignores_machines(conn, tenant):
    now = dt.datetime.now(UTC)
    tid, cid = tenant["id"], tenant["campaign_id"]
    with db.transaction(conn) as cur:
        cur.execute("UPDATE campaigns SET created_at = %s WHERE id = %s", (now - dt.timedelta(days=10), cid))
    for _ in range(96):
        insert_cdr(conn, tid, cid, now - dt.timedelta(hours=1), live=True)
    insert_cdr(conn, tid, cid, now - dt.timedelta(hours=2), live=True, abandoned=True)
    insert_cdr(conn, tid, cid, now - dt.timedelta(hours=2), live=True, abandoned=True, safe_harbor=True)
    insert_cdr(conn, tid, cid, now - dt.timedelta(hours=2), live=True, safe_harbor=True)
    insert_cdr(conn, tid, cid, now - dt.timedelta(hours=2), live=False)
    insert_cdr(conn, tid, cid, now - dt.timedelta(hours=2), live=True, abandoned=True, leg="b")

    status = abandonment_status(conn, tid, cid, now)

    assert status.live_answers == 99
    assert status.abandoned == 3
    assert status.rate_pct == 3.03
    assert status.must_go_progressive


def test_abandonment_window_is_30_days(conn, tenant):
    now = dt.datetime.now(UTC)
    tid, cid = tenant["id"], tenant["campaign_id"]
    with db.transaction(conn) as cur:
        cur.execute("UPDATE campaigns SET created_at = %s WHERE id = %s", (now - dt.timedelta(days=90), cid))
    insert_cdr(conn, tid, cid, now - dt.timedelta(days=31), live=True, abandoned=True)
    for _ in range(40):
        insert_cdr(conn, tid, cid, now - dt.timedelta(days=29), live=True)

    status = abandonment_status(conn, tid, cid, now)

    assert status.live_answers == 40
    assert status.abandoned == 0
    assert not status.must_go_progressive
    assert status.since == now - dt.timedelta(days=30)


def test_abandonment_counts_only_the_campaign_life(conn, tenant):
    now = dt.datetime.now(UTC)
    tid, cid = tenant["id"], tenant["campaign_id"]
    with db.transaction(conn) as cur:
        cur.execute("UPDATE campaigns SET created_at = %s WHERE id = %s", (now - dt.timedelta(days=2), cid))
    insert_cdr(conn, tid, cid, now - dt.timedelta(days=3), live=True, abandoned=True)
    insert_cdr(conn, tid, cid, now - dt.timedelta(days=1), live=True)

    status = abandonment_status(conn, tid, cid, now)

    assert status.live_answers == 1
    assert status.abandoned == 0
    assert status.since < now - dt.timedelta(days=1, hours=23)


def test_check_batch_matches_check(gate, conn, tenant, config, redis_client, packs):
    dnc.add_numbers(conn, tenant["id"], ["+13055550102"], "", "test")
    campaign = CampaignRules(
        tenant["id"], tenant["campaign_id"], pack_ids=("us-federal", "us-fl"), max_attempts=9
    )
    leads = [
        LeadInfo(1, "+13055550101", postal_code="33101"),
        LeadInfo(2, "+13055550102", postal_code="33101"),
        LeadInfo(3, "+19075550103", postal_code="99501"),
        LeadInfo(4, "+573012345678"),
    ] + [LeadInfo(5, "+13055550101")] * 3
    # 13:00 in Miami, 09:00 in Anchorage: all open.
    now = dt.datetime(2026, 6, 3, 17, 0, tzinfo=UTC)

    batch = [(v.allowed, v.rule) for v in gate.check_batch(leads, campaign, now)]
    for key in redis_client.scan_iter(f"{config.redis_prefix}*"):
        redis_client.delete(key)
    single = [(v.allowed, v.rule) for v in (gate.check(lead, campaign, now) for lead in leads)]

    assert batch == single
    assert batch == [
        (True, None),
        (False, "dnc:internal"),
        (True, None),
        (False, "packs:none"),
        (True, None),
        (True, None),
        (False, "us-fl:cap_number"),
    ]
