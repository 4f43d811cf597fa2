"""`make demo` as a user runs it: it comes up, dials, and Ctrl-C stops it.

The script runs against the private PostgreSQL and Redis the suite already
uses (it leaves running services alone) on free web and switch ports.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
import requests

from tests.conftest import ROOT, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _read_until(process: subprocess.Popen, marker: str, timeout_s: float) -> str:
    """Return the script's output up to and including the line holding ``marker``."""
    deadline = time.monotonic() + timeout_s
    lines = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                break
            continue
        lines.append(line)
        if marker in line:
            return "".join(lines)
    raise AssertionError(f"no {marker!r} within {timeout_s} s; output:\n{''.join(lines)}")


def _pids_in_session(session_ids: set[int]) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) in session_ids:
            found.append(int(entry))
    return found


def test_demo_comes_up_dials_and_stops(tmp_path):
    web_port = free_port()
    cdr_port = free_port()
    env = dict(
        os.environ,
        DIALER_WEB_PORT=str(web_port),
        DIALER_CDR_RECEIVER_PORT=str(cdr_port),
        DIALER_DEFAULT_LOCALE="es",
        DIALER_SIM_PORT=str(free_port()),
        DEMO_EMAIL="demo-e2e@demo.example",
        DEMO_PASSWORD="Demo-Clave-E2E-2026",
        DIALER_REDIS_PREFIX=f"dialer-demo-test-{os.getpid()}:",
    )
    process = subprocess.Popen(
        ["bash", "scripts/demo.sh"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output = _read_until(process, "Pulse Ctrl-C para detener la demo.", 240)
        assert "campaign_id=" in output
        assert f"http://127.0.0.1:{web_port}/" in output
        assert f"http://127.0.0.1:{cdr_port}/api/cdr" in output
        receiver_health = requests.get(f"http://127.0.0.1:{cdr_port}/health", timeout=10)
        assert receiver_health.json() == {"status": "ok", "database": "ok"}

        login = requests.post(
            f"http://127.0.0.1:{web_port}/api/auth/login",
            json={"email": env["DEMO_EMAIL"], "password": env["DEMO_PASSWORD"]},
            timeout=10,
        )
        assert login.status_code == 200, login.text
        children = {int(pid) for pid in subprocess.run(
            ["pgrep", "-P", str(process.pid)], capture_output=True, text=True
        ).stdout.split()}
        assert len(children) >= 3

        # The demo's own processes lead sessions of their own (setsid).
        deadline = time.monotonic() + 60
        dialing = False
        while time.monotonic() < deadline and not dialing:
            log = (ROOT / "var/log/orchestrator.log").read_text(errors="replace")
            dialing = "originate" in log or "dial.placed" in log
            time.sleep(1)
        assert dialing, "the orchestrator placed no dial within 60 s"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            rest, _ = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise

    assert "Deteniendo la demo..." in rest
    assert "Demo detenida." in rest
    assert process.returncode == 0
    assert _pids_in_session(children) == []
