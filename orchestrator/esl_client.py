"""Event Socket client: one gevent connection to one switch, kept alive.

The wire format lives in :mod:`dialer_common.esl`; this module does the I/O.
A client connects, authenticates, subscribes, then reads frames in its own
greenlet and hands each event to ``on_event``. Replies are matched to
commands in the order the commands were sent, because FreeSWITCH answers in
order on one socket. When the connection drops, every command still waiting
fails with :class:`EslConnectionError`, and the client reconnects with
exponential backoff and subscribes again.

FreeSWITCH writes no events to a socket while an ``api`` command runs on it,
so slow ``api`` calls belong on a second client that subscribes to nothing.

    DialerError
    └── EslError
        ├── EslConnectionError   not connected, or the connection dropped
        │   ├── EslAuthError     the switch rejected the password
        │   └── EslAclRejected   the switch's ACL rejected this address
        ├── EslTimeoutError      no reply within the command timeout
        └── EslCommandError      the switch answered a command with -ERR
"""

from __future__ import annotations

import collections
import logging
import random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import gevent
import gevent.event
import gevent.lock
from gevent import socket

from dialer_common.config import SwitchAddress
from dialer_common.errors import DialerError, ProtocolError
from dialer_common.esl import Event, Frame, FrameParser, encode_command, parse_event

log = logging.getLogger(__name__)

_RECV_BYTES = 65536
# Seconds between two WARNING lines about the same failing switch.
_WARNING_INTERVAL_S = 30.0


class EslError(DialerError):
    """An Event Socket command or connection failed."""


class EslConnectionError(EslError):
    """The client is not connected, or the connection dropped."""


class EslAuthError(EslConnectionError):
    """The switch rejected the Event Socket password."""


class EslAclRejected(EslConnectionError):
    """The switch's event-socket ACL rejected this client's address."""


class EslTimeoutError(EslError):
    """A command got no reply within its timeout."""


class EslCommandError(EslError):
    """The switch answered a command with ``-ERR``."""


@dataclass
class _PendingCommand:
    command: str
    result: gevent.event.AsyncResult = field(default_factory=gevent.event.AsyncResult)


def subscription_command(events: Sequence[str]) -> str:
    """Build the ``event plain ...`` command for ``events``.

    Names that contain ``::`` are CUSTOM subclasses. FreeSWITCH reads every
    word after ``CUSTOM`` as a subclass, so they go last, after ``CUSTOM``.
    """
    names, subclasses = [], []
    custom = False
    for name in events:
        if not name or any(character.isspace() for character in name):
            raise ValueError(f"invalid event name {name!r}: expected one word such as CHANNEL_ANSWER")
        if name == "CUSTOM":
            custom = True
        elif "::" in name:
            subclasses.append(name)
        else:
            names.append(name)
    if custom or subclasses:
        names += ["CUSTOM", *subclasses]
    if not names:
        raise ValueError("no events to subscribe to: expected e.g. ['CHANNEL_ANSWER']")
    return "event plain " + " ".join(names)


class _WarningLimiter:
    """Let one WARNING through per interval and count the ones held back."""

    def __init__(self, interval_s: float) -> None:
        self._interval_s = interval_s
        self._last = -interval_s
        self.suppressed = 0

    def allow(self) -> bool:
        now = time.monotonic()
        if now - self._last < self._interval_s:
            self.suppressed += 1
            return False
        self._last = now
        return True

    def take_suppressed(self) -> int:
        count, self.suppressed = self.suppressed, 0
        return count


class EslClient:
    """A kept-alive Event Socket connection to one switch (inbound mode)."""

    def __init__(
        self,
        address: SwitchAddress,
        events: Sequence[str],
        on_event: Callable[[Event], None],
        on_connect: Callable[[EslClient], None] | None = None,
        on_disconnect: Callable[[EslClient, str], None] | None = None,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 15.0,
        command_timeout_s: float = 10.0,
    ) -> None:
        self.address = address
        self.subscription = subscription_command(events) if events else None
        self.on_event = on_event
        self.on_connect = on_connect
        self.on_disconnect = on_disconnect
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.command_timeout_s = command_timeout_s

        self.connected = False
        # The error that ended the latest connection attempt, for health checks.
        self.last_error: Exception | None = None
        self._socket: socket.socket | None = None
        self._parser = FrameParser()
        self._ready_frames: collections.deque[Frame] = collections.deque()
        self._pending: collections.deque[_PendingCommand] = collections.deque()
        self._send_lock = gevent.lock.Semaphore()
        self._greenlet: gevent.Greenlet | None = None
        self._stopping = False
        self._warnings = _WarningLimiter(_WARNING_INTERVAL_S)

    @property
    def label(self) -> str:
        """The switch name with its host:port, for messages."""
        return f"{self.address.name} {self.address.host}:{self.address.port}"

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> None:
        """Spawn the greenlet that connects, subscribes, reads and reconnects."""
        if self._greenlet is not None and not self._greenlet.dead:
            return
        self._stopping = False
        self._greenlet = gevent.spawn(self._run)

    def stop(self) -> None:
        """Close the connection, fail waiting commands and end the greenlet."""
        self._stopping = True
        if self._greenlet is not None:
            self._greenlet.kill(block=True, timeout=5)
            self._greenlet = None
        self._close("client stopped")

    def _run(self) -> None:
        attempt = 0
        while not self._stopping:
            reason = self._run_session()
            was_connected = self.connected
            self._close(reason)
            if was_connected:
                attempt = 0
                self._notify_disconnect(reason)
            if self._stopping:
                break
            delay = self._backoff_delay(attempt)
            attempt += 1
            log.debug("esl.reconnect_wait switch=%s delay_s=%.2f", self.address.name, delay)
            gevent.sleep(delay)

    def _backoff_delay(self, attempt: int) -> float:
        base = min(self.backoff_max_s, self.backoff_initial_s * 2 ** min(attempt, 30))
        # Jitter spreads the reconnects of many clients after a switch restart.
        return base * random.uniform(0.5, 1.0)

    def _run_session(self) -> str:
        """Run one connection to its end and return why it ended."""
        try:
            self._connect()
            self._read_loop()
            return "connection closed by the switch"
        except (EslAuthError, EslAclRejected) as error:
            self.last_error = error
            self._warn("esl.rejected switch=%s error=%s", error)
            return str(error)
        except ProtocolError as error:
            self.last_error = error
            log.error("esl.protocol_error switch=%s error=%s", self.label, error)
            return f"protocol error: {error}"
        except (OSError, EslConnectionError) as error:
            self.last_error = error
            self._warn("esl.connection_failed switch=%s error=%s", error)
            return f"connection failed: {error}"

    def _warn(self, message: str, error: Exception) -> None:
        if self._warnings.allow():
            log.warning(message + " repeats_suppressed=%d", self.label, error,
                        self._warnings.take_suppressed())

    def _notify_disconnect(self, reason: str) -> None:
        log.warning("esl.disconnected switch=%s reason=%s", self.label, reason)
        if self.on_disconnect is not None:
            try:
                self.on_disconnect(self, reason)
            except Exception:
                log.exception("esl.on_disconnect_failed switch=%s", self.address.name)

    # -- connection --------------------------------------------------------

    def _connect(self) -> None:
        address = self.address
        self._parser.reset()
        self._ready_frames.clear()
        log.info("esl.connecting switch=%s", self.label)
        self._socket = socket.create_connection(
            (address.host, address.port), timeout=self.command_timeout_s
        )
        self._authenticate()
        if self.subscription is not None:
            self._subscribe()
        self._socket.settimeout(None)
        self.connected = True
        self.last_error = None
        log.info("esl.connected switch=%s", self.label)
        if self.on_connect is not None:
            # A greenlet of its own, because on_connect may send commands
            # whose replies only this greenlet's read loop can deliver.
            gevent.spawn(self._call_on_connect)

    def _call_on_connect(self) -> None:
        try:
            self.on_connect(self)
        except Exception:
            log.exception("esl.on_connect_failed switch=%s", self.address.name)

    def _authenticate(self) -> None:
        frame = self._read_frame()
        if frame.content_type == "text/rude-rejection":
            raise EslAclRejected(
                f"connection rejected by {self.label} with "
                f"{frame.body.decode(errors='replace').strip()!r}: this client's address is not "
                "in the switch's event-socket ACL (apply-inbound-acl in event_socket.conf.xml)"
            )
        if frame.content_type != "auth/request":
            raise ProtocolError(
                f"expected auth/request from {self.label}, received Content-Type "
                f"{frame.content_type!r}"
            )
        self._socket.sendall(encode_command(f"auth {self.address.password}"))
        reply = self._read_frame().headers.get("Reply-Text", "")
        if not reply.startswith("+OK"):
            raise EslAuthError(
                f"authentication rejected by {self.label}: {reply}; "
                "check the password in DIALER_ESL_SWITCHES"
            )

    def _subscribe(self) -> None:
        self._socket.sendall(encode_command(self.subscription))
        reply = self._read_frame().headers.get("Reply-Text", "")
        if not reply.startswith("+OK"):
            raise EslCommandError(
                f"subscription {self.subscription!r} rejected by {self.label}: {reply}"
            )
        log.info("esl.subscribed switch=%s command=%r", self.address.name, self.subscription)

    def _read_frame(self) -> Frame:
        """Return the next frame, reading from the socket as needed (handshake only)."""
        while not self._ready_frames:
            data = self._socket.recv(_RECV_BYTES)
            if not data:
                raise EslConnectionError(f"{self.label} closed the connection during the handshake")
            self._ready_frames.extend(self._parser.feed(data))
        return self._ready_frames.popleft()

    def _read_loop(self) -> None:
        while self._ready_frames:
            self._dispatch(self._ready_frames.popleft())
        while True:
            data = self._socket.recv(_RECV_BYTES)
            if not data:
                return
            for frame in self._parser.feed(data):
                self._dispatch(frame)

    def _close(self, reason: str) -> None:
        self.connected = False
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        pending, self._pending = self._pending, collections.deque()
        for command in pending:
            command.result.set_exception(
                EslConnectionError(f"command {command.command!r} to {self.label} failed: {reason}")
            )

    # -- dispatch ----------------------------------------------------------

    def _dispatch(self, frame: Frame) -> None:
        content_type = frame.content_type
        if content_type in ("command/reply", "api/response"):
            self._deliver_reply(frame)
        elif content_type in ("text/event-plain", "text/event-json"):
            self._deliver_event(parse_event(frame))
        elif content_type == "text/disconnect-notice":
            log.info("esl.disconnect_notice switch=%s", self.label)
        else:
            log.debug("esl.frame_ignored switch=%s content_type=%s", self.label, content_type)

    def _deliver_reply(self, frame: Frame) -> None:
        if not self._pending:
            log.warning(
                "esl.unexpected_reply switch=%s headers=%r", self.label, frame.headers
            )
            return
        self._pending.popleft().result.set(frame)

    def _deliver_event(self, event: Event) -> None:
        try:
            self.on_event(event)
        except Exception:
            log.exception(
                "esl.on_event_failed switch=%s event=%s call_uuid=%s",
                self.address.name, event.name, event.uuid,
            )

    # -- commands ----------------------------------------------------------

    def command(
        self, command: str, headers: dict[str, str] | None = None, timeout_s: float | None = None
    ) -> Frame:
        """Send one ESL command (e.g. ``filter``, ``exit``) and return its reply frame."""
        payload = encode_command(command, headers)
        pending = _PendingCommand(command)
        with self._send_lock:
            if not self.connected or self._socket is None:
                raise EslConnectionError(
                    f"cannot send {command!r} to {self.label}: not connected"
                )
            # Queued before sending, so the queue order is the wire order.
            self._pending.append(pending)
            try:
                self._socket.sendall(payload)
            except OSError as error:
                raise EslConnectionError(
                    f"sending {command!r} to {self.label} failed: {error}"
                ) from error
        timeout = self.command_timeout_s if timeout_s is None else timeout_s
        try:
            return pending.result.get(timeout=timeout)
        except gevent.Timeout:
            # The entry stays queued, so its late reply is still matched to it.
            raise EslTimeoutError(
                f"no reply from {self.label} to {command!r} within {timeout} s"
            ) from None

    def api(self, command: str, timeout_s: float | None = None) -> str:
        """Run ``api <command>`` and return the body of its api/response.

        The body is returned as sent, ``-ERR ...`` included, because many
        FreeSWITCH commands report failure only in their output.
        """
        reply = self.command(f"api {command}", timeout_s=timeout_s)
        if reply.content_type != "api/response":
            raise EslCommandError(
                f"api {command!r} rejected by {self.label}: {reply.headers.get('Reply-Text', '')}"
            )
        return reply.body.decode("utf-8", "replace")

    def bgapi(self, command: str, job_uuid: str | None = None) -> str:
        """Run ``bgapi <command>`` and return its Job-UUID.

        The command's output arrives later as a BACKGROUND_JOB event with the
        same Job-UUID. A Job-UUID is generated when none is given, so the
        caller knows it before the reply.
        """
        job_uuid = job_uuid or str(uuid.uuid4())
        reply = self.command(f"bgapi {command}", {"Job-UUID": job_uuid})
        reply_text = reply.headers.get("Reply-Text", "")
        if not reply_text.startswith("+OK"):
            raise EslCommandError(f"bgapi {command!r} rejected by {self.label}: {reply_text}")
        return reply.headers.get("Job-UUID", job_uuid)
