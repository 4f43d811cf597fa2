"""Tests of EslClient against a replay server on 127.0.0.1 (real TCP, gevent)."""

from __future__ import annotations

import logging

import gevent
import pytest

from dialer_common.config import SwitchAddress
from orchestrator.esl_client import (
    EslAclRejected,
    EslAuthError,
    EslClient,
    EslCommandError,
    EslConnectionError,
    EslTimeoutError,
    subscription_command,
)
from tests.esl.recordings import client_commands, recorded_events
from tests.esl.replay import (
    Peer,
    ReplayServer,
    replay_on_connect,
    replay_recording,
    wait_for,
)

CALLCENTER_EVENTS = (
    "CHANNEL_CREATE CHANNEL_PROGRESS CHANNEL_PROGRESS_MEDIA CHANNEL_ANSWER CHANNEL_BRIDGE "
    "CHANNEL_UNBRIDGE CHANNEL_HANGUP CHANNEL_HANGUP_COMPLETE CHANNEL_EXECUTE "
    "CHANNEL_EXECUTE_COMPLETE BACKGROUND_JOB HEARTBEAT CUSTOM callcenter::info avmd::beep"
).split()


class Recorder:
    """Collects what a client reports through its callbacks."""

    def __init__(self) -> None:
        self.events = []
        self.connects = 0
        self.disconnects: list[str] = []

    def on_event(self, event) -> None:
        self.events.append(event)

    def on_connect(self, _client) -> None:
        self.connects += 1

    def on_disconnect(self, _client, reason: str) -> None:
        self.disconnects.append(reason)


@pytest.fixture
def make_client():
    clients = []

    def make(port: int, password: str = "ClueCon", events=("BACKGROUND_JOB",), **options):
        recorder = Recorder()
        client = EslClient(
            SwitchAddress("sim-test", "127.0.0.1", port, password),
            events,
            recorder.on_event,
            on_connect=recorder.on_connect,
            on_disconnect=recorder.on_disconnect,
            backoff_initial_s=0.01,
            backoff_max_s=0.05,
            command_timeout_s=2.0,
            **options,
        )
        clients.append(client)
        client.start()
        return client, recorder

    yield make
    for client in clients:
        client.stop()


def test_subscription_puts_custom_last():
    command = subscription_command(["CUSTOM", "callcenter::info", "CHANNEL_ANSWER", "avmd::beep"])

    assert command == "event plain CHANNEL_ANSWER CUSTOM callcenter::info avmd::beep"


def test_subscription_rejects_spaces():
    with pytest.raises(ValueError, match="'CHANNEL ANSWER'"):
        subscription_command(["CHANNEL ANSWER"])


def test_client_replays_callcenter_flow(make_client):
    commands = client_commands("callcenter_flow.esl")
    expected_events = [event.name for event in recorded_events("callcenter_flow.esl")]

    with ReplayServer(replay_recording("callcenter_flow.esl")) as server:
        client, recorder = make_client(server.port, events=CALLCENTER_EVENTS)
        wait_for(lambda: recorder.connects == 1)

        outputs = []
        for command in commands[2:-1]:
            line, _, header = command.decode().strip("\n").partition("\nJob-UUID: ")
            if line.startswith("bgapi "):
                outputs.append(client.bgapi(line[len("bgapi ") :], job_uuid=header))
            else:
                outputs.append(client.api(line[len("api ") :]))
        bye = client.command("exit")
        wait_for(lambda: len(recorder.events) == len(expected_events))
        wait_for(lambda: len(server.peers) == 2)
        first_peer = server.peers[0]

    assert first_peer.received == b"".join(commands)
    assert outputs[0] == "+OK\n"
    assert outputs[5] == "Available"
    assert outputs[7] == "56788e19-8be3-4f33-aca7-59ccea626558"
    assert outputs[8] == "Waiting"
    assert bye.headers["Reply-Text"] == "+OK bye"
    assert [event.name for event in recorder.events] == expected_events
    assert recorder.disconnects == ["connection closed by the switch"]


def answer_api(peer: Peer, body: bytes = b"+OK\n") -> None:
    peer.read_command()
    peer.send(b"Content-Type: api/response\nContent-Length: %d\n\n%s" % (len(body), body))


def test_drop_fails_pending_and_resubscribes(make_client):
    def close_mid_frame(peer: Peer) -> None:
        peer.handshake()
        peer.read_command()
        peer.send(b"Content-Type: api/response\nContent-Length: 100\n\npartial")

    def normal(peer: Peer) -> None:
        peer.handshake()
        answer_api(peer, b"UP 0 years")

    with ReplayServer(close_mid_frame, normal) as server:
        client, recorder = make_client(server.port)
        wait_for(lambda: recorder.connects == 1)

        with pytest.raises(EslConnectionError, match="'api status'") as raised:
            client.api("status")

        wait_for(lambda: recorder.connects == 2)
        second = client.api("status")

    assert "connection closed by the switch" in str(raised.value)
    assert second == "UP 0 years"
    assert [peer.received.split(b"\n\n")[1] for peer in server.peers] == [
        b"event plain BACKGROUND_JOB",
        b"event plain BACKGROUND_JOB",
    ]
    assert recorder.disconnects == ["connection closed by the switch"]


def test_drop_fails_every_pending_command(make_client):
    def read_two_then_close(peer: Peer) -> None:
        peer.handshake()
        peer.read_command()
        peer.read_command()

    with ReplayServer(read_two_then_close, lambda peer: gevent.sleep(5)) as server:
        client, recorder = make_client(server.port)
        wait_for(lambda: recorder.connects == 1)

        first = gevent.spawn(client.api, "status")
        second = gevent.spawn(client.bgapi, "status", "job-2")
        gevent.joinall([first, second], timeout=5)

    assert isinstance(first.exception, EslConnectionError)
    assert isinstance(second.exception, EslConnectionError)
    assert "'api status'" in str(first.exception)
    assert "'bgapi status'" in str(second.exception)


def test_replies_matched_in_order(make_client):
    def answer_three(peer: Peer) -> None:
        peer.handshake()
        for _ in range(3):
            peer.read_command()
        for body in (b"one", b"two"):
            peer.send(b"Content-Type: api/response\nContent-Length: 3\n\n" + body)
        peer.send(b"Content-Type: command/reply\nReply-Text: +OK Job-UUID: j3\nJob-UUID: j3\n\n")
        gevent.sleep(5)

    with ReplayServer(answer_three) as server:
        client, recorder = make_client(server.port)
        wait_for(lambda: recorder.connects == 1)

        greenlets = [
            gevent.spawn(client.api, "first"),
            gevent.spawn(client.api, "second"),
            gevent.spawn(client.bgapi, "third", "j3"),
        ]
        gevent.joinall(greenlets, timeout=5)

    assert [greenlet.value for greenlet in greenlets] == ["one", "two", "j3"]


def test_bgapi_error_reply_raises(make_client):
    def reject(peer: Peer) -> None:
        peer.handshake()
        peer.read_command()
        peer.send(b"Content-Type: command/reply\nReply-Text: -ERR command not found\n\n")
        gevent.sleep(5)

    with ReplayServer(reject) as server:
        client, recorder = make_client(server.port)
        wait_for(lambda: recorder.connects == 1)

        with pytest.raises(EslCommandError, match="-ERR command not found"):
            client.bgapi("no_such_command")


def test_command_timeout(make_client):
    def silent(peer: Peer) -> None:
        peer.handshake()
        gevent.sleep(5)

    with ReplayServer(silent) as server:
        client, recorder = make_client(server.port)
        wait_for(lambda: recorder.connects == 1)

        with pytest.raises(EslTimeoutError, match="'api status' within 0.1 s"):
            client.api("status", timeout_s=0.1)


def test_api_when_not_connected():
    client = EslClient(SwitchAddress("sim-test", "127.0.0.1", 9, "x"), [], lambda event: None)

    with pytest.raises(EslConnectionError, match="not connected"):
        client.api("status")


def test_wrong_password_retries(make_client, caplog):
    caplog.set_level(logging.WARNING, logger="orchestrator.esl_client")

    with ReplayServer(replay_recording("auth_wrong_password.esl")) as server:
        client, recorder = make_client(server.port, password="NotTheRightPassword")
        wait_for(lambda: len(server.peers) >= 3)
        error = client.last_error

    assert isinstance(error, EslAuthError)
    assert str(error) == (
        f"authentication rejected by sim-test 127.0.0.1:{server.port}: -ERR invalid; "
        "check the password in DIALER_ESL_SWITCHES"
    )
    assert server.peers[0].received == client_commands("auth_wrong_password.esl")[0]
    assert recorder.connects == 0
    assert client.connected is False
    assert "esl.rejected" in caplog.text
    assert "NotTheRightPassword" not in caplog.text


def test_acl_rejection_retries(make_client):
    with ReplayServer(replay_on_connect("acl_rejected.esl")) as server:
        client, recorder = make_client(server.port)
        wait_for(lambda: len(server.peers) >= 2)
        error = client.last_error

    assert isinstance(error, EslAclRejected)
    assert "'Access Denied, go away.'" in str(error)
    assert "event-socket ACL" in str(error)
    assert server.peers[0].received == b""
    assert recorder.connects == 0


def test_malformed_frame_reconnects(make_client, caplog):
    caplog.set_level(logging.ERROR, logger="orchestrator.esl_client")

    def garbage(peer: Peer) -> None:
        peer.handshake()
        peer.send(b"this is not a header\n\n")
        gevent.sleep(5)

    def normal(peer: Peer) -> None:
        peer.handshake()
        gevent.sleep(5)

    with ReplayServer(garbage, normal) as server:
        client, recorder = make_client(server.port)
        wait_for(lambda: recorder.connects == 2)

    assert "esl.protocol_error switch=sim-test" in caplog.text
    assert "'this is not a header'" in caplog.text
    assert recorder.disconnects[0].startswith("protocol error:")


def test_event_callback_error_keeps_connection(make_client, caplog):
    job = b"Event-Name: BACKGROUND_JOB\nJob-UUID: j1\n\n"

    def two_events(peer: Peer) -> None:
        peer.handshake()
        for _ in range(2):
            peer.send(b"Content-Length: %d\nContent-Type: text/event-plain\n\n%s" % (len(job), job))
        gevent.sleep(5)

    with ReplayServer(two_events) as server:
        client, recorder = make_client(server.port)
        calls = []

        def failing(event):
            calls.append(event.name)
            raise RuntimeError("handler bug")

        client.on_event = failing
        wait_for(lambda: len(calls) == 2)

    assert "esl.on_event_failed switch=sim-test event=BACKGROUND_JOB" in caplog.text
    assert recorder.connects == 1
