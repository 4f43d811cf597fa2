"""Measure compliance gate decisions per second on one core with every rule pack loaded.

Leads: ``--leads`` distinct numbers, 85 % US (a ZIP code on 70 % of them,
area codes from every US time zone including multi-zone ones) and 15 %
Colombia, Mexico, Chile and Argentina. The campaign selects every shipped
pack. The instant is a Wednesday at 17:00 UTC, when most leads are allowed.

Passes:

- pure, cold: location resolution and calling windows (``locate`` plus
  ``check_hours``) on leads never seen, so every number goes through
  phonenumbers once;
- pure, warm: the same leads again, as the orchestrator rechecks them each
  pacing cycle (phonenumbers lookups are cached per area code and exchange);
- full: ``ComplianceGate.check_batch`` on ``--batch`` leads at a time (the
  orchestrator claims leads in batches) with DNC in PostgreSQL
  (``PgDncLookup.find_many``, one query per batch against 100,000 listed
  numbers), caps in Redis (``RedisFrequencyCaps.reserve_many``, one
  pipelined round trip of Lua calls per batch) and every blocked dial
  stored in ``compliance_blocks``; run twice over the same leads, first
  with cold location caches, then warm (the second round finds more leads
  at their caps, which still costs a Lua call each). It needs
  the private PostgreSQL and Redis of ``scripts/services.sh``, creates a
  scratch database and Redis prefix, and drops both at the end.

The process is pinned to CPU 0; PostgreSQL and Redis run in their own
processes and may use another core.

Run: .venv/bin/python bench/compliance_gate.py [--leads 100000] [--full-leads 20000] [--no-full]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import resource
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dialer_common.compliance.gate import CampaignRules, ComplianceGate, LeadInfo  # noqa: E402
from dialer_common.compliance.location import ZIP3  # noqa: E402
from dialer_common.compliance.packs import PackSet  # noqa: E402

NOW = dt.datetime(2026, 6, 3, 17, 0, tzinfo=dt.UTC)
US_AREA_CODES = (
    "212",
    "305",
    "850",
    "205",
    "405",
    "602",
    "928",
    "808",
    "787",
    "907",
    "213",
    "312",
    "303",
    "605",
    "701",
    "915",
    "270",
    "423",
    "812",
    "906",
    "541",
    "208",
    "410",
    "504",
    "601",
    "401",
    "801",
)
OTHER_PREFIXES = ("+57301", "+57310", "+5255", "+5281", "+5698", "+54911")


def make_leads(count: int, seed: int = 7) -> list[LeadInfo]:
    rng = random.Random(seed)
    prefixes = sorted(ZIP3)
    leads = []
    for lead_id in range(count):
        if rng.random() < 0.85:
            phone = f"+1{rng.choice(US_AREA_CODES)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
            postal = f"{rng.choice(prefixes)}{rng.randint(0, 99):02d}" if rng.random() < 0.7 else None
        else:
            phone = f"{rng.choice(OTHER_PREFIXES)}{rng.randint(1000000, 9999999)}"
            postal = None
        leads.append(LeadInfo(lead_id, phone, postal_code=postal, debt_key=f"debt-{lead_id}"))
    return leads


def run_pure(gate: ComplianceGate, campaign: CampaignRules, leads: list[LeadInfo]) -> tuple[float, int]:
    allowed = 0
    started = time.perf_counter()
    for lead in leads:
        location, packs = gate.locate(lead, campaign)
        if gate.check_hours(location, packs, NOW) is None:
            allowed += 1
    return time.perf_counter() - started, allowed


def run_full(
    packs: PackSet, campaign_packs: tuple[str, ...], leads: list[LeadInfo], batch: int
) -> list[tuple[float, int]]:
    """Run the full gate twice over ``leads``, cold then warm.

    Return (wall seconds, allowed, CPU seconds of this process) per round:
    the wall time includes waiting for PostgreSQL and Redis, which share the
    machine's cores; the CPU time is the gate's own work on its one core.
    """
    import psycopg2
    import redis

    from dialer_common import db
    from dialer_common.compliance.caps import RedisFrequencyCaps
    from dialer_common.compliance.dnc import PgDncLookup
    from dialer_common.compliance.evidence import PgEvidence
    from dialer_common.config import Config

    config = Config.from_env()
    name = f"dialer_bench_{os.getpid()}"
    admin_url = f"{config.database_url.rpartition('/')[0]}/postgres"
    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    url = f"{config.database_url.rpartition('/')[0]}/{name}"
    prefix = f"bench-compliance-{os.getpid()}:"
    client = redis.Redis.from_url(config.redis_url, decode_responses=True)
    try:
        db.apply_migrations(url)
        conn = db.connect(url)
        evidence_conn = db.connect(url)
        tenant_id = _seed(conn, leads)
        gate = ComplianceGate(
            packs, RedisFrequencyCaps(client, prefix), PgDncLookup(conn), evidence=PgEvidence(evidence_conn)
        )
        campaign = CampaignRules(tenant_id, 1, pack_ids=campaign_packs, max_attempts=5)
        timings = []
        for _round in ("cold", "warm"):
            allowed = 0
            started = time.perf_counter()
            cpu_started = time.process_time()
            for offset in range(0, len(leads), batch):
                verdicts = gate.check_batch(leads[offset : offset + batch], campaign, NOW)
                allowed += sum(verdict.allowed for verdict in verdicts)
            timings.append((time.perf_counter() - started, allowed, time.process_time() - cpu_started))
        conn.close()
        evidence_conn.close()
        return timings
    finally:
        for key in client.scan_iter(f"{prefix}*", count=1000):
            client.delete(key)
        client.close()
        with admin.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
            cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


def _seed(conn, leads: list[LeadInfo]) -> int:
    """Create a tenant with 100,000 DNC numbers, 1 in 20 of them among the leads."""
    from psycopg2.extras import execute_values

    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO tenants (slug, name) VALUES (%s, 'bench') RETURNING id",
            (f"b-{uuid.uuid4().hex[:8]}",),
        )
        tenant_id = cur.fetchone()["id"]
        listed = [(tenant_id, lead.phone_e164) for lead in leads[::20]]
        listed += [(tenant_id, f"+1999{n:07d}") for n in range(100_000 - len(listed))]
        execute_values(
            cur,
            "INSERT INTO dnc_numbers (tenant_id, phone_e164) VALUES %s ON CONFLICT DO NOTHING",
            listed,
            page_size=5000,
        )
        cur.execute("ANALYZE dnc_numbers")
    conn.commit()
    return tenant_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000, help="distinct leads in the pure passes")
    parser.add_argument(
        "--full-leads", type=int, default=20_000, help="leads in the full Redis and PostgreSQL pass"
    )
    parser.add_argument("--batch", type=int, default=500, help="leads per check_batch call in the full pass")
    parser.add_argument(
        "--no-full", action="store_true", help="skip the pass that needs PostgreSQL and Redis"
    )
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})

    packs = PackSet.load()
    campaign = CampaignRules(1, 1, pack_ids=tuple(packs.ids()))
    gate = ComplianceGate(packs, caps=None, dnc=None)
    leads = make_leads(args.leads)

    results = []
    for label in ("pure, cold", "pure, warm"):
        elapsed, allowed = run_pure(gate, campaign, leads)
        results.append((label, len(leads), allowed, elapsed))
    if not args.no_full:
        full_leads = make_leads(args.full_leads, seed=11)
        timings = run_full(packs, tuple(packs.ids()), full_leads, args.batch)
        for round_name, (elapsed, allowed, cpu) in zip(("cold", "warm"), timings, strict=True):
            label = f"full, {round_name}: PostgreSQL DNC + Redis caps + evidence, batches of {args.batch}"
            results.append((label, len(full_leads), allowed, elapsed))
            results.append((f"{label}, per CPU second of the gate process", len(full_leads), allowed, cpu))

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    command = "bench/compliance_gate.py " + " ".join(sys.argv[1:])
    print(f"packs loaded: {len(packs)} ({', '.join(packs.ids())})")
    print("| date | machine | command | pass | leads | allowed | leads/s | peak RSS |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for label, count, allowed, elapsed in results:
        print(
            f"| {dt.date.today().isoformat()} | {machine} | `{command.strip()}` | {label} | {count} "
            f"| {allowed} "
            f"| {count / elapsed:,.0f} | {peak_mb:.0f} MB |"
        )


if __name__ == "__main__":
    main()
