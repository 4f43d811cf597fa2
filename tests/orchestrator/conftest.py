"""Fixtures for dialing through the compliance gate: a switch that replies to
bgapi on 127.0.0.1, a running campaign's runtime, and gates on a fixed clock."""

from __future__ import annotations

import datetime as dt

import gevent
import pytest
import redis

from dialer_common import db
from dialer_common.compliance import (
    ComplianceGate,
    PackSet,
    PgDncLookup,
    PgEvidence,
    RedisFrequencyCaps,
    load_campaign_rules,
    tenant_packs,
)
from dialer_common.config import SwitchAddress
from orchestrator import store
from orchestrator.campaigns import CampaignRuntime
from orchestrator.esl_client import EslClient
from tests.esl.replay import ACCEPTED, AUTH_REQUEST, Peer, ReplayServer, wait_for

# A Wednesday that is no US or Colombian holiday: New York 11:00, Bogotá
# 10:00, Honolulu 05:00 (before the 08:00 federal window opens).
GATE_NOW = dt.datetime(2031, 3, 12, 15, 0, tzinfo=dt.UTC)


class BgapiSwitch:
    """Reply to each bgapi with +OK (or -ERR while ``reject`` is set) and keeps the originate lines."""

    def __init__(self) -> None:
        self.originates: list[str] = []
        self.reject = False

    def __call__(self, peer: Peer) -> None:
        # The clients subscribe to no event, so only the auth command precedes the bgapi lines.
        peer.send(AUTH_REQUEST)
        peer.read_command()
        peer.send(ACCEPTED)
        while (command := peer.read_command()) is not None:
            line = command.decode().splitlines()[0]
            if not line.startswith("bgapi "):
                peer.send(b"Content-Type: command/reply\nReply-Text: +OK\n\n")
                continue
            if self.reject:
                peer.send(b"Content-Type: command/reply\nReply-Text: -ERR no such command\n\n")
                continue
            self.originates.append(line.removeprefix("bgapi "))
            peer.send(b"Content-Type: command/reply\nReply-Text: +OK Job-UUID: 1\n\n")


@pytest.fixture
def switch():
    """A BgapiSwitch and a connected EslClient to it."""
    handler = BgapiSwitch()
    with ReplayServer(handler) as server:
        client = EslClient(SwitchAddress("sim1", "127.0.0.1", server.port, "ClueCon"), (), on_event=lambda _: None)
        client.start()
        wait_for(lambda: client.connected)
        yield handler, client
        client.stop()
        gevent.sleep(0)


@pytest.fixture(scope="session")
def shipped_packs() -> PackSet:
    return PackSet.load()


@pytest.fixture
def make_gate(config, shipped_packs):
    """Build gates as separate orchestrators hold them: own Redis client and database connections."""
    opened = []

    def build(tenant_id: int, clock=lambda: GATE_NOW) -> ComplianceGate:
        redis_client = redis.Redis.from_url(config.redis_url)
        dnc_conn = db.connect(config.database_url)
        evidence_conn = db.connect(config.database_url)
        opened.extend([redis_client, dnc_conn, evidence_conn])
        dnc = PgDncLookup(dnc_conn)
        packs = tenant_packs(dnc_conn, tenant_id, shipped_packs)
        return ComplianceGate(
            packs, RedisFrequencyCaps(redis_client, config.redis_prefix), dnc,
            clock=clock, evidence=PgEvidence(evidence_conn),
        )

    yield build
    for item in opened:
        item.close()


def start_runtime(conn, tenant_id: int, campaign_id: int, packs: PackSet) -> CampaignRuntime:
    """Set a campaign running and return the runtime the orchestrator would build for it."""
    with db.transaction(conn) as cur:
        cur.execute(
            "UPDATE campaigns SET status = 'running' WHERE tenant_id = %s AND id = %s", (tenant_id, campaign_id)
        )
        row = next(item for item in store.load_running_campaigns(cur) if item.id == campaign_id)
    runtime = CampaignRuntime.start(row)
    runtime.dids = ["+13055550150"]
    with conn:
        runtime.update_compliance(load_campaign_rules(conn, tenant_id, campaign_id), packs, None)
    return runtime


def add_lead(conn, tenant_id: int, campaign_id: int, phone: str, state_code: str | None = None) -> int:
    with db.transaction(conn) as cur:
        cur.execute(
            "INSERT INTO leads (tenant_id, campaign_id, phone_e164, state_code) VALUES (%s, %s, %s, %s)"
            " RETURNING id",
            (tenant_id, campaign_id, phone, state_code),
        )
        return cur.fetchone()["id"]


def lead_row(conn, lead_id: int) -> dict:
    with db.transaction(conn) as cur:
        cur.execute("SELECT status, next_attempt_at, attempts_count FROM leads WHERE id = %s", (lead_id,))
        return cur.fetchone()


def blocks_of(conn, lead_id: int) -> list[dict]:
    with db.transaction(conn) as cur:
        cur.execute("SELECT rule, reason, retry_at FROM compliance_blocks WHERE lead_id = %s ORDER BY id", (lead_id,))
        return cur.fetchall()


def attempts_of(conn, lead_id: int) -> list[dict]:
    with db.transaction(conn) as cur:
        cur.execute("SELECT state, hangup_cause FROM attempts WHERE lead_id = %s", (lead_id,))
        return cur.fetchall()
