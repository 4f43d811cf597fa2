"""Run the pacing benchmark: ``python -m bench.pacing [--quick] [--seeds N] [--days D]``.

Two phases, both on ``--workers`` processes:

1. Tuning: the fixed dial level and the oracle's target scale are tried on
   every grid cell for ``--tune-days`` days. The parameter kept per cell is
   the one with the highest talk occupancy whose worst seed stayed under
   ``TUNE_ABANDONMENT_LIMIT``, a margin under the FTC 3 % because a short run
   underestimates the worst 30-day window.
2. The full run: every pacer, with the tuned parameters, for ``--days`` days
   per seed on every grid cell and stress case.

Progress goes to standard output, one line per finished simulation.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import sys
import time
from datetime import UTC, datetime
from multiprocessing import Pool
from pathlib import Path

from bench.pacing.baselines import AdaptiveLevelPacer, FixedLevelPacer, OraclePacer
from bench.pacing.report import write_markdown, write_plot
from bench.pacing.sim import Simulation, Workload
from orchestrator.predictive import PacingMode, PacingSettings, PacingState, PredictivePacer

RESULTS = Path(__file__).resolve().parent.parent / "results"
TEAMS = (5, 10, 25, 50, 100)
QUICK_TEAMS = (5, 25)
RATES = (0.20, 0.30)
FIXED_LEVELS = (1.0, 1.05, 1.1, 1.15, 1.2, 1.3, 1.45, 1.7)
ORACLE_SCALES = (1.0, 2.0, 4.0, 8.0)
TUNE_ABANDONMENT_LIMIT = 0.027
STRESS_AGENTS = 25
STRESS = {
    "drift 30%->15%": {"live_rate": 0.30, "live_rate_end": 0.15},
    "logout to zero": {"live_rate": 0.20, "logout_window_s": (4 * 3600.0, 6 * 3600.0)},
    "2% AMD false machine": {"live_rate": 0.20, "amd_false_machine_rate": 0.02},
}
UNTUNED = ("predictive", "progressive", "adaptive")
TUNED = {"fixed": FIXED_LEVELS, "oracle": ORACLE_SCALES}
# Relative CPU cost of one simulated day per agent, to start the longest jobs first.
COST = {"predictive": 3.0, "oracle": 3.0, "progressive": 1.0, "fixed": 1.0, "adaptive": 1.0}


def make_pacer(kind: str, parameter: float | None):
    if kind in ("predictive", "progressive"):
        return PredictivePacer()
    if kind == "fixed":
        return FixedLevelPacer(parameter)
    if kind == "adaptive":
        return AdaptiveLevelPacer()
    if kind == "oracle":
        return OraclePacer(parameter)
    raise ValueError(f"unknown pacer kind {kind!r}: expected one of {', '.join(COST)}")


def run_job(job: tuple) -> dict:
    """Run one (cell, pacer, parameter, seed) simulation and return its totals."""
    cell, workload_fields, kind, parameter, seed, days = job
    workload = Workload(**workload_fields)
    mode = PacingMode.PROGRESSIVE if kind == "progressive" else PacingMode.PREDICTIVE
    settings = PacingSettings(mode=mode)
    simulation = Simulation(workload, make_pacer(kind, parameter), settings, seed)
    started = time.process_time()
    history = simulation.run_days(days)
    cpu_s = time.process_time() - started
    summary = summarize(history)
    return {
        "cell": cell,
        "kind": kind,
        "parameter": parameter,
        "seed": seed,
        "days": days,
        "cpu_s": cpu_s,
        **summary,
    }


def summarize(history) -> dict:
    talk = sum(day.talk_s for day in history)
    wrap = sum(day.wrap_s for day in history)
    logged_in = sum(day.logged_in_s for day in history) or 1.0
    windows = [history[start : start + 30] for start in range(max(1, len(history) - 29))]
    window_rates = [_rate(sum(d.abandoned for d in w), sum(d.live for d in w)) for w in windows]
    waits = sorted(wait for day in history for wait in day.waits)
    ticks = sum(day.ticks for day in history)
    pacer_s = sum(day.pacer_s for day in history)
    observed_abandoned = sum(d.observed_abandoned for d in history)
    observed_live = sum(d.observed_live for d in history)
    return {
        "occupancy_talk": talk / logged_in,
        "occupancy_talk_wrap": (talk + wrap) / logged_in,
        "abandonment_30d_max": max(window_rates),
        "abandonment_worst_day": max(_rate(d.abandoned, d.live) for d in history),
        "observed_abandonment": _rate(observed_abandoned, observed_live),
        "wait_mean_s": statistics.fmean(waits) if waits else 0.0,
        "wait_p95_s": waits[int(0.95 * (len(waits) - 1))] if waits else 0.0,
        "dials_per_connect": sum(d.dials for d in history) / max(1, sum(d.bridged for d in history)),
        "given_up_before_15s": sum(d.given_up_early for d in history),
        "decisions_per_s": ticks / pacer_s if pacer_s else 0.0,
    }


def _rate(abandoned: int, live: int) -> float:
    return abandoned / live if live else 0.0


def grid_cells(teams) -> dict[str, dict]:
    cells = {}
    for agents in teams:
        for rate in RATES:
            cells[f"{agents}@{rate:.0%}"] = {"agents": agents, "live_rate": rate}
    return cells


def stress_cells() -> dict[str, dict]:
    return {f"{STRESS_AGENTS} {name}": {"agents": STRESS_AGENTS, **extra} for name, extra in STRESS.items()}


def build_tuning_jobs(cells: dict[str, dict], seeds, days) -> list[tuple]:
    jobs = []
    for cell, fields in cells.items():
        for kind, parameters in TUNED.items():
            for parameter in parameters:
                jobs += [(cell, fields, kind, parameter, seed, days) for seed in seeds]
    return jobs


def build_final_jobs(cells, stress, tuned: dict[tuple[str, str], float | None], seeds, days) -> list[tuple]:
    jobs = []
    for cell, fields in cells.items():
        for seed in seeds:
            jobs += [(cell, fields, kind, None, seed, days) for kind in UNTUNED]
            for kind in TUNED:
                parameter = tuned.get((cell, kind))
                if parameter is not None:
                    jobs.append((cell, fields, kind, parameter, seed, days))
    for cell, fields in stress.items():
        for seed in seeds:
            jobs += [(cell, fields, kind, None, seed, days) for kind in UNTUNED]
    return jobs


def run_jobs(jobs: list[tuple], workers: int, phase: str, checkpoint: Path | None) -> list[dict]:
    """Run ``jobs`` on ``workers`` processes, longest first, printing one line per finished job.

    With a checkpoint file, jobs whose rows it already contains are not run
    again and each new row is appended to it, so an interrupted run resumes.
    """
    done_rows = _read_checkpoint(checkpoint)
    rows = [done_rows[_job_key(job)] for job in jobs if _job_key(job) in done_rows]
    pending = [job for job in jobs if _job_key(job) not in done_rows]
    ordered = sorted(pending, key=lambda job: -job[1]["agents"] * COST[job[2]])
    print(f"{phase} start jobs={len(jobs)} from_checkpoint={len(rows)} to_run={len(ordered)}", flush=True)
    started = time.time()
    with Pool(workers) as pool:
        for done, row in enumerate(pool.imap_unordered(run_job, ordered, chunksize=1), start=1):
            rows.append(row)
            if checkpoint is not None:
                with checkpoint.open("a") as file:
                    file.write(json.dumps(row) + "\n")
            print(
                f"{phase} {done}/{len(ordered)} {time.time() - started:.0f}s cell={row['cell']} "
                f"pacer={row['kind']} parameter={row['parameter']} seed={row['seed']} "
                f"cpu={row['cpu_s']:.1f}s occupancy={row['occupancy_talk']:.3f} "
                f"abandonment={row['abandonment_30d_max']:.2%}",
                flush=True,
            )
    return rows


def _job_key(job: tuple) -> tuple:
    cell, _, kind, parameter, seed, days = job
    return (cell, kind, parameter, seed, days)


def _keys(rows: list[dict]) -> dict[tuple, dict]:
    return {(row["cell"], row["kind"], row["parameter"], row["seed"], row["days"]): row for row in rows}


def _read_checkpoint(checkpoint: Path | None) -> dict[tuple, dict]:
    if checkpoint is None or not checkpoint.exists():
        return {}
    return _keys([json.loads(line) for line in checkpoint.read_text().splitlines()])


def choose_parameters(rows: list[dict]) -> dict[tuple[str, str], float | None]:
    """Return the tuned parameter per (cell, pacer): best mean occupancy under the limit on every seed."""
    groups: dict[tuple[str, str], dict[float, list[dict]]] = {}
    for row in rows:
        groups.setdefault((row["cell"], row["kind"]), {}).setdefault(row["parameter"], []).append(row)
    chosen = {}
    for key, by_parameter in groups.items():
        legal = {
            parameter: statistics.fmean(m["occupancy_talk"] for m in members)
            for parameter, members in by_parameter.items()
            if max(m["abandonment_30d_max"] for m in members) <= TUNE_ABANDONMENT_LIMIT
        }
        chosen[key] = max(legal, key=legal.get) if legal else None
    return chosen


def aggregate(rows: list[dict]) -> dict[str, dict[str, dict]]:
    """Merge the seeds per (cell, pacer): means, except worst-case abandonment and summed give-ups."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["cell"], row["kind"]), []).append(row)
    table: dict[str, dict[str, dict]] = {}
    for (cell, kind), members in groups.items():
        first = members[0]
        merged = {
            key: statistics.fmean(m[key] for m in members) for key in first if isinstance(first[key], float)
        }
        merged["abandonment_30d_max"] = max(m["abandonment_30d_max"] for m in members)
        merged["abandonment_worst_day"] = max(m["abandonment_worst_day"] for m in members)
        merged["given_up_before_15s"] = sum(m["given_up_before_15s"] for m in members)
        merged["parameter"] = first["parameter"]
        merged["seeds"] = len(members)
        table.setdefault(cell, {})[kind] = merged
    return table


def measure_tick_cost(repeats: int = 200) -> float:
    """Return the CPU time of one tick of 100 campaigns (20 of each team size), in ms.

    CPU time rather than wall time, because the benchmark shares the machine
    with other work and waiting for a core is not the pacer's cost.
    """
    states: list[PacingState] = []
    for agents in TEAMS:
        captured: list[PacingState] = []
        simulation = Simulation(
            Workload(agents=agents, shift_s=600.0), _Recorder(captured), PacingSettings(), seed=1
        )
        simulation.run_days(1)
        states += [captured[-1]] * 20
    pacers = [PredictivePacer() for _ in states]
    for pacer, state in zip(pacers, states, strict=True):
        pacer.decide(state)
    started = time.process_time()
    for _ in range(repeats):
        for pacer, state in zip(pacers, states, strict=True):
            pacer.decide(state)
    return (time.process_time() - started) / repeats * 1000.0


class _Recorder(PredictivePacer):
    """The product pacer that also keeps every state it was given."""

    def __init__(self, captured: list[PacingState]) -> None:
        super().__init__()
        self.captured = captured

    def dials_to_place(self, state: PacingState) -> int:
        self.captured.append(state)
        return super().dials_to_place(state)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="1 simulated day, tuned on 1 day, teams of 5 and 25, for CI"
    )
    parser.add_argument("--seeds", type=int, default=3, help="seeds per cell (default 3)")
    parser.add_argument("--days", type=int, default=30, help="simulated 8-hour shifts per run (default 30)")
    parser.add_argument(
        "--tune-days", type=int, default=3, help="simulated shifts per tuning run (default 3)"
    )
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument(
        "--checkpoint",
        type=Path,
        help="JSON-lines file of finished simulations: rows found there are reused, new ones appended",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="run nothing: write the results from the rows in --checkpoint, listing the missing ones",
    )
    args = parser.parse_args(argv)
    if args.report_only and args.checkpoint is None:
        parser.error("--report-only needs --checkpoint FILE with the rows of an earlier run")
    for name in ("seeds", "days", "tune_days", "workers"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")

    teams = QUICK_TEAMS if args.quick else TEAMS
    days = 1 if args.quick else args.days
    tune_days = 1 if args.quick else min(args.tune_days, days)
    seeds = list(range(1, args.seeds + 1))
    cells = grid_cells(teams)
    stress = stress_cells()

    done = _read_checkpoint(args.checkpoint)
    started = time.time()
    tuning_jobs = build_tuning_jobs(cells, seeds, tune_days)
    if args.report_only:
        tuning_rows = [done[_job_key(job)] for job in tuning_jobs if _job_key(job) in done]
    else:
        tuning_rows = run_jobs(tuning_jobs, args.workers, "tune", args.checkpoint)
    tuned = choose_parameters(tuning_rows)
    tuning_s = time.time() - started
    final_jobs = build_final_jobs(cells, stress, tuned, seeds, days)
    if args.report_only:
        rows = [done[_job_key(job)] for job in final_jobs if _job_key(job) in done]
    else:
        rows = run_jobs(final_jobs, args.workers, "run", args.checkpoint)
    elapsed = time.time() - started
    finished = {**done, **_keys(tuning_rows), **_keys(rows)}
    missing = [list(_job_key(job)) for job in tuning_jobs + final_jobs if _job_key(job) not in finished]
    merged = aggregate(rows)
    table = {cell: merged[cell] for cell in [*cells, *stress] if cell in merged}
    tick_ms = measure_tick_cost()

    command = "nice -n 10 python -m bench.pacing " + " ".join(argv if argv is not None else sys.argv[1:])
    meta = {
        "command": command.strip(),
        "seeds": seeds,
        "days": days,
        "tune_days": tune_days,
        "tune_abandonment_limit": TUNE_ABANDONMENT_LIMIT,
        "workers": args.workers,
        "machine": f"{platform.machine()}, {_cpu_model()}",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        # Wall times cover only this process, so they are None for a report built from a checkpoint.
        "wall_s": None if args.report_only else round(elapsed, 1),
        "rows_from_checkpoint": len(done),
        "tuning_wall_s": None if args.report_only else round(tuning_s, 1),
        "missing_runs": missing,
        "cpu_s": round(sum(row["cpu_s"] for row in tuning_rows + rows), 1),
        "peak_rss_mb": None if args.report_only else round(_peak_rss_mb(), 1),
        "tick_100_campaigns_ms": round(tick_ms, 2),
    }
    tuned_json = [{"cell": cell, "pacer": kind, "parameter": value} for (cell, kind), value in tuned.items()]
    RESULTS.mkdir(exist_ok=True)
    document = {"meta": meta, "tuned": tuned_json, "cells": table, "runs": rows, "tuning_runs": tuning_rows}
    (RESULTS / "pacing.json").write_text(json.dumps(document, indent=1))
    write_markdown(RESULTS / "pacing.md", meta, table)
    write_plot(RESULTS / "pacing_occupancy.png", table, teams)
    print((RESULTS / "pacing.md").read_text())


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def _peak_rss_mb() -> float:
    """Return the larger of this process's and its largest worker's peak RSS, in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024.0


if __name__ == "__main__":
    main()
