"""Replay recorded client commands against the simulator and compare events header by header.

Each test sends the commands of one ``<name>.client.txt`` and compares the
events with ``<name>.esl``: the same content types, the same event names in
the recorded order, the same header names per event, and equal values
wherever FreeSWITCH's value does not depend on the call (causes, states,
SIP statuses, callcenter reasons, dialer variables, job bodies).
"""

from __future__ import annotations

import json

import pytest

from dialer_common.esl import encode_frame
from tests.switchsim.conftest import FIXTURES, Client, client_commands, recorded, start_simulator

# Headers whose values are fixed by the call flow and must match the recording.
DETERMINED = (
    "Answer-State",
    "Channel-Call-State",
    "Hangup-Cause",
    "variable_hangup_cause",
    "variable_hangup_cause_q850",
    "variable_sip_term_status",
    "variable_sip_hangup_disposition",
    "variable_sip_invite_failure_status",
    "variable_sip_invite_failure_phrase",
    "Reply-Text",
    "CC-Action",
    "CC-Cause",
    "CC-Cancel-Reason",
    "CC-Agent-Status",
    "Application",
    "Application-Response",
    "variable_dialer_campaign_id",
    "variable_dialer_lead_id",
    "variable_origination_caller_id_name",
)
# NOTE: headers the simulator does not produce yet: the caller-profile fields
# an inline-dialplan transfer adds, and variables set by applications it does
# not run (playback, last_arg, current_application_data, progress_stamp when
# the template's recording had early media instead).
NOT_SIMULATED = frozenset(
    {
        "Caller-Dialplan",
        "Caller-Transfer-Source",
        "variable_current_application_data",
        "variable_last_arg",
        "variable_playback_last_offset_pos",
        "variable_playback_ms",
        "variable_playback_samples",
        "variable_playback_seconds",
        "variable_progress_stamp",
    }
)
# Events whose relative order FreeSWITCH does not fix: the originate job's
# thread races the channel's hangup events.
RACING = ("BACKGROUND_JOB", "CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE")


@pytest.fixture(scope="module")
def replay_node(tmp_path_factory):
    """One simulator with the queue settings of the recorded node (no max wait, 4 s no-agent)."""
    tmp_path = tmp_path_factory.mktemp("replay")
    process, port = start_simulator(
        tmp_path,
        "--no-cdr",
        "--queue-max-wait",
        "0",
        "--queue-no-agent-wait",
        "4",
        "--hostname",
        "media-node-1",
    )
    setup = Client(port)
    setup.read_until(lambda frame: frame.content_type == "auth/request")
    for command in (
        "auth ClueCon",
        "api callcenter_config agent add 1001@default callback",
        "api callcenter_config agent set contact 1001@default sofia/external/agent1001@127.0.0.1:5091",
        "api callcenter_config tier add ventas@default 1001@default 1 1",
    ):
        setup.send(command)
    setup.read_until(lambda _: sum(frame.content_type == "api/response" for frame in setup.frames) == 3)
    setup.close()
    yield port
    process.terminate()
    process.wait(timeout=5)


def has_event(name: str):
    return lambda client: any(event.name == name for event in client.events())


def call_done(client: Client) -> bool:
    names = {event.name for event in client.events()}
    return {"BACKGROUND_JOB", "CHANNEL_HANGUP_COMPLETE"} <= names


def replay(port: int, name: str, waits: dict[str, object], done=call_done) -> Client:
    """Send the recording's commands; ``waits`` maps a command prefix to a condition to wait for first."""
    client = Client(port)
    client.read_until(lambda frame: frame.content_type == "auth/request")
    for command in client_commands(name):
        condition = (
            done
            if command == "exit"
            else next((wait for prefix, wait in waits.items() if command.startswith(prefix)), None)
        )
        if condition is not None:
            client.read_until(lambda _, condition=condition: condition(client), timeout=10)
        client.send(command)
    client.read_until(lambda frame: frame.content_type == "text/disconnect-notice")
    client.close()
    return client


def event_key(event) -> str:
    action = event.get("CC-Action")
    return f"{event.name}:{action}" if action else event.name


def normalized(events):
    """Drop HEARTBEATs and sort each run of racing events, the only order freedom allowed."""
    result, run = [], []
    for event in events:
        if event.name == "HEARTBEAT":
            continue
        if event.name in RACING:
            run.append(event)
            continue
        result.extend(sorted(run, key=lambda item: RACING.index(item.name)))
        run = []
        result.append(event)
    return result + sorted(run, key=lambda item: RACING.index(item.name))


def assert_same_events(client: Client, name: str, volatile=NOT_SIMULATED) -> None:
    frames, want = recorded(name)
    got = normalized(client.events())
    want = normalized(want)
    assert [frame.content_type for frame in client.frames if not _is_heartbeat(frame)] == [
        frame.content_type for frame in frames if not _is_heartbeat(frame)
    ]
    assert [event_key(event) for event in got] == [event_key(event) for event in want]
    for mine, real in zip(got, want, strict=True):
        key = event_key(real)
        assert set(mine.headers) - volatile == set(real.headers) - volatile, key
        for header in DETERMINED:
            if real.get(header) is not None:
                assert mine.get(header) == real.get(header), f"{key} {header}"
        # The replay reuses the recorded origination_uuid, so job bodies match exactly.
        assert mine.body == real.body, key


def _is_heartbeat(frame) -> bool:
    return b"Event-Name: HEARTBEAT" in frame.body or b'"Event-Name":"HEARTBEAT"' in frame.body


@pytest.mark.parametrize(
    "name",
    [
        "originate_answer_hangup",
        "originate_answer_hangup_ignore_early_media",
        "originate_no_answer",
        "originate_unavailable",
        "originate_unreachable",
    ],
)
def test_originate_matches_recording(replay_node, name):
    client = replay(replay_node, name, {})
    assert_same_events(client, name)


def test_json_events_match_recording(replay_node):
    client = replay(replay_node, "originate_answer_hangup_json", {})
    assert_same_events(client, "originate_answer_hangup_json")


def test_heartbeat_status_and_uuid_kill(replay_node):
    answered = has_event("BACKGROUND_JOB")
    client = replay(
        replay_node,
        "heartbeat",
        {"api status": answered},
        done=lambda client: call_done(client) and has_event("HEARTBEAT")(client),
    )
    assert_same_events(client, "heartbeat")
    frames, events = recorded("heartbeat")
    responses = [frame.body for frame in client.frames if frame.content_type == "api/response"]
    status, channels, kill = responses
    assert status.decode().split("\n")[1] == frames[6].body.decode().split("\n")[1]
    assert status.startswith(b"UP 0 years, 0 days, 0 hours, ")
    assert b"1000 session(s) max\n" in status
    mine_rows = json.loads(channels)["rows"]
    real_rows = json.loads(frames[7].body)["rows"]
    assert [list(row) for row in mine_rows] == [list(row) for row in real_rows]
    for field in (
        "uuid",
        "direction",
        "name",
        "state",
        "cid_name",
        "cid_num",
        "dest",
        "callstate",
        "call_uuid",
    ):
        assert mine_rows[0][field] == real_rows[0][field], field
    assert kill == b"+OK\n"
    mine_heartbeat = next(event for event in client.events() if event.name == "HEARTBEAT")
    real_heartbeat = next(event for event in events if event.name == "HEARTBEAT")
    assert list(mine_heartbeat.headers) == list(real_heartbeat.headers)
    for header in (
        "Event-Info",
        "FreeSWITCH-Version",
        "Max-Sessions",
        "Session-Per-Sec",
        "FreeSWITCH-Hostname",
    ):
        assert mine_heartbeat.get(header) == real_heartbeat.get(header), header


def test_acl_rejection_byte_exact(tmp_path):
    process, port = start_simulator(tmp_path, "--no-cdr", "--acl", "10.0.0.0/8")
    try:
        client = Client(port)
        client.read_until(lambda frame: frame.content_type == "text/disconnect-notice")
        data = b""
        client.sock.settimeout(5)
        while chunk := client.sock.recv(65536):
            data += chunk
        client.close()
    finally:
        process.terminate()
        process.wait(timeout=5)
    assert data == b""
    assert [frame.content_type for frame in client.frames] == [
        "text/rude-rejection",
        "text/disconnect-notice",
    ]
    assert (
        b"".join(encode_frame(list(frame.headers.items()), frame.body) for frame in client.frames)
        == (FIXTURES / "acl_rejected.esl").read_bytes()
    )


def test_callcenter_no_agent_matches_recording(replay_node):
    client = replay(replay_node, "callcenter_no_agent", {})
    assert_same_events(client, "callcenter_no_agent")
    queue_end = next(event for event in client.events() if event.get("CC-Action") == "member-queue-end")
    assert queue_end.get("CC-Cancel-Reason") == "NO_AGENT_TIMEOUT"


def test_callcenter_on_break_waits_for_callee(replay_node):
    client = replay(
        replay_node,
        "callcenter_on_break",
        {"api callcenter_config queue list": has_event("CHANNEL_HANGUP_COMPLETE")},
    )
    assert_same_events(client, "callcenter_on_break")
    queue_end = next(event for event in client.events() if event.get("CC-Action") == "member-queue-end")
    assert queue_end.get("CC-Cancel-Reason") == "BREAK_OUT"
    members = [frame.body for frame in client.frames if frame.content_type == "api/response"][-1]
    assert members.startswith(b"queue|instance_id|uuid|session_uuid|")
    assert b"|15550111|Outbound Call|" in members
