"""Benchmark CDR ingest into PostgreSQL, keeping every raw body.

Bodies are the recorded mod_json_cdr posts of tests/fixtures/freeswitch
(4-13 KB, the size of a real post) with a fresh channel uuid each time.

  (a) in-process: parse_cdr + insert_cdr on one connection, one commit per CDR;
  (b) HTTP: concurrent keep-alive clients posting to gunicorn on 127.0.0.1.

Each run uses its own database (created, migrated, dropped) on the server
of DIALER_DATABASE_URL. Prints markdown rows with the command, the machine
and the date.

  .venv/bin/python bench/cdr_ingest.py [--count N] [--seconds S] [--clients C]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg2
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dialer_common import db  # noqa: E402
from dialer_common.config import Config  # noqa: E402
from web.cdr.store import INSERT_SQL, insert_cdr, parse_cdr  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "freeswitch" / "cdr_http"
CDR_AUTH = ("cdr", "cdr-secret")


@dataclasses.dataclass
class Template:
    """A recorded body with the tenant set; its channel uuid is replaced per post."""

    name: str
    content_type: str
    body: bytes
    call_uuid: bytes

    def fresh(self) -> bytes:
        return self.body.replace(self.call_uuid, str(uuid.uuid4()).encode())


def load_templates(variant: str, tenant_id: int) -> list[Template]:
    templates = []
    for path in sorted((FIXTURES / variant).glob("*.http")):
        head, _, body = path.read_bytes().partition(b"\r\n\r\n")
        headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:])
        call_uuid = head.split(b"?uuid=", 1)[1].split(b" ", 1)[0]
        if variant == "encoded":
            anchor = b"%22variables%22%3A%7B"
            field = b"%22dialer_tenant_id%22%3A%22" + str(tenant_id).encode() + b"%22,"
        else:
            anchor = b'"variables":{'
            field = b'"dialer_tenant_id":"' + str(tenant_id).encode() + b'",'
        body = body.replace(anchor, anchor + field, 1)
        templates.append(Template(path.stem, headers["Content-Type"], body, call_uuid))
    return templates


def create_database(config: Config) -> tuple[str, str]:
    name = f"dialer_bench_{os.getpid()}"
    base = config.database_url.rpartition("/")[0]
    admin = psycopg2.connect(f"{base}/postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    url = f"{base}/{name}"
    db.apply_migrations(url)
    return name, url


def drop_database(config: Config, name: str) -> None:
    admin = psycopg2.connect(f"{config.database_url.rpartition('/')[0]}/postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.close()


def create_tenant(url: str) -> int:
    conn = db.connect(url)
    with db.transaction(conn) as cur:
        cur.execute("INSERT INTO tenants (slug, name) VALUES ('bench', 'Bench') RETURNING id")
        tenant_id = cur.fetchone()["id"]
    conn.close()
    return tenant_id


def bench_in_process(url: str, templates: list[Template], count: int, session_sql: str = "") -> float:
    """Parse and insert ``count`` CDRs on one connection; return CDR/s."""
    conn = db.connect(url)
    if session_sql:
        with conn.cursor() as cur:
            cur.execute(session_sql)
        conn.commit()
    bodies = [templates[i % len(templates)] for i in range(count)]
    started = time.perf_counter()
    for template in bodies:
        insert_cdr(conn, parse_cdr(template.fresh(), template.content_type))
    elapsed = time.perf_counter() - started
    conn.close()
    return count / elapsed


def bench_batched(url: str, templates: list[Template], count: int, batch: int) -> float:
    """Insert ``count`` CDRs committing every ``batch`` rows, as an app-level group commit would; return CDR/s."""
    conn = db.connect(url)
    started = time.perf_counter()
    with conn.cursor() as cur:
        for i in range(count):
            template = templates[i % len(templates)]
            cur.execute(INSERT_SQL, parse_cdr(template.fresh(), template.content_type))
            if (i + 1) % batch == 0:
                conn.commit()
    conn.commit()
    elapsed = time.perf_counter() - started
    conn.close()
    return count / elapsed


def bench_parse_only(templates: list[Template], count: int) -> float:
    started = time.perf_counter()
    for i in range(count):
        template = templates[i % len(templates)]
        parse_cdr(template.fresh(), template.content_type)
    return count / (time.perf_counter() - started)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(url: str, port: int, workers: int, threads: int) -> subprocess.Popen:
    env = dict(os.environ, DIALER_DATABASE_URL=url, DIALER_REDIS_PREFIX=f"dialer-bench-{os.getpid()}:")
    command = [str(ROOT / ".venv" / "bin" / "gunicorn"), "-k", "gthread", "--threads", str(threads),
               "-w", str(workers), "-b", f"127.0.0.1:{port}", "--log-level", "warning", "web:create_app()"]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200:
                return process
        except requests.RequestException:
            time.sleep(0.2)
    process.terminate()
    process.wait(timeout=30)
    raise RuntimeError("gunicorn did not respond to /health within 30 s: see its output above")


def worker_peak_rss_kb(master_pid: int) -> list[int]:
    """VmHWM (peak resident set) of each gunicorn worker, from /proc."""
    peaks = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() == str(master_pid) and "VmHWM" in fields:
            peaks.append(int(fields["VmHWM"].split()[0]))
    return sorted(peaks)


def bench_http(port: int, templates: list[Template], clients: int, seconds: float) -> tuple[float, int, int]:
    """Post from ``clients`` threads for ``seconds``; return CDR/s, posts and non-200 responses."""
    url = f"http://127.0.0.1:{port}/api/cdr"
    stop_at = time.monotonic() + seconds
    counts = [0] * clients
    errors = [0] * clients

    def client(index: int) -> None:
        session = requests.Session()
        session.auth = CDR_AUTH
        i = index
        while time.monotonic() < stop_at:
            template = templates[i % len(templates)]
            i += 1
            response = session.post(url, data=template.fresh(), headers={"Content-Type": template.content_type},
                                    timeout=10)
            counts[index] += 1
            if response.status_code != 200:
                errors[index] += 1

    threads = [threading.Thread(target=client, args=(index,)) for index in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return sum(counts) / elapsed, sum(counts), sum(errors)


def record(rows: list, label: str, rate: float, rss: str = "") -> None:
    """Append a result row and show it at once on stderr."""
    rows.append((label, rate, rss))
    print(f"done: {label}: {rate:,.0f} CDR/s", file=sys.stderr, flush=True)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = " / ".join(f"{value:.1f}" for value in os.getloadavg())
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, load average at the end {load}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=3000, help="CDRs per in-process run (default 3000)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each HTTP run in s (default 10)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent HTTP clients (default 16)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--threads", type=int, default=32, help="gunicorn threads per worker (default 32)")
    args = parser.parse_args(argv)

    config = Config.from_env()
    name, url = create_database(config)
    rows = []
    command = "python bench/cdr_ingest.py " + " ".join(argv if argv is not None else sys.argv[1:])
    try:
        tenant_id = create_tenant(url)
        raw = load_templates("raw", tenant_id)
        encoded = load_templates("encoded", tenant_id)

        record(rows, "parse only, raw JSON", bench_parse_only(raw, args.count))
        record(rows, "parse only, double-encoded form", bench_parse_only(encoded, args.count))
        record(rows, "(a) in-process, raw JSON, commit per CDR", bench_in_process(url, raw, args.count))
        record(rows, "(a) in-process, double-encoded form, commit per CDR",
               bench_in_process(url, encoded, args.count))
        record(rows, "(a) in-process, raw JSON, synchronous_commit=off (loses the last commits on a crash)",
               bench_in_process(url, raw, args.count, "SET synchronous_commit = off"))
        record(rows, "(a) in-process, raw JSON, 50 CDRs per commit (group commit in the app)",
               bench_batched(url, raw, args.count, 50))

        # commit_delay makes a committing backend wait for others so one WAL
        # flush covers several commits (group commit). Each commit still
        # waits for its flush, so "2xx only after commit" stays true. Setting it
        # per connection needs a superuser, which the private cluster's
        # dialer user is.
        group_commit = url + "?options=" + quote("-c commit_delay=200 -c commit_siblings=2")
        for database_label, database_url in (("", url), (", commit_delay=200us", group_commit)):
            port = free_port()
            server = start_gunicorn(database_url, port, args.workers, args.threads)
            try:
                for label, templates in (("raw JSON", raw), ("double-encoded form", encoded)):
                    rate, posts, failures = bench_http(port, templates, args.clients, args.seconds)
                    peaks = " / ".join(f"{kb / 1024:.0f} MB" for kb in worker_peak_rss_kb(server.pid))
                    record(rows, f"(b) HTTP gunicorn -w {args.workers} --threads {args.threads}, {args.clients} "
                                 f"clients, {label}{database_label}: {posts} posts, {failures} non-200",
                           rate, peaks)
            finally:
                server.send_signal(signal.SIGTERM)
                server.wait(timeout=30)
    finally:
        drop_database(config, name)

    today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\nCommand: `{command.strip()}`  \nMachine: {machine()}  \nDate: {today}\n")
    print("| run | CDR/s | peak RSS per worker |")
    print("| --- | ---: | --- |")
    for label, rate, rss in rows:
        print(f"| {label} | {rate:,.0f} | {rss} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
