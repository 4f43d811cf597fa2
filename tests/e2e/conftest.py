"""Run the whole stack (web tier, switch simulator, orchestrator) as separate
processes against the session's database and Redis prefix."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from dialer_common.demo import calling_hours_offset_s
from tests.conftest import ROOT, free_port

PYTHON = sys.executable


def _wait_http(url: str, timeout_s: float, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode} before {url} answered")
        try:
            requests.get(url, timeout=5)
            return
        # A server still starting may accept the connection and answer late.
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout_s} s")


def _wait_port(port: int, timeout_s: float, process: subprocess.Popen) -> None:
    import socket

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode} before port {port} opened")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"port {port} did not open within {timeout_s} s")


class Stack:
    """The processes of one end-to-end run and where their logs go."""

    def __init__(self, env: dict[str, str], log_dir: Path):
        self.env = env
        self.log_dir = log_dir
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "wb")
        process = subprocess.Popen(args, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        self.processes[name] = process
        return process

    def run_cli(self, *args: str) -> str:
        result = subprocess.run(
            [PYTHON, "-m", "dialer_common.cli", *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, f"dialer {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text(errors="replace")

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def stack_env(config, tmp_path) -> dict[str, str]:
    web_port = free_port()
    sim_port = free_port()
    cdr_port = free_port()
    env = dict(os.environ)
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "DIALER_DATABASE_URL": config.database_url,
            "DIALER_REDIS_URL": config.redis_url,
            "DIALER_REDIS_PREFIX": config.redis_prefix,
            "DIALER_WEB_PORT": str(web_port),
            "DIALER_WEB_BASE_URL": f"http://127.0.0.1:{web_port}",
            "DIALER_CDR_RECEIVER_PORT": str(cdr_port),
            "DIALER_CDR_URL": f"http://127.0.0.1:{cdr_port}/api/cdr",
            "DIALER_SIM_PORT": str(sim_port),
            "DIALER_ESL_SWITCHES": f"sim1=127.0.0.1:{sim_port}:ClueCon",
            "DIALER_DEFAULT_LOCALE": "es",
            # Inside every US calling window whatever the hour the suite runs.
            "DIALER_COMPLIANCE_CLOCK_OFFSET_S": str(calling_hours_offset_s()),
            "DEMO_EMAIL": "supervisora@demo.example",
            "DEMO_PASSWORD": "Demo-Clave-2026",
        }
    )
    return env


@pytest.fixture
def stack(stack_env, tmp_path):
    """Start web, simulator (20x speed) and orchestrator; stop them after the test."""
    running = Stack(stack_env, tmp_path)
    web_port = int(stack_env["DIALER_WEB_PORT"])
    sim_port = int(stack_env["DIALER_SIM_PORT"])
    try:
        web = running.start(
            "web",
            [
                str(Path(PYTHON).parent / "gunicorn"),
                "-k", "gthread", "--threads", "16", "-w", "1", "--no-control-socket",
                "-b", f"127.0.0.1:{web_port}", "web:create_app()",
            ],
        )
        _wait_http(f"http://127.0.0.1:{web_port}/health", 30, web)
        receiver = running.start("cdr_receiver", [PYTHON, "-m", "cdr_receiver"])
        _wait_http(f"http://127.0.0.1:{stack_env['DIALER_CDR_RECEIVER_PORT']}/health", 30, receiver)
        # The simulator posts CDRs to the receiver (DIALER_CDR_URL), as a media node does.
        sim = running.start(
            "switchsim",
            [PYTHON, "-m", "switchsim", "--port", str(sim_port), "--speed", "20", "--seed", "11"],
        )
        _wait_port(sim_port, 30, sim)
        yield running
    finally:
        running.stop()
