"""Simulator behaviour the recordings imply: CDR delays, uuid_kill, agent status, timing."""

from __future__ import annotations

import time

from dialer_common.esl import parse_event
from tests.switchsim.conftest import Client, start_simulator
from tests.switchsim.test_flows import SUBSCRIBE, hangup_complete, originate


def connect(port: int) -> Client:
    client = Client(port)
    client.read_until(lambda frame: frame.content_type == "auth/request")
    client.send("auth ClueCon")
    client.send(SUBSCRIBE)
    return client


def api(client: Client, command: str) -> bytes:
    count = sum(frame.content_type == "api/response" for frame in client.frames)
    client.send(f"api {command}")
    client.read_until(lambda _: sum(f.content_type == "api/response" for f in client.frames) > count)
    return [frame.body for frame in client.frames if frame.content_type == "api/response"][-1]


def test_cdr_http500_delays_hangup_complete(tmp_path, cdr_server):
    cdr_server.failures = 100
    err_dir = tmp_path / "cdr-err"
    url = f"http://127.0.0.1:{cdr_server.server_address[1]}"
    process, port = start_simulator(
        tmp_path, "--cdr-url", url + "/api/cdr", "--cdr-retries", "2", "--cdr-delay", "0.4", "--cdr-err-dir", str(err_dir)
    )
    try:
        client = connect(port)
        call_uuid = "22222222-0000-4000-8000-000000000001"
        originate(client, call_uuid, "15550104")
        complete = hangup_complete(client, call_uuid)
        hangup = next(e for e in client.events() if e.name == "CHANNEL_HANGUP" and e.uuid == call_uuid)
        client.close()
    finally:
        process.terminate()
        process.wait(timeout=5)
    delay_us = int(complete.get("Event-Date-Timestamp")) - int(hangup.get("Event-Date-Timestamp"))
    assert delay_us >= 2 * 400_000
    assert len(cdr_server.posts) == 3
    assert [path.name for path in err_dir.iterdir()] == [f"{call_uuid}.cdr.json"]


def test_uuid_kill_mid_call(simulator):
    client = connect(simulator)
    call_uuid = "22222222-0000-4000-8000-000000000002"
    client.send(
        f"bgapi originate {{origination_uuid={call_uuid}}}sofia/external/15550103@127.0.0.1:5090 &park()"
    )
    client.read_until(lambda frame: b"BACKGROUND_JOB" in frame.body)
    assert api(client, f"uuid_kill {call_uuid}") == b"+OK\n"
    complete = hangup_complete(client, call_uuid)
    client.close()
    assert complete.get("Hangup-Cause") == "NORMAL_CLEARING"
    assert complete.get("variable_hangup_cause_q850") == "16"
    assert complete.get("variable_sip_hangup_disposition") == "send_bye"
    assert int(complete.get("variable_billsec")) == int(complete.get("variable_end_epoch")) - int(
        complete.get("variable_answer_epoch")
    )


def test_agent_status_gates_offering(simulator):
    client = connect(simulator)
    for command in (
        "callcenter_config agent add 1001@default callback",
        "callcenter_config agent set contact 1001@default sofia/external/agent1001@127.0.0.1",
        "callcenter_config tier add sales 1001@default 1 1",
    ):
        assert api(client, command) == b"+OK\n"
    for status in ("On Break", "Logged Out"):
        assert api(client, f"callcenter_config agent set status 1001@default '{status}'") == b"+OK\n"
        call_uuid = f"22222222-0000-4000-8000-00000000001{len(status)}"
        originate(client, call_uuid, "15550101")
        complete = hangup_complete(client, call_uuid)
        assert complete.get("variable_dialer_abandoned") == "true", status
    assert not any(e.get("CC-Action") == "agent-offering" for e in client.events())
    assert api(client, "callcenter_config agent set status 1001@default Available") == b"+OK\n"
    call_uuid = "22222222-0000-4000-8000-000000000020"
    originate(client, call_uuid, "15550101")
    complete = hangup_complete(client, call_uuid)
    client.close()
    assert complete.get("variable_dialer_agent") == "1001@default"
    assert any(e.get("CC-Action") == "agent-offering" for e in client.events())


def test_no_answer_timeout_scaled_by_speed(simulator):
    client = connect(simulator)
    call_uuid = "22222222-0000-4000-8000-000000000003"
    started = time.monotonic()
    client.send(
        f"bgapi originate {{origination_uuid={call_uuid},originate_timeout=20}}"
        "sofia/external/15550106@127.0.0.1:5090 &park()"
    )
    complete = hangup_complete(client, call_uuid)
    elapsed = time.monotonic() - started
    job = parse_event(client.read_until(lambda frame: b"BACKGROUND_JOB" in frame.body))
    client.close()
    assert job.body == "-ERR NO_ANSWER\n"
    assert complete.get("Hangup-Cause") == "NO_ANSWER"
    # 20 simulated seconds at --speed 40 are 0.5 s of wall time.
    assert elapsed >= 0.5


def test_sofia_status_lists_dialled_gateway(simulator):
    client = connect(simulator)
    assert api(client, "sofia status gateway gw1") == b"Invalid Gateway!\n"
    originate(client, "22222222-0000-4000-8000-000000000004", "15550104")
    hangup_complete(client, "22222222-0000-4000-8000-000000000004")
    status = api(client, "sofia status").decode()
    gateway = api(client, "sofia status gateway gw1").decode()
    client.close()
    assert "external::gw1\tgateway\t" in status
    assert status.endswith("2 profiles 1 alias\n")
    assert "Name\tgw1\n" in gateway
    assert "State\tNOREG\n" in gateway


def test_oversized_command_closes_connection_only(simulator):
    """A header block with no end is cut off at 64 KiB; the server keeps serving others."""
    import socket

    with socket.create_connection(("127.0.0.1", simulator), timeout=5) as sock:
        sock.recv(4096)
        sock.sendall(b"auth ClueCon\n\n")
        sock.recv(4096)
        closed = False
        try:
            for _ in range(40):
                sock.sendall(b"X-Filler: " + b"a" * 4000 + b"\n")
        except OSError:
            closed = True
        if not closed:
            sock.settimeout(5)
            try:
                closed = sock.recv(4096) == b""
            except ConnectionResetError:
                # The server closed with our bytes unread, so the kernel reset.
                closed = True
        assert closed

    with socket.create_connection(("127.0.0.1", simulator), timeout=5) as sock:
        assert b"auth/request" in sock.recv(4096)
