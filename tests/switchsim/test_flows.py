"""Dialer flows at high speed, with CDRs posted to a real HTTP server."""

from __future__ import annotations

import threading

import pytest

from dialer_common.esl import parse_event
from tests.switchsim.conftest import Client, start_simulator

SUBSCRIBE = (
    "event plain CHANNEL_CREATE CHANNEL_ANSWER CHANNEL_BRIDGE CHANNEL_HANGUP "
    "CHANNEL_HANGUP_COMPLETE BACKGROUND_JOB CUSTOM callcenter::info"
)


@pytest.fixture
def node(tmp_path, cdr_server):
    url = f"http://127.0.0.1:{cdr_server.server_address[1]}"
    process, port = start_simulator(tmp_path, "--cdr-url", url + "/api/cdr", "--cdr-retries", "1", "--cdr-delay", "0.1")
    client = Client(port)
    client.read_until(lambda frame: frame.content_type == "auth/request")
    client.send("auth ClueCon")
    client.send(SUBSCRIBE)
    yield client
    client.close()
    process.terminate()
    process.wait(timeout=5)


def originate(client: Client, call_uuid: str, number: str) -> None:
    variables = (
        f"origination_uuid={call_uuid},origination_caller_id_number=15550150,"
        "origination_caller_id_name='Peña Test',originate_timeout=30,ignore_early_media=true,"
        "dialer_campaign_id=7,dialer_queue=sales,dialer_machine_action=hangup,"
        "cc_export_vars='dialer_campaign_id'"
    )
    client.send(f"bgapi originate {{{variables}}}sofia/gateway/gw1/{number} dialer XML dialer")


def hangup_complete(client: Client, call_uuid: str):
    def is_complete(frame) -> bool:
        if b"CHANNEL_HANGUP_COMPLETE" not in frame.body:
            return False
        event = parse_event(frame)
        return event.name == "CHANNEL_HANGUP_COMPLETE" and event.uuid == call_uuid

    return parse_event(client.read_until(is_complete, timeout=15))


def test_no_agent_plays_safe_harbor(node, cdr_server):
    call_uuid = "11111111-0000-4000-8000-000000000001"
    originate(node, call_uuid, "15550102")
    complete = hangup_complete(node, call_uuid)
    assert complete.get("variable_dialer_amd_result") == "person"
    assert complete.get("variable_dialer_decision") == "queue"
    assert complete.get("variable_dialer_abandoned") == "true"
    assert complete.get("variable_dialer_safe_harbor_ms")
    assert complete.get("variable_dialer_bridged_ms") is None
    queue_end = next(e for e in node.events() if e.get("CC-Action") == "member-queue-end")
    assert queue_end.get("CC-Cause") == "Cancel"
    assert queue_end.get("CC-Cancel-Reason") == "BREAK_OUT"
    path, cdr, authorization = cdr_server.posts[0]
    assert path == f"/api/cdr?uuid={call_uuid}"
    assert authorization.startswith("Basic ")
    assert cdr["variables"]["dialer_abandoned"] == "true"
    assert cdr["variables"]["origination_caller_id_name"] == "Peña Test"


def test_live_call_bridged_to_agent(node, cdr_server):
    for command in (
        "api callcenter_config agent add 1001@default callback",
        "api callcenter_config agent set contact 1001@default sofia/external/agent1001@127.0.0.1",
        "api callcenter_config agent set status 1001@default Available",
        "api callcenter_config tier add sales 1001@default 1 1",
    ):
        node.send(command)
    call_uuid = "11111111-0000-4000-8000-000000000002"
    originate(node, call_uuid, "15550101")
    complete = hangup_complete(node, call_uuid)
    assert complete.get("variable_dialer_abandoned") == "false"
    assert complete.get("variable_dialer_agent") == "1001@default"
    assert int(complete.get("variable_dialer_bridged_ms")) >= int(
        complete.get("variable_dialer_greeting_end_ms")
    )
    bridge = next(e for e in node.events() if e.name == "CHANNEL_BRIDGE")
    agent_uuid = bridge.get("Bridge-B-Unique-ID")
    assert agent_uuid != call_uuid
    legs = {cdr["variables"]["uuid"]: cdr for _, cdr, _ in cdr_server.posts}
    assert set(legs) == {call_uuid, agent_uuid}
    assert "originator" in legs[agent_uuid]["callflow"][0]["caller_profile"]
    assert legs[agent_uuid]["variables"]["dialer_campaign_id"] == "7"


def test_machine_hangup_and_busy(node, cdr_server):
    originate(node, "11111111-0000-4000-8000-000000000003", "15550120")
    machine = hangup_complete(node, "11111111-0000-4000-8000-000000000003")
    originate(node, "11111111-0000-4000-8000-000000000004", "15550104")
    busy = hangup_complete(node, "11111111-0000-4000-8000-000000000004")
    assert machine.get("variable_dialer_amd_result") in ("machine", "person")
    assert busy.get("Hangup-Cause") == "USER_BUSY"
    assert busy.get("variable_sip_term_status") == "486"


def test_cdr_retried_after_500(tmp_path, cdr_server, node):
    cdr_server.failures = 1
    call_uuid = "11111111-0000-4000-8000-000000000005"
    originate(node, call_uuid, "15550104")
    hangup_complete(node, call_uuid)
    node.read_until(lambda frame: b"BACKGROUND_JOB" in frame.body)
    for _ in range(50):
        if len(cdr_server.posts) >= 2:
            break
        threading.Event().wait(0.05)
    assert [path for path, _, _ in cdr_server.posts] == [f"/api/cdr?uuid={call_uuid}"] * 2
