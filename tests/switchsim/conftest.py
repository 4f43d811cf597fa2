"""Fixtures that run ``python -m switchsim`` as a real process on a free port."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from dialer_common.esl import FrameParser, parse_event
from tests.conftest import ROOT, free_port

FIXTURES = ROOT / "tests" / "fixtures" / "freeswitch"
# Callee of each test number. The replayed recordings' numbers pin the
# timings the real far ends had (SIPp scenarios in fixtures/freeswitch/sipp).
FORCED = {
    "15550100": {"outcome": "person", "ring_s": 2, "early_media": True, "hold_s": 3, "amd_result": "person"},
    "15550101": {"outcome": "person", "amd_result": "person"},
    "15550102": {
        "outcome": "person",
        "ring_s": 0.3,
        "early_media": False,
        "hold_s": 60,
        "amd_result": "person",
    },
    "15550103": {"outcome": "person", "ring_s": 0.3, "early_media": False, "hold_s": 600},
    "15550104": "busy",
    "15550105": "failure",
    "15550106": "no_answer",
    "15550107": "unreachable",
    "15550110": {"outcome": "person", "ring_s": 2, "early_media": True, "hold_s": 3},
    "15550111": {"outcome": "person", "ring_s": 0.3, "early_media": False, "hold_s": 8},
    "15550120": {"outcome": "machine", "amd_result": "machine"},
    "15550121": {"outcome": "person", "amd_result": "person", "talk_s": 600},
}


def start_simulator(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    outcomes = tmp_path / "outcomes.json"
    outcomes.write_text(json.dumps(FORCED))
    command = [
        sys.executable,
        "-m",
        "switchsim",
        "--port",
        str(port),
        "--speed",
        "40",
        "--outcomes",
        str(outcomes),
        "--heartbeat",
        "0.5",
        "--agent-wrap-up",
        "0",
        "--agent-hangup-share",
        "1",
        *extra,
    ]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, port
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"switchsim did not listen on port {port}: {process.stdout.read()!r}")


@pytest.fixture
def simulator(tmp_path):
    process, port = start_simulator(tmp_path, "--no-cdr")
    yield port
    process.terminate()
    process.wait(timeout=5)


class Client:
    """A raw-socket ESL client that records every frame it reads."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.parser = FrameParser()
        self.frames = []

    def send(self, command: str) -> None:
        self.sock.sendall(command.encode("utf-8") + b"\n\n")

    def read_until(self, predicate, timeout: float = 10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for frame in self.frames:
                if predicate(frame):
                    return frame
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                break
            if not data:
                break
            self.frames.extend(self.parser.feed(data))
        raise AssertionError(f"frame not seen within {timeout}s; got {[f.content_type for f in self.frames]}")

    def events(self):
        return [parse_event(frame) for frame in self.frames if frame.content_type.startswith("text/event")]

    def close(self) -> None:
        self.sock.close()


def recorded(name: str):
    """Return the frames and events of one recording."""
    frames = FrameParser().feed((FIXTURES / f"{name}.esl").read_bytes())
    events = [parse_event(frame) for frame in frames if frame.content_type.startswith("text/event")]
    return frames, events


def client_commands(name: str) -> list[str]:
    text = (FIXTURES / f"{name}.client.txt").read_text("utf-8")
    return [block for block in text.split("\n\n") if block.strip()]


class CdrServer(ThreadingHTTPServer):
    """Collects CDR posts; answers 500 to the first ``failures`` requests."""

    def __init__(self, failures: int = 0) -> None:
        super().__init__(("127.0.0.1", 0), CdrHandler)
        self.failures = failures
        self.posts: list[tuple[str, dict, str]] = []


class CdrHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.posts.append((self.path, json.loads(body), self.headers["Authorization"]))
        status = 500 if len(self.server.posts) <= self.server.failures else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def cdr_server():
    server = CdrServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
