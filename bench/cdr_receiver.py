"""Benchmark sustained CDR ingest over HTTP through the CDR receiver.

Clients post raw-JSON CDRs (``encode=false``, the media-node setting in
freeswitch_conf/) to ``python -m cdr_receiver`` on 127.0.0.1, each post on a
new TCP connection, as mod_json_cdr does. Bodies are the recorded CDRs of
tests/fixtures/freeswitch/cdr_json with the channel variables the
orchestrator sets at originate and a fresh channel uuid per post. Only the
documents of 9 KB or more are used, so the mean is close to the 11 KB of a
real post.
Every row keeps its raw body; the run checks that every 200 is a stored row.

The clients run in separate processes on the same cores as the receiver and
PostgreSQL. CPU per CDR is read from /proc for the receiver, every
PostgreSQL process of the server (backends, WAL writer, checkpointer) and
the clients.

  .venv/bin/python bench/cdr_receiver.py [--seconds S] [--workers N] [--clients C] [--keep-alive]
"""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import multiprocessing
import os
import select
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cdr_ingest import cpu_seconds, free_port, load_average, machine, stored_rows, worker_pids  # noqa: E402
from bench.scratch_db import create_database, drop_database  # noqa: E402
from dialer_common import db  # noqa: E402
from dialer_common.config import Config  # noqa: E402

DOCUMENTS = ROOT / "tests" / "fixtures" / "freeswitch" / "cdr_json"
CDR_AUTH = ("cdr", "bench-cdr-secret")
MIN_BODY = 9 * 1024
# A stand-in channel uuid, replaced in every post.
PLACEHOLDER = "00000000-0000-4000-8000-00000000beef"


def bodies(tenant_id: int) -> list[bytes]:
    """Raw JSON CDR bodies with the dialer's originate variables; the channel uuid is PLACEHOLDER."""
    result = []
    for path in sorted(DOCUMENTS.glob("*/*.json")):
        document = json.loads(path.read_text())
        variables = document["variables"]
        old_uuid = variables["uuid"]
        variables.update({
            "dialer_tenant_id": str(tenant_id), "dialer_campaign_id": "7", "dialer_lead_id": "1042",
            "dialer_attempt_id": "6f1c2a4e-9d55-4d0e-8a43-0c7b4e1f2a90", "dialer_trunk_id": "3",
            "dialer_did": "+13055550100", "dialer_queue": "campaign-7@default",
            "dialer_machine_action": "voicemail", "dialer_voicemail_file": "/var/lib/dialer/vm/7.wav",
            "dialer_safe_harbor_file": "/var/lib/dialer/safe_harbor/7-es.wav",
        })
        text = json.dumps(document, ensure_ascii=False, separators=(",", ":")).replace(old_uuid, PLACEHOLDER)
        body = text.encode()
        if len(body) >= MIN_BODY and body not in result:
            result.append(body)
    return result


def _client(port: int, tenant_id: int, connections: int, seconds: float, keep_alive: bool, results) -> None:
    """Keep ``connections`` posts in flight for ``seconds``; put (posts, non-200, latencies) on results.

    Kept cheap, because it shares the cores with the receiver and
    PostgreSQL: epoll directly, and channel uuids from a counter instead of
    os.urandom.
    """
    templates = []
    for body in bodies(tenant_id):
        head, _, tail = body.partition(PLACEHOLDER.encode())
        templates.append((head, tail, len(body)))
    authorization = base64.b64encode(":".join(CDR_AUTH).encode()).decode()
    prefix = uuid.uuid4().hex[:8]
    connection_header = "" if keep_alive else "Connection: close\r\n"
    address = ("127.0.0.1", port)
    poller = select.epoll()
    sockets: dict[int, socket.socket] = {}
    sent_at: dict[int, float] = {}
    received: dict[int, bytes] = {}
    stop_at = time.monotonic() + seconds
    posts = failures = counter = 0
    latencies: list[float] = []

    def send(sock: socket.socket) -> None:
        nonlocal counter
        counter += 1
        call_uuid = f"{prefix}-0000-4000-8000-{counter:012x}"
        head, tail, length = templates[counter % len(templates)]
        request = (f"POST /api/cdr?uuid={call_uuid} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                   f"User-Agent: freeswitch-json/1.0\r\nAccept: */*\r\nAuthorization: Basic {authorization}\r\n"
                   f"Content-Type: application/json\r\nContent-Length: {length}\r\n{connection_header}\r\n")
        sent_at[sock.fileno()] = time.perf_counter()
        received[sock.fileno()] = b""
        sock.sendall(request.encode() + head + call_uuid.encode() + tail)

    def open_and_send() -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.connect(address)
        sockets[sock.fileno()] = sock
        send(sock)
        poller.register(sock.fileno(), select.EPOLLIN)

    for _ in range(connections):
        open_and_send()

    while sockets:
        for fd, _ in poller.poll(1.0):
            sock = sockets[fd]
            chunk = sock.recv(65536)
            data = received[fd] + chunk
            head, sep, rest = data.partition(b"\r\n\r\n")
            if chunk and (not sep or len(rest) < int(head.split(b"Content-Length: ", 1)[1].split(b"\r", 1)[0])):
                received[fd] = data
                continue
            posts += 1
            latencies.append(time.perf_counter() - sent_at[fd])
            if not data.startswith(b"HTTP/1.1 200 "):
                failures += 1
            done = time.monotonic() >= stop_at
            if keep_alive and chunk and not done:
                send(sock)
                continue
            poller.unregister(fd)
            del sockets[fd]
            sock.close()
            if not done:
                open_and_send()
    poller.close()
    results.put((posts, failures, latencies))


def start_receiver(url: str, port: int, workers: int) -> subprocess.Popen:
    env = {key: value for key, value in os.environ.items() if key != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(DIALER_DATABASE_URL=url, DIALER_CDR_USER=CDR_AUTH[0], DIALER_CDR_PASSWORD=CDR_AUTH[1],
               DIALER_LOG_LEVEL="WARNING")
    process = subprocess.Popen([sys.executable, "-m", "cdr_receiver", "--port", str(port), "--workers",
                                str(workers)], cwd=ROOT, env=env)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError("the CDR receiver did not listen within 20 s: see its output above")



def postgres_pids() -> list[int]:
    pids = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() in ("postgres", "postmaster"):
                pids.append(int(comm.parent.name))
        except OSError:
            continue
    return pids


def peak_rss_mb(pids: list[int]) -> list[float]:
    peaks = []
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
        except OSError:
            continue
    return peaks



def run(url: str, tenant_id: int, args, keep_alive: bool) -> dict:
    port = free_port()
    receiver = start_receiver(url, port, args.workers)
    context = multiprocessing.get_context("spawn")
    try:
        time.sleep(0.5)
        receiver_pids = worker_pids(receiver.pid) if args.workers > 1 else [receiver.pid]
        # Warm-up: opens the committers' connections and fills the caches.
        warm = context.Queue()
        _client(port, tenant_id, 4, 1.0, keep_alive, warm)
        warm.get()
        before = stored_rows(url)
        pg = postgres_pids()
        results = context.Queue()
        per_process = max(args.clients // args.client_processes, 1)
        children = [context.Process(target=_client, args=(port, tenant_id, per_process, args.seconds, keep_alive,
                                                           results)) for _ in range(args.client_processes)]
        for child in children:
            child.start()
        # The clients spend their first moments building bodies; measure from here.
        started = time.perf_counter()
        cpu_receiver, cpu_pg = cpu_seconds(receiver_pids), cpu_seconds(pg)
        cpu_clients = cpu_seconds([child.pid for child in children])
        totals = [results.get(timeout=args.seconds + 120) for _ in children]
        elapsed = time.perf_counter() - started
        cpu_receiver = cpu_seconds(receiver_pids) - cpu_receiver
        cpu_pg = cpu_seconds(pg) - cpu_pg
        cpu_clients = cpu_seconds([child.pid for child in children]) - cpu_clients
        for child in children:
            child.join()
        stored = stored_rows(url) - before
        rss = peak_rss_mb(receiver_pids)
    finally:
        receiver.send_signal(signal.SIGTERM)
        receiver.wait(timeout=60)
    posts = sum(total[0] for total in totals)
    failures = sum(total[1] for total in totals)
    latencies = sorted(latency for total in totals for latency in total[2])
    if stored != posts - failures:
        raise RuntimeError(f"{posts - failures} posts got a 200 response but {stored} rows were stored")
    return {
        "posts": posts, "failures": failures, "stored": stored, "rate": stored / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000, "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "cpu_receiver_us": cpu_receiver / max(posts, 1) * 1e6, "cpu_pg_us": cpu_pg / max(posts, 1) * 1e6,
        "cpu_clients_us": cpu_clients / max(posts, 1) * 1e6, "rss": rss, "seconds": elapsed,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each run in s (default 30)")
    parser.add_argument("--workers", type=int, default=2, help="receiver worker processes (default 2)")
    parser.add_argument("--clients", type=int, default=64, help="posts in flight (default 64)")
    parser.add_argument("--client-processes", type=int, default=2, help="client processes (default 2)")
    parser.add_argument("--keep-alive", action="store_true",
                        help="also run with keep-alive connections (mod_json_cdr opens one per CDR)")
    args = parser.parse_args(argv)

    config = Config.from_env()
    name, url = create_database(config)
    command = "python bench/cdr_receiver.py " + " ".join(argv if argv is not None else sys.argv[1:])
    load_at_start = load_average()
    outcomes = []
    try:
        conn = db.connect(url)
        with db.transaction(conn) as cur:
            cur.execute("INSERT INTO tenants (slug, name) VALUES ('bench', 'Bench') RETURNING id")
            tenant_id = cur.fetchone()["id"]
        conn.close()
        sizes = [len(body) for body in bodies(tenant_id)]
        modes = [False, True] if args.keep_alive else [False]
        for keep_alive in modes:
            result = run(url, tenant_id, args, keep_alive)
            outcomes.append((keep_alive, result))
            print(f"done: keep_alive={keep_alive}: {result['rate']:,.0f} CDR/s", file=sys.stderr, flush=True)
    finally:
        drop_database(config, name)

    today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\nCommand: `{command.strip()}`  \nMachine: {machine()}  \nDate: {today}  \n"
          f"Load average (1 / 5 / 15 min): {load_at_start} at the start, {load_average()} at the end  \n"
          f"Bodies: {len(sizes)} recorded CDRs, {min(sizes):,}-{max(sizes):,} bytes, mean "
          f"{sum(sizes) / len(sizes):,.0f} bytes\n")
    print("| connections | seconds | CDR/s stored | posts | non-200 | p50 / p99 ms | CPU per CDR: receiver / "
          "PostgreSQL / clients (µs) | receiver peak RSS |")
    print("| --- | ---: | ---: | ---: | ---: | --- | --- | --- |")
    for keep_alive, r in outcomes:
        mode = "keep-alive" if keep_alive else "one per post"
        rss = " / ".join(f"{mb:.0f} MB" for mb in r["rss"])
        print(f"| {mode} | {r['seconds']:.0f} | {r['rate']:,.0f} | {r['posts']:,} | {r['failures']} | "
              f"{r['p50_ms']:.1f} / {r['p99_ms']:.1f} | {r['cpu_receiver_us']:.0f} / {r['cpu_pg_us']:.0f} / "
              f"{r['cpu_clients_us']:.0f} | {rss} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
