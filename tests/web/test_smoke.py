"""ops/smoke/smoke.py against the app served on 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT, free_port

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


def test_smoke_stores_cdr(live_server, tenant, conn):
    result = _run_smoke({"API": live_server, "EMAIL": tenant["email"], "PASS": tenant["password"]})

    assert result.returncode == 0, result.stdout + result.stderr
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) AS stored FROM cdr WHERE tenant_id = %s", (tenant["id"],))
        assert cur.fetchone()["stored"] == 1


def test_smoke_names_failing_cdr_step(live_server, tenant):
    env = {"API": live_server, "EMAIL": tenant["email"], "PASS": tenant["password"], "CDR_PASS": "wrong"}

    result = _run_smoke(env)

    assert result.returncode == 1
    assert result.stdout.startswith("SMOKE FAILED cdr: expected 200 with status stored, got 401")


def test_smoke_checks_health_first():
    # A port that was free a moment ago: nothing answers there.
    api = f"http://127.0.0.1:{free_port()}"

    result = _run_smoke({"API": api, "EMAIL": "a@example.invalid", "PASS": "x"})

    assert result.returncode == 1
    assert result.stdout.startswith(f"SMOKE FAILED GET {api}/health failed")
