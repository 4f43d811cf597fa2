"""Dialing through the compliance gate with real PostgreSQL, Redis and an Event Socket peer.

The gates run on a fixed clock (``GATE_NOW``), so the windows are open or
closed whatever the hour the suite runs at.
"""

from __future__ import annotations

import datetime as dt

import gevent

from dialer_common import db
from dialer_common.compliance import CapRequest, add_numbers
from dialer_common.config import SwitchAddress
from orchestrator.calls import CallTracker
from orchestrator.campaigns import place_dials
from orchestrator.esl_client import EslClient
from tests.esl.replay import ReplayServer, wait_for
from tests.orchestrator.conftest import (
    GATE_NOW,
    BgapiSwitch,
    add_lead,
    attempts_of,
    blocks_of,
    lead_row,
    start_runtime,
)

NEW_YORK = "+12127363100"
HONOLULU = "+18089561234"
BOGOTA = "+573001234567"


def set_packs(conn, tenant_id: int, campaign_id: int, packs: list[str]) -> None:
    with db.transaction(conn) as cur:
        cur.execute(
            "UPDATE campaigns SET compliance_packs = %s WHERE tenant_id = %s AND id = %s",
            (packs, tenant_id, campaign_id),
        )


def add_campaign(conn, tenant) -> int:
    with db.transaction(conn) as cur:
        cur.execute(
            "INSERT INTO campaigns (tenant_id, name, status, trunk_id, queue_name, caller_id_name)"
            " VALUES (%s, 'Segunda', 'draft', %s, %s, 'Ventas') RETURNING id",
            (tenant["id"], tenant["trunk_id"], f"second-{tenant['slug']}@default"),
        )
        return cur.fetchone()["id"]


def test_closed_window_lead_not_dialed(conn, tenant, switch, make_gate):
    handler, client = switch
    gate = make_gate(tenant["id"])
    runtime = start_runtime(conn, tenant["id"], tenant["campaign_id"], gate.packs)
    open_lead = add_lead(conn, tenant["id"], tenant["campaign_id"], NEW_YORK, "NY")
    closed_lead = add_lead(conn, tenant["id"], tenant["campaign_id"], HONOLULU, "HI")

    sent = place_dials(conn, client, CallTracker(), runtime, "sim1", 5, gate)

    assert sent == 1
    assert len(handler.originates) == 1
    assert f"dialer_lead_id={open_lead}," in handler.originates[0]
    assert attempts_of(conn, closed_lead) == []
    blocks = blocks_of(conn, closed_lead)
    assert [block["rule"] for block in blocks] == ["us-federal:hours"]
    assert "08:00" in blocks[0]["reason"]
    # Hawaii's zone is Pacific/Honolulu (UTC-10, no daylight saving time),
    # so the window opens at 08:00 there, 18:00 UTC.
    opens_at = dt.datetime(2031, 3, 12, 18, 0, tzinfo=dt.UTC)
    assert blocks[0]["retry_at"] == opens_at
    lead = lead_row(conn, closed_lead)
    assert lead["status"] == "new"
    assert lead["next_attempt_at"] == opens_at
    assert lead["attempts_count"] == 0


def test_dnc_added_while_running(conn, tenant, switch, make_gate):
    handler, client = switch
    gate = make_gate(tenant["id"])
    runtime = start_runtime(conn, tenant["id"], tenant["campaign_id"], gate.packs)
    first = add_lead(conn, tenant["id"], tenant["campaign_id"], NEW_YORK, "NY")
    second = add_lead(conn, tenant["id"], tenant["campaign_id"], "+12127363101", "NY")
    tracker = CallTracker()

    assert place_dials(conn, client, tracker, runtime, "sim1", 1, gate) == 1
    add_numbers(conn, tenant["id"], ["+12127363101"], "asked not to be called", "test")
    sent = place_dials(conn, client, tracker, runtime, "sim1", 1, gate)

    assert sent == 0
    assert len(handler.originates) == 1
    assert f"dialer_lead_id={first}," in handler.originates[0]
    assert attempts_of(conn, second) == []
    assert [block["rule"] for block in blocks_of(conn, second)] == ["dnc:internal"]
    assert lead_row(conn, second)["status"] == "dnc"


def test_caps_hold_two_orchestrators(conn, config, tenant, make_gate):
    # Colombia allows one call per number in 24 h; the number is a lead of two campaigns.
    second_campaign = add_campaign(conn, tenant)
    leads = []
    runtimes = []
    for campaign_id in (tenant["campaign_id"], second_campaign):
        set_packs(conn, tenant["id"], campaign_id, ["co-ley-2300"])
        leads.append(add_lead(conn, tenant["id"], campaign_id, BOGOTA))
    gates = [make_gate(tenant["id"]), make_gate(tenant["id"])]
    for campaign_id, gate in zip((tenant["campaign_id"], second_campaign), gates, strict=True):
        runtimes.append(start_runtime(conn, tenant["id"], campaign_id, gate.packs))

    handlers = [BgapiSwitch(), BgapiSwitch()]
    with ReplayServer(handlers[0]) as first_server, ReplayServer(handlers[1]) as second_server:
        clients = [
            EslClient(SwitchAddress(f"sim{index}", "127.0.0.1", server.port, "ClueCon"), (), on_event=lambda _: None)
            for index, server in enumerate((first_server, second_server))
        ]
        for client in clients:
            client.start()
        wait_for(lambda: all(client.connected for client in clients))
        connections = [db.connect(config.database_url) for _ in clients]
        try:
            greenlets = [
                gevent.spawn(place_dials, connections[index], clients[index], CallTracker(), runtimes[index],
                             f"sim{index}", 1, gates[index])
                for index in range(2)
            ]
            gevent.joinall(greenlets, raise_error=True)
        finally:
            for item in connections:
                item.close()
            for client in clients:
                client.stop()

    assert sorted(greenlet.value for greenlet in greenlets) == [0, 1]
    assert sum(len(handler.originates) for handler in handlers) == 1
    blocked = [lead for lead in leads if not attempts_of(conn, lead)]
    assert len(blocked) == 1
    blocks = blocks_of(conn, blocked[0])
    assert [block["rule"] for block in blocks] == ["co-ley-2300:cap_number"]
    assert blocks[0]["retry_at"] > GATE_NOW
    assert lead_row(conn, blocked[0])["next_attempt_at"] == blocks[0]["retry_at"]


def test_unsent_originate_gives_caps_back(conn, tenant, switch, make_gate):
    handler, client = switch
    set_packs(conn, tenant["id"], tenant["campaign_id"], ["co-ley-2300"])
    gate = make_gate(tenant["id"])
    runtime = start_runtime(conn, tenant["id"], tenant["campaign_id"], gate.packs)
    lead_id = add_lead(conn, tenant["id"], tenant["campaign_id"], BOGOTA)
    number_cap = CapRequest("number", BOGOTA, 1, 86400, "co-ley-2300:cap_number")
    tracker = CallTracker()

    handler.reject = True
    assert place_dials(conn, client, tracker, runtime, "sim1", 1, gate) == 0

    assert gate.caps.count(tenant["id"], number_cap, GATE_NOW) == 0
    assert [row["hangup_cause"] for row in attempts_of(conn, lead_id)] == ["ORIGINATE_NOT_SENT"]
    assert lead_row(conn, lead_id)["status"] == "retry"

    handler.reject = False
    assert place_dials(conn, client, tracker, runtime, "sim1", 1, gate) == 1
    assert gate.caps.count(tenant["id"], number_cap, GATE_NOW) == 1
    assert blocks_of(conn, lead_id) == []


def test_no_rules_no_dial(conn, tenant, switch, make_gate):
    handler, client = switch
    gate = make_gate(tenant["id"])
    runtime = start_runtime(conn, tenant["id"], tenant["campaign_id"], gate.packs)
    runtime.rules = None
    lead_id = add_lead(conn, tenant["id"], tenant["campaign_id"], NEW_YORK, "NY")

    assert place_dials(conn, client, CallTracker(), runtime, "sim1", 1, gate) == 0
    assert handler.originates == []
    assert lead_row(conn, lead_id)["status"] == "new"
