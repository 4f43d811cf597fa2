"""ops/smoke/smoke.py against the app served on 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT

SMOKE = ROOT / "ops" / "smoke" / "smoke.py"


def _run_smoke(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SMOKE)], env=env, capture_output=True, text=True, timeout=60)


def test_smoke_ok(live_server, tenant):
    result = _run_smoke({"API": live_server, "EMAIL": tenant["email"], "PASS": tenant["password"]})

    assert result.stdout.strip() == "SMOKE OK", result.stdout + result.stderr
    assert result.returncode == 0


def test_smoke_names_failing_step(live_server, tenant):
    result = _run_smoke({"API": live_server, "EMAIL": tenant["email"], "PASS": "wrong"})

    assert result.returncode == 1
    assert result.stdout.startswith("SMOKE FAILED login: expected 200, got 401")


def test_smoke_needs_settings():
    result = _run_smoke({})

    assert result.returncode == 1
    assert "set API, EMAIL, PASS" in result.stdout
