"""A TCP server on 127.0.0.1 that plays a switch from scripted or recorded bytes."""

from __future__ import annotations

from collections.abc import Callable

import gevent
from gevent.server import StreamServer

from dialer_common.esl import Frame, encode_frame
from tests.esl.recordings import recorded_frames

AUTH_REQUEST = b"Content-Type: auth/request\n\n"
ACCEPTED = b"Content-Type: command/reply\nReply-Text: +OK accepted\n\n"
SUBSCRIBED = b"Content-Type: command/reply\nReply-Text: +OK event listener enabled plain\n\n"


class Peer:
    """One accepted connection: reads commands and sends bytes."""

    def __init__(self, sock) -> None:
        self.sock = sock
        self.received = b""
        self._consumed = 0

    def read_command(self) -> bytes | None:
        """Return the next command with its blank line, or None when the client closed."""
        while b"\n\n" not in self.received[self._consumed :]:
            data = self.sock.recv(65536)
            if not data:
                return None
            self.received += data
        end = self.received.index(b"\n\n", self._consumed) + 2
        command = self.received[self._consumed : end]
        self._consumed = end
        return command

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def handshake(self) -> None:
        """Accept any password and any subscription."""
        self.send(AUTH_REQUEST)
        self.read_command()
        self.send(ACCEPTED)
        self.read_command()
        self.send(SUBSCRIBED)


class ReplayServer:
    """Serve each connection with ``handlers[n]`` (the last one repeats)."""

    def __init__(self, *handlers: Callable[[Peer], None]) -> None:
        self.handlers = handlers
        self.peers: list[Peer] = []
        self.server = StreamServer(("127.0.0.1", 0), self._handle)

    def __enter__(self) -> ReplayServer:
        self.server.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.stop(timeout=1)

    @property
    def port(self) -> int:
        return self.server.address[1]

    def _handle(self, sock, _address) -> None:
        peer = Peer(sock)
        self.peers.append(peer)
        handler = self.handlers[min(len(self.peers), len(self.handlers)) - 1]
        handler(peer)
        # Keep reading so the client's last bytes are recorded before the close.
        sock.settimeout(0.2)
        try:
            while peer.read_command() is not None:
                pass
        except OSError:
            pass


def frame_bytes(frame: Frame) -> bytes:
    return encode_frame(list(frame.headers.items()), frame.body)


def replay_recording(name: str) -> Callable[[Peer], None]:
    """Return a handler that sends recording ``name``, reply by reply.

    It sends the first frame, then for each command it reads sends the next
    reply with the events that followed it in the recording.
    """
    frames = recorded_frames(name)

    def handler(peer: Peer) -> None:
        groups: list[bytes] = [b""]
        for frame in frames:
            if frame.content_type in ("command/reply", "api/response"):
                groups.append(b"")
            groups[-1] += frame_bytes(frame)
        peer.send(groups[0])
        for group in groups[1:]:
            if peer.read_command() is None:
                return
            peer.send(group)

    return handler


def replay_on_connect(name: str) -> Callable[[Peer], None]:
    """Return a handler that sends all of recording ``name`` at once and closes."""
    data = b"".join(frame_bytes(frame) for frame in recorded_frames(name))

    def handler(peer: Peer) -> None:
        peer.send(data)

    return handler


def wait_for(predicate: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Yield to other greenlets until ``predicate()`` holds; fail after ``timeout_s``."""
    with gevent.Timeout(timeout_s, AssertionError(f"condition not met within {timeout_s} s")):
        while not predicate():
            gevent.sleep(0.01)
