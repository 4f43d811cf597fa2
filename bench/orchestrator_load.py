"""Memory of the orchestrator following about 2,000 concurrent calls.

Creates a scratch database (migrated, dropped at the end) with one tenant,
a trunk of 2,200 channels at 200 calls/s, a progressive campaign, 2,100
agents and 2,600 leads, then starts the switch simulator (every callee a
person with long talk) and the real orchestrator on free 127.0.0.1 ports.
Every second it samples VmRSS/VmHWM of both processes from /proc, the CPU
time of the orchestrator, the attempts in flight and the Event Socket
events the simulator sends (counted on a second subscription, the same
stream the orchestrator receives). Prints one markdown row.

    .venv/bin/python bench/orchestrator_load.py [--hold 90]

Needs PostgreSQL and Redis from ``scripts/services.sh start``. Everything
started here is stopped by PID, and the whole run is bounded by 3 minutes.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch_db import create_database, drop_database  # noqa: E402
from dialer_common import db  # noqa: E402
from dialer_common.config import Config  # noqa: E402

AGENTS = 2_100
LEADS = 2_600
MAX_CHANNELS = 2_200
CALLS_PER_SECOND = 200
MAX_RUN_S = 180
# The gate decides at this instant (shifted clock): a Wednesday, 11:00 in New York.
GATE_TIME = dt.datetime(2031, 3, 12, 15, 0, tzinfo=dt.UTC)
PROFILE = {
    "mix": {"person": 1.0},
    "person_ring_median_s": 2.0,
    "misclassification_rate": 0.0,
    "talk_mean_s": 900.0,
}
EVENTS = "CHANNEL_CREATE CHANNEL_PROGRESS CHANNEL_PROGRESS_MEDIA CHANNEL_ANSWER CHANNEL_BRIDGE " \
         "CHANNEL_UNBRIDGE CHANNEL_HANGUP CHANNEL_HANGUP_COMPLETE BACKGROUND_JOB HEARTBEAT CUSTOM callcenter::info"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed(url: str) -> int:
    """Insert the tenant, trunk, DID, running campaign, agents and leads; return the campaign id."""
    conn = db.connect(url)
    with db.transaction(conn) as cur:
        cur.execute("INSERT INTO tenants (slug, name) VALUES ('bench', 'Bench') RETURNING id")
        tenant_id = cur.fetchone()["id"]
        cur.execute(
            "INSERT INTO trunks (tenant_id, name, gateway, max_channels, calls_per_second)"
            " VALUES (%s, 'bench', 'carrier_a', %s, %s) RETURNING id",
            (tenant_id, MAX_CHANNELS, CALLS_PER_SECOND),
        )
        trunk_id = cur.fetchone()["id"]
        cur.execute("INSERT INTO dids (tenant_id, number, trunk_id) VALUES (%s, '+13055550150', %s)",
                    (tenant_id, trunk_id))
        cur.execute(
            "INSERT INTO campaigns (tenant_id, name, status, dial_mode, trunk_id, queue_name, caller_id_name,"
            " compliance_packs) VALUES (%s, 'bench', 'running', 'progressive', %s, 'bench@default', 'Bench',"
            " ARRAY['us-federal']) RETURNING id",
            (tenant_id, trunk_id),
        )
        campaign_id = cur.fetchone()["id"]
        cur.execute(
            "INSERT INTO agents (tenant_id, campaign_id, name, display_name, agent_type, status, state)"
            " SELECT %s, %s, (10000 + n)::text || '@default', 'Agent ' || n, 'uuid-standby', 'Available',"
            " 'Waiting' FROM generate_series(1, %s) AS n",
            (tenant_id, campaign_id, AGENTS),
        )
        cur.execute(
            "INSERT INTO leads (tenant_id, campaign_id, phone_e164, state_code)"
            " SELECT %s, %s, '+1212736' || lpad(n::text, 4, '0'), 'NY' FROM generate_series(1, %s) AS n",
            (tenant_id, campaign_id, LEADS),
        )
    conn.close()
    return campaign_id


def proc_status(pid: int) -> dict[str, int]:
    """Return VmRSS and VmHWM of a process in kB (empty once it exited)."""
    values = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    except FileNotFoundError:
        pass
    return values


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class EventCounter(threading.Thread):
    """Subscribe to the simulator's events like the orchestrator does and count them."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.count = 0
        self.stopping = False

    def run(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            sock.sendall(b"auth ClueCon\n\n")
            sock.sendall(f"event plain {EVENTS}\n\n".encode())
            sock.settimeout(1.0)
            tail = b""
            while not self.stopping:
                try:
                    data = sock.recv(1 << 16)
                except TimeoutError:
                    continue
                if not data:
                    return
                chunk = tail + data
                self.count += chunk.count(b"Content-Type: text/event-plain")
                tail = chunk[-40:]
                self.count -= tail.count(b"Content-Type: text/event-plain")


def in_flight(conn) -> int:
    with db.transaction(conn) as cur:
        cur.execute("SELECT count(*) AS calls FROM attempts WHERE state <> 'ended'")
        return cur.fetchone()["calls"]


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.kill(process.pid, 15)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, 9)
            process.wait()


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return platform.processor() or "unknown"


def run(hold_s: float) -> None:
    base = Config.from_env()
    name, url = create_database(base)
    processes: list[subprocess.Popen] = []
    logs = Path(tempfile.mkdtemp(prefix="orchestrator-load-"))
    started = time.monotonic()
    try:
        seed(url)
        sim_port = free_port()
        profile = logs / "profile.json"
        profile.write_text(json.dumps(PROFILE))
        config = dataclasses.replace(base, database_url=url, redis_prefix=f"bench-{os.getpid()}:")
        env = dict(os.environ, PYTHONPATH=str(ROOT), DIALER_DATABASE_URL=config.database_url,
                   DIALER_REDIS_PREFIX=config.redis_prefix, DIALER_ESL_SWITCHES=f"sim1=127.0.0.1:{sim_port}:ClueCon",
                   DIALER_LOG_LEVEL="WARNING",
                   DIALER_COMPLIANCE_CLOCK_OFFSET_S=str(int((GATE_TIME - dt.datetime.now(dt.UTC)).total_seconds())))
        sim = subprocess.Popen(
            [sys.executable, "-m", "switchsim", "--port", str(sim_port), "--profile", str(profile), "--no-cdr",
             "--agent-hangup-share", "0", "--log-level", "WARNING"],
            env=env, cwd=ROOT, stdout=open(logs / "switchsim.log", "wb"), stderr=subprocess.STDOUT,
        )
        processes.append(sim)
        deadline = time.monotonic() + 20
        while socket.socket().connect_ex(("127.0.0.1", sim_port)) != 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        counter = EventCounter(sim_port)
        counter.start()
        orch = subprocess.Popen(
            [sys.executable, "-m", "orchestrator"], env=env, cwd=ROOT,
            stdout=open(logs / "orchestrator.log", "wb"), stderr=subprocess.STDOUT,
        )
        processes.append(orch)
        measure(orch, sim, counter, url, hold_s, started, logs)
    finally:
        for process in reversed(processes):
            stop(process)
        drop_database(base, name)


def measure(orch, sim, counter: EventCounter, url: str, hold_s: float, started: float, logs: Path) -> None:
    conn = db.connect(url)
    peak = {"orch": 0, "sim": 0, "calls": 0}
    cpu_start, wall_start, events_start = cpu_seconds(orch.pid), time.monotonic(), counter.count
    reached_at = None
    while time.monotonic() - started < MAX_RUN_S - 20:
        time.sleep(1.0)
        if orch.poll() is not None or sim.poll() is not None:
            raise RuntimeError(f"a process exited early; logs in {logs}")
        calls = in_flight(conn)
        peak["calls"] = max(peak["calls"], calls)
        peak["orch"] = max(peak["orch"], proc_status(orch.pid).get("VmHWM", 0))
        peak["sim"] = max(peak["sim"], proc_status(sim.pid).get("VmHWM", 0))
        print(f"t={time.monotonic() - started:5.0f}s calls={calls} orch_rss_kb={proc_status(orch.pid).get('VmRSS')}"
              f" sim_rss_kb={proc_status(sim.pid).get('VmRSS')} events={counter.count}", file=sys.stderr)
        if reached_at is None and calls >= 2_000:
            reached_at = time.monotonic()
        if reached_at is not None and time.monotonic() - reached_at >= hold_s:
            break
    wall = time.monotonic() - wall_start
    cpu_pct = 100.0 * (cpu_seconds(orch.pid) - cpu_start) / wall
    events_per_s = (counter.count - events_start) / wall
    counter.stopping = True
    conn.close()
    print("| command | machine | date | concurrent calls | orchestrator peak RSS | simulator peak RSS"
          " | events/s | orchestrator CPU |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    print(f"| `.venv/bin/python bench/orchestrator_load.py --hold {hold_s:.0f}` | {platform.machine()},"
          f" {cpu_model()}, {os.cpu_count()} CPUs | {dt.date.today()} | {peak['calls']:,} |"
          f" {peak['orch'] / 1024:.0f} MB | {peak['sim'] / 1024:.0f} MB | {events_per_s:.0f} | {cpu_pct:.0f} % |")
    print(f"logs: {logs}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hold", type=float, default=90.0,
                        help="seconds to keep sampling after 2,000 concurrent calls are reached (default 90)")
    run(parser.parse_args().hold)


if __name__ == "__main__":
    main()
