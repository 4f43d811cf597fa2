"""Replay recorded client bytes against the simulator and compare frames."""

from __future__ import annotations

from tests.switchsim.conftest import FIXTURES, Client, client_commands, recorded


def replay(port: int, name: str, done) -> Client:
    client = Client(port)
    client.read_until(lambda frame: frame.content_type == "auth/request")
    for command in client_commands(name):
        if command == "exit":
            client.read_until(done)
        client.send(command)
    client.read_until(lambda frame: frame.content_type == "text/disconnect-notice")
    return client


def event_key(event) -> str:
    return event.get("CC-Action") or event.name


def test_api_and_errors_byte_exact(simulator):
    client = replay(simulator, "api_and_errors", lambda frame: True)
    client.close()
    expected = (FIXTURES / "api_and_errors.esl").read_bytes()
    recorded_frames, _ = recorded("api_and_errors")
    sofia_status = recorded_frames[3]
    got = [(frame.content_type, frame.headers.get("Reply-Text"), frame.body) for frame in client.frames]
    want = [(frame.content_type, frame.headers.get("Reply-Text"), frame.body) for frame in recorded_frames]
    assert got[:3] == want[:3]
    assert got[3:] == want[3:]
    assert got[3][2] == sofia_status.body
    assert expected.endswith(b"http://www.cluecon.com/\n")


def test_wrong_password_rejected(simulator):
    client = Client(simulator)
    client.read_until(lambda frame: frame.content_type == "auth/request")
    client.send("auth NotTheRightPassword")
    notice = client.read_until(lambda frame: frame.content_type == "text/disconnect-notice")
    assert client.frames[1].headers["Reply-Text"] == "-ERR invalid"
    assert notice.body == recorded("auth_wrong_password")[0][-1].body
    assert client.sock.recv(10) == b""


def test_bgapi_unknown_command_job(simulator):
    client = replay(
        simulator,
        "bgapi_misc",
        lambda frame: frame.body.endswith(b"Command not found!\n") and b"BACKGROUND_JOB" in frame.body,
    )
    jobs = [event for event in client.events() if event.name == "BACKGROUND_JOB"]
    client.close()
    assert [job.get("Job-Command") for job in jobs] == ["status", "no_such_command"]
    assert jobs[1].body == "-ERR no_such_command Command not found!\n"
    assert jobs[1].get("Job-Command-Arg") == "with args"


def test_callcenter_flow_matches_recording(simulator):
    client = Client(simulator)
    client.read_until(lambda frame: frame.content_type == "auth/request")
    for command in client_commands("callcenter_flow")[:-2]:
        client.send(command)
    # The last event is the agent's third state change (back to Waiting).
    client.read_until(lambda _: sum(b"agent-state-change" in f.body for f in client.frames) >= 4, timeout=15)
    client.close()
    _, want = recorded("callcenter_flow")
    got = [event for event in client.events() if event.name != "HEARTBEAT"]
    want = [
        event for event in want if event.name != "HEARTBEAT" and event.get("CC-Action") != "agent-state-get"
    ]
    assert [event_key(event) for event in got] == [event_key(event) for event in want]
    for mine, real in zip(got, want, strict=True):
        assert set(mine.headers) - _volatile(mine) == set(real.headers) - _volatile(real), event_key(real)
    member_end = next(event for event in got if event.get("CC-Action") == "member-queue-end")
    assert member_end.get("CC-Cause") == "Terminated"
    assert member_end.get("CC-Member-UUID") != member_end.get("CC-Member-Session-UUID")


def _volatile(event) -> set[str]:
    """Header names whose presence depends on values the simulator sets differently."""
    return {
        name
        for name in event.headers
        if name.startswith("variable_cc_")
        or name in ("variable_transfer_history", "variable_transfer_source", "Caller-Transfer-Source")
    }


def test_unquoted_space_fails_without_channel(simulator):
    client = Client(simulator)
    client.read_until(lambda frame: frame.content_type == "auth/request")
    for command in client_commands("originate_unquoted_space")[:-1]:
        client.send(command)
    job = client.read_until(lambda frame: b"BACKGROUND_JOB" in frame.body)
    client.close()
    assert job.body.endswith(b"-ERR DESTINATION_OUT_OF_ORDER\n")
    assert [event.name for event in client.events()] == ["BACKGROUND_JOB"]


def test_busy_matches_recording(simulator):
    client = Client(simulator)
    client.read_until(lambda frame: frame.content_type == "auth/request")
    for command in client_commands("originate_busy")[:-1]:
        client.send(command)
    client.read_until(lambda frame: b"BACKGROUND_JOB" in frame.body)
    client.close()
    _, want = recorded("originate_busy")
    got = [event for event in client.events() if event.name != "HEARTBEAT"]
    assert [event.name for event in got] == [event.name for event in want]
    complete = got[2]
    assert complete.get("Hangup-Cause") == "USER_BUSY"
    assert complete.get("variable_sip_term_status") == "486"
    assert complete.get("variable_hangup_cause_q850") == "17"
    assert set(complete.headers) == set(want[2].headers)
