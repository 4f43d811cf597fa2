"""Event Socket server (inbound mode) in front of a simulated node."""

from __future__ import annotations

import ipaddress
import logging
import uuid as uuid_module

import gevent
from gevent.queue import Queue
from gevent.server import StreamServer

from switchsim import wire

log = logging.getLogger(__name__)

# A client command (with its header lines) longer than this is not the
# Event Socket protocol; the parser's limit for one header block is the same.
MAX_COMMAND_BYTES = 64 * 1024

# Frames queued for one slow client before it is disconnected.
MAX_QUEUED_FRAMES = 50_000


class Session:
    """One ESL client connection: authentication, subscriptions and writes."""

    def __init__(self, server: EslServer, sock, address) -> None:
        self.server = server
        self.node = server.node
        self.sock = sock
        self.address = address
        self.format = ""
        self.all_events = False
        self.event_names: set[str] = set()
        self.subclasses: set[str] = set()
        self.filters: list[tuple[str, str]] = []
        self.outbox: Queue = Queue()
        # Events fired while this session's own api command runs; FreeSWITCH
        # writes them after the command's reply.
        self.held: list[bytes] | None = None

    # -- writing -----------------------------------------------------------

    def send(self, data: bytes) -> None:
        self.outbox.put(data)

    def writer(self) -> None:
        for data in self.outbox:
            if data is None:
                break
            try:
                self.sock.sendall(data)
            except OSError:
                break

    def deliver(self, headers: list[tuple[str, str]], body: str | None) -> None:
        """Queue an event when the session subscribed to it and it passes the filters."""
        if not self.format or not self.wants(headers):
            return
        if self.outbox.qsize() > MAX_QUEUED_FRAMES:
            log.warning("esl.client_too_slow address=%s queued=%s", self.address, self.outbox.qsize())
            self.close()
            return
        encode = wire.encode_event_json if self.format == "json" else wire.encode_event_plain
        if self.held is not None:
            self.held.append(encode(headers, body))
        else:
            self.send(encode(headers, body))

    def wants(self, headers: list[tuple[str, str]]) -> bool:
        # CUSTOM events start with Event-Subclass, then Event-Name.
        subclass = headers[0][1] if headers[0][0] == "Event-Subclass" else ""
        name = headers[1][1] if subclass else headers[0][1]
        if not self.all_events:
            if name == "CUSTOM":
                if subclass not in self.subclasses:
                    return False
            elif name not in self.event_names:
                return False
        if self.filters:
            values = dict(headers)
            return any(values.get(key) == value for key, value in self.filters)
        return True

    def close(self) -> None:
        self.node.sessions.discard(self)
        self.outbox.put(None)

    # -- reading -----------------------------------------------------------

    def serve(self) -> None:
        writer = gevent.spawn(self.writer)
        try:
            if not self.server.allowed(self.address[0]):
                log.info("esl.rejected address=%s reason=acl", self.address[0])
                self.send(wire.content_frame("text/rude-rejection", b"Access Denied, go away.\n"))
                self.send(wire.content_frame("text/disconnect-notice", wire.DISCONNECT_NOTICE))
                return
            self.send(wire.encode_frame([("Content-Type", "auth/request")]))
            self.read_loop()
        finally:
            self.close()
            writer.join(timeout=5)
            try:
                self.sock.close()
            except OSError:
                pass

    def read_loop(self) -> None:
        buffer = b""
        authenticated = False
        while True:
            while b"\n\n" not in buffer:
                if len(buffer) > MAX_COMMAND_BYTES:
                    log.warning(
                        "esl.command_too_long address=%s bytes=%d: closing; a command ends with an empty line",
                        self.address[0], len(buffer),
                    )
                    return
                try:
                    chunk = self.sock.recv(65536)
                except OSError as error:
                    log.info("esl.client_gone address=%s error=%s", self.address[0], error)
                    return
                if not chunk:
                    return
                buffer += chunk.replace(b"\r\n", b"\n")
            raw, buffer = buffer.split(b"\n\n", 1)
            lines = raw.decode("utf-8", "replace").split("\n")
            command = lines[0].strip()
            extra = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
            if not command:
                continue
            if not authenticated:
                authenticated = self.authenticate(command)
                if not authenticated and command.startswith("auth "):
                    return
                continue
            if not self.dispatch(command, extra):
                return

    def authenticate(self, command: str) -> bool:
        if command.startswith("auth ") and command[5:].strip() == self.server.password:
            self.send(wire.command_reply("+OK accepted"))
            return True
        if command.startswith("auth "):
            log.info("esl.auth_failed address=%s", self.address[0])
            self.send(wire.command_reply("-ERR invalid"))
            self.send(wire.content_frame("text/disconnect-notice", wire.DISCONNECT_NOTICE))
            return False
        # Before auth FreeSWITCH answers any other command like this and
        # keeps waiting for ``auth``.
        self.send(wire.command_reply("-ERR command not found"))
        return False

    def dispatch(self, command: str, extra: dict[str, str]) -> bool:
        """Run one command; return False when the connection should close."""
        word, _, argument = command.partition(" ")
        if word == "exit":
            self.send(wire.command_reply("+OK bye"))
            self.send(wire.content_frame("text/disconnect-notice", wire.DISCONNECT_NOTICE))
            return False
        if word == "event":
            self.subscribe(argument)
        elif word == "noevents":
            self.format, self.all_events = "", False
            self.event_names.clear()
            self.subclasses.clear()
            self.node.sessions.discard(self)
            self.send(wire.command_reply("+OK no longer listening for events"))
        elif word == "nixevent":
            for name in argument.split():
                self.event_names.discard(name)
            self.send(wire.command_reply("+OK events nixed"))
        elif word == "filter":
            self.filter(argument)
        elif word == "api":
            self.api(argument)
        elif word == "bgapi":
            self.bgapi(argument, extra.get("Job-UUID") or str(uuid_module.uuid4()))
        else:
            self.send(wire.command_reply("-ERR command not found"))
        return True

    def subscribe(self, argument: str) -> None:
        words = argument.split()
        event_format = words[0] if words and words[0] in ("plain", "json", "xml") else "plain"
        names = words[1:] if words and words[0] in ("plain", "json", "xml") else words
        custom = False
        for name in names:
            if custom:
                self.subclasses.add(name)
            elif name == "CUSTOM":
                custom = True
            elif name == "ALL":
                self.all_events = True
            else:
                self.event_names.add(name)
        self.format = "json" if event_format == "json" else "plain"
        self.node.sessions.add(self)
        self.send(wire.command_reply(f"+OK event listener enabled {event_format}"))

    def filter(self, argument: str) -> None:
        words = argument.split(" ", 1)
        if words[0] == "delete" and len(words) == 2:
            header = words[1].split(" ", 1)[0]
            self.filters = [item for item in self.filters if item[0] != header]
            self.send(wire.command_reply(f"+OK filter deleted. [{words[1]}]"))
            return
        if len(words) != 2 or " " not in words[1] and not words[1]:
            self.send(wire.command_reply("-ERR invalid syntax"))
            return
        header, _, value = argument.partition(" ")
        self.filters.append((header, value))
        self.send(wire.command_reply(f"+OK filter added. [{header}]=[{value}]"))

    def api(self, argument: str) -> None:
        command, _, rest = argument.strip().partition(" ")
        self.held = []
        try:
            body = self.node.api(command, rest)
        finally:
            held, self.held = self.held, None
        self.send(wire.api_response(body if body is not None else ""))
        for frame in held:
            self.send(frame)

    def bgapi(self, argument: str, job_uuid: str) -> None:
        command, _, rest = argument.strip().partition(" ")
        self.send(wire.command_reply(f"+OK Job-UUID: {job_uuid}", [("Job-UUID", job_uuid)]))
        gevent.spawn(self._run_job, command, rest, job_uuid)

    def _run_job(self, command: str, rest: str, job_uuid: str) -> None:
        body = self.node.api(command, rest, job_uuid=job_uuid)
        if body is None:
            return
        overrides = {"Job-UUID": job_uuid, "Job-Command": command}
        if rest:
            overrides["Job-Command-Arg"] = rest
        headers = self.node.renderer.render("background_job", overrides=overrides)
        if not rest:
            headers = [(name, value) for name, value in headers if name != "Job-Command-Arg"]
        self.node.publish(headers, body)


class EslServer:
    """A gevent TCP server that speaks inbound-mode Event Socket."""

    def __init__(self, node, host: str, port: int, password: str, allowed_networks=()) -> None:
        self.node = node
        self.password = password
        self.networks = [ipaddress.ip_network(network, strict=False) for network in allowed_networks]
        self.stream_server = StreamServer((host, port), self._handle)

    def allowed(self, host: str) -> bool:
        if not self.networks:
            return True
        address = ipaddress.ip_address(host)
        return any(address in network for network in self.networks)

    def _handle(self, sock, address) -> None:
        log.debug("esl.connect address=%s:%s", *address[:2])
        Session(self, sock, address).serve()

    def start(self) -> None:
        self.stream_server.start()

    @property
    def address(self) -> tuple[str, int]:
        return self.stream_server.address

    def stop(self) -> None:
        self.stream_server.stop(timeout=1)
