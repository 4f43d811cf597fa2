"""sipp/ramp.sh: target and option checks, and one short self-contained run when sipp is installed."""

import shutil
import socket
import subprocess
from pathlib import Path

import pytest

RAMP = Path(__file__).resolve().parents[2] / "sipp" / "ramp.sh"


def run_ramp(*arguments, timeout=60):
    return subprocess.run(["bash", str(RAMP), *arguments], capture_output=True, text=True, timeout=timeout)


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_ramp_rejects_foreign_target():
    result = run_ramp("--target", "192.0.2.10:5060")

    assert result.returncode == 2
    assert "rejected target '192.0.2.10'" in result.stderr
    assert "--i-own-this-target" in result.stderr


def test_ramp_local_callee_needs_loopback():
    result = run_ramp("--target", "192.0.2.10:5060", "--i-own-this-target", "--with-local-callee")

    assert result.returncode == 2
    assert "--with-local-callee needs a 127.0.0.1 target" in result.stderr


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("--duration", "0"), "invalid --duration '0'"),
        (("--duration", "7200"), "the maximum is 3600 s"),
        (("--max-rate", "abc"), "invalid --max-rate 'abc'"),
        (("--start-rate", "9", "--max-rate", "3"), "above --max-rate 3"),
        (("--target", "127.0.0.1"), "expected HOST:PORT"),
        (("--bogus",), "unknown option '--bogus'"),
    ],
)
def test_ramp_rejects_bad_option(arguments, message):
    result = run_ramp(*arguments)

    assert result.returncode == 2
    assert message in result.stderr


@pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp is not installed (apt-get install sip-tester)")
def test_ramp_local_run_prints_statistics(tmp_path):
    port = free_udp_port()

    result = run_ramp(
        "--with-local-callee", "--target", f"127.0.0.1:{port}", "--start-rate", "2", "--step", "1",
        "--step-seconds", "1", "--max-rate", "3", "--hold-ms", "200", "--duration", "2",
        "--output-dir", str(tmp_path),
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Successful call" in result.stdout
    assert "SuccessfulCall(C)=" in result.stdout
    assert (tmp_path / "caller_stats.csv").exists()
