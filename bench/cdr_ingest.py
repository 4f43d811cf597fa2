"""Benchmark CDR ingest into PostgreSQL, keeping every raw body.

Bodies are the recorded mod_json_cdr posts of tests/fixtures/freeswitch
(4-13 KB, the size of a real post) with a fresh channel uuid each time.

  (a) in-process: parse_cdr + insert_cdr on one connection, one commit per
      CDR; then producer threads through one CdrCommitter, as in a web worker,
      on the current schema and on the cdr schema before sql/0007;
  (b) HTTP: concurrent keep-alive clients, in separate processes that share
      the machine's cores with gunicorn and PostgreSQL, posting to gunicorn
      on 127.0.0.1.

Each run uses its own database (created, migrated, dropped) on the server
of DIALER_DATABASE_URL. Prints markdown rows with the command, the machine
and the date.

  .venv/bin/python bench/cdr_ingest.py [--count N] [--seconds S] [--clients C] [--skip-http]
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import datetime
import http.client
import multiprocessing
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch_db import create_database, drop_database  # noqa: E402
from dialer_common import db  # noqa: E402
from dialer_common.cdr.committer import APPLICATION_NAME, CdrCommitter  # noqa: E402
from dialer_common.cdr.store import insert_cdr, parse_cdr  # noqa: E402
from dialer_common.config import Config  # noqa: E402

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


# The cdr table as it was before sql/0007 and sql/0008: raw as jsonb
# compressed with pglz and stored in the TOAST table, and one more index.
# Used for the comparison row.
SCHEMA_BEFORE_0007 = """
ALTER TABLE cdr ALTER COLUMN raw TYPE jsonb USING raw::jsonb;
ALTER TABLE cdr ALTER COLUMN raw SET STORAGE EXTENDED;
DO $$
DECLARE part regclass;
BEGIN
    ALTER TABLE cdr ALTER COLUMN raw SET COMPRESSION pglz;
    FOR part IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'cdr'::regclass LOOP
        EXECUTE format('ALTER TABLE %s ALTER COLUMN raw SET COMPRESSION pglz', part);
        EXECUTE format('ALTER TABLE %s RESET (toast_tuple_target)', part);
    END LOOP;
END $$;
CREATE INDEX cdr_tenant_time_idx ON cdr (tenant_id, started_at);
"""


def create_tenant(url: str) -> int:
    conn = db.connect(url)
    with db.transaction(conn) as cur:
        cur.execute("INSERT INTO tenants (slug, name) VALUES ('bench', 'Bench') RETURNING id")
        tenant_id = cur.fetchone()["id"]
    conn.close()
    return tenant_id


def bench_in_process(url: str, templates: list[Template], count: int) -> float:
    """Parse and insert ``count`` CDRs on one connection, one commit per CDR; return CDR/s."""
    conn = db.connect(url)
    bodies = [templates[i % len(templates)] for i in range(count)]
    started = time.perf_counter()
    for template in bodies:
        insert_cdr(conn, parse_cdr(template.fresh(), template.content_type))
    elapsed = time.perf_counter() - started
    conn.close()
    return count / elapsed


def bench_committer(url: str, templates: list[Template], count: int,
                    producers: int) -> tuple[float, float, str]:
    """Parse and store ``count`` CDRs from ``producers`` threads through one CdrCommitter, as a web
    worker does; return CDR/s, the mean rows per commit and the CPU cost per CDR."""
    committer = CdrCommitter.for_database(url)
    per_thread = count // producers
    failures = []

    def produce(index: int) -> None:
        for i in range(per_thread):
            template = templates[(index + i * producers) % len(templates)]
            row = parse_cdr(template.fresh(), template.content_type)
            if committer.submit(row).wait(30) != "stored":
                failures.append(row["call_uuid"])

    threads = [threading.Thread(target=produce, args=(index,)) for index in range(producers)]
    committer.submit(parse_cdr(templates[0].fresh(), templates[0].content_type)).wait(30)
    backends = committer_backend_pids(url)
    started = time.perf_counter()
    python_started = time.process_time()
    backend_started = cpu_seconds(backends)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    python_s = time.process_time() - python_started
    backend_s = cpu_seconds(backends) - backend_started
    committer.close()
    if failures:
        raise RuntimeError(f"{len(failures)} CDRs were not stored as new, e.g. {failures[0]}")
    stored = per_thread * producers
    per_commit = committer.rows_committed / max(committer.batches_committed, 1)
    return stored / elapsed, per_commit, cpu_note(python_s, backend_s, stored, "in this process")


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
    # Fresh random JWT secrets, because the web tier refuses to start with the public defaults.
    env = dict(os.environ, DIALER_DATABASE_URL=url, DIALER_REDIS_PREFIX=f"dialer-bench-{os.getpid()}:",
               DIALER_JWT_ACCESS_SECRET=secrets.token_urlsafe(48),
               DIALER_JWT_REFRESH_SECRET=secrets.token_urlsafe(48))
    command = [str(ROOT / ".venv" / "bin" / "gunicorn"), "-k", "gthread", "--threads", str(threads),
               "-w", str(workers), "-b", f"127.0.0.1:{port}", "--log-level", "warning", "--no-control-socket", "web:create_app()"]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200:
                return process
        except requests.RequestException:
            time.sleep(0.2)
    process.terminate()
    process.wait(timeout=30)
    raise RuntimeError("gunicorn exited or did not respond to /health within 30 s: see its output above")


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time of ``pids`` so far, from /proc; a process that is gone counts 0."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def worker_pids(master_pid: int) -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if text[text.rindex(")") + 2:].split()[1] == str(master_pid):
            pids.append(int(stat.parent.name))
    return pids


def committer_backend_pids(url: str) -> list[int]:
    """PostgreSQL backend pids of the CDR committers connected to the database of ``url``."""
    conn = db.connect(url)
    with conn.cursor() as cur:
        cur.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                    " AND application_name = %s", (APPLICATION_NAME,))
        pids = [row["pid"] for row in cur.fetchall()]
    conn.close()
    return pids


def cpu_note(python_s: float, backend_s: float, count: int, python_label: str) -> str:
    return (f"CPU per CDR: {python_s / count * 1e6:,.0f} µs {python_label}, "
            f"{backend_s / count * 1e6:,.0f} µs committer backends")


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


def _client_process(port: int, variant: str, tenant_id: int, threads: int, seconds: float, results) -> None:
    """Post from ``threads`` keep-alive connections for ``seconds``; put (posts, non-200) on results."""
    templates = load_templates(variant, tenant_id)
    authorization = "Basic " + base64.b64encode(":".join(CDR_AUTH).encode()).decode()
    stop_at = time.monotonic() + seconds
    counts = [0] * threads
    errors = [0] * threads

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        i = index
        while time.monotonic() < stop_at:
            template = templates[i % len(templates)]
            i += 1
            headers = {"Content-Type": template.content_type, "Authorization": authorization}
            connection.request("POST", "/api/cdr", body=template.fresh(), headers=headers)
            response = connection.getresponse()
            response.read()
            counts[index] += 1
            if response.status != 200:
                errors[index] += 1
        connection.close()

    workers = [threading.Thread(target=client, args=(index,)) for index in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    results.put((sum(counts), sum(errors)))


def bench_http(port: int, variant: str, tenant_id: int, clients: int, processes: int,
               seconds: float) -> tuple[float, int, int]:
    """Post from ``clients`` connections spread over ``processes`` client processes for ``seconds``;
    return CDR/s, posts and non-200 responses."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    per_process = max(clients // processes, 1)
    children = [context.Process(target=_client_process, args=(port, variant, tenant_id, per_process, seconds,
                                                              results)) for _ in range(processes)]
    started = time.perf_counter()
    for child in children:
        child.start()
    totals = [results.get(timeout=seconds + 120) for _ in children]
    elapsed = time.perf_counter() - started
    for child in children:
        child.join()
    posts = sum(total[0] for total in totals)
    return posts / elapsed, posts, sum(total[1] for total in totals)


def stored_rows(url: str) -> int:
    conn = db.connect(url)
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) AS n FROM cdr")
        count = cur.fetchone()["n"]
    conn.close()
    return count


def record(rows: list, label: str, rate: float, rss: str = "") -> None:
    """Append a result row and show it at once on stderr."""
    rows.append((label, rate, rss))
    print(f"done: {label}: {rate:,.0f} CDR/s", file=sys.stderr, flush=True)


def load_average() -> str:
    return " / ".join(f"{value:.1f}" for value in os.getloadavg())


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def run_in_process(rows: list, url: str, before_url: str, raw: list, encoded: list, args) -> None:
    record(rows, "parse only, raw JSON", bench_parse_only(raw, args.count))
    record(rows, "parse only, double-encoded form", bench_parse_only(encoded, args.count))
    record(rows, "(a) in-process, raw JSON, one commit per CDR (`insert_cdr`)",
           bench_in_process(url, raw, args.count // 5))
    for label, database_url, templates in (("raw JSON", url, raw), ("double-encoded form", url, encoded),
                                           ("raw JSON, cdr schema before 0007 and 0008 (jsonb, pglz, TOAST table, 1 more index)",
                                            before_url, raw)):
        rate, per_commit, cpu = bench_committer(database_url, templates, args.count, args.threads)
        record(rows, f"(a) in-process, committer, {args.threads} threads, {label}: {per_commit:.0f} rows "
                     f"per commit; {cpu}", rate)


def run_http(rows: list, url: str, tenant_id: int, args) -> None:
    port = free_port()
    server = start_gunicorn(url, port, args.workers, args.threads)
    try:
        workers = worker_pids(server.pid)
        # A short warm-up run, so each worker's committer has its backend
        # before the measured runs look the backends up.
        bench_http(port, "raw", tenant_id, 8, 1, 1.0)
        for label, variant in (("raw JSON", "raw"), ("double-encoded form", "encoded")):
            before = stored_rows(url)
            backends = committer_backend_pids(url)
            workers_started, backends_started = cpu_seconds(workers), cpu_seconds(backends)
            rate, posts, failures = bench_http(port, variant, tenant_id, args.clients, args.client_processes,
                                               args.seconds)
            cpu = cpu_note(cpu_seconds(workers) - workers_started, cpu_seconds(backends) - backends_started,
                           max(posts, 1), "gunicorn workers")
            stored = stored_rows(url) - before
            peaks = " / ".join(f"{kb / 1024:.0f} MB" for kb in worker_peak_rss_kb(server.pid))
            record(rows, f"(b) HTTP, gunicorn -w {args.workers} --threads {args.threads}, {args.clients} "
                         f"clients in {args.client_processes} processes, {label}: {posts} posts, "
                         f"{failures} non-200, {stored} rows stored; {cpu}", rate, peaks)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=6000, help="CDRs per in-process run (default 6000)")
    parser.add_argument("--seconds", type=float, default=15.0,
                        help="length of each HTTP run in s (default 15)")
    parser.add_argument("--clients", type=int, default=48, help="concurrent HTTP connections (default 48)")
    parser.add_argument("--client-processes", type=int, default=2,
                        help="processes the HTTP clients are spread over (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--threads", type=int, default=32,
                        help="gunicorn threads per worker, and producer threads in-process (default 32)")
    parser.add_argument("--skip-http", action="store_true", help="run only the in-process rows")
    args = parser.parse_args(argv)

    config = Config.from_env()
    name, url = create_database(config)
    before_name, before_url = create_database(config, "_before")
    rows = []
    command = "python bench/cdr_ingest.py " + " ".join(argv if argv is not None else sys.argv[1:])
    load_at_start = load_average()
    try:
        tenant_id = create_tenant(url)
        with db.transaction(db.connect(before_url)) as cur:
            cur.execute(SCHEMA_BEFORE_0007)
        before_tenant_id = create_tenant(before_url)
        assert before_tenant_id == tenant_id, "both bench databases start with the same tenant id"
        raw = load_templates("raw", tenant_id)
        encoded = load_templates("encoded", tenant_id)

        run_in_process(rows, url, before_url, raw, encoded, args)
        if not args.skip_http:
            run_http(rows, url, tenant_id, args)
    finally:
        drop_database(config, name)
        drop_database(config, before_name)

    today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\nCommand: `{command.strip()}`  \nMachine: {machine()}  \nDate: {today}  \n"
          f"Load average (1 / 5 / 15 min): {load_at_start} at the start, {load_average()} at the end\n")
    print("| run | CDR/s | peak RSS per worker |")
    print("| --- | ---: | --- |")
    for label, rate, rss in rows:
        print(f"| {label} | {rate:,.0f} | {rss} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
