"""Write the pacing benchmark's markdown tables and occupancy plot."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PACERS = ("progressive", "fixed", "adaptive", "predictive", "oracle")
TITLES = {
    "progressive": "1:1",
    "fixed": "best fixed level",
    "adaptive": "adaptive",
    "predictive": "product",
    "oracle": "oracle",
}
FTC_CEILING = 0.03
# Goals on the product's talk occupancy: within this many points of the
# oracle, by team size.
ORACLE_GAP_LARGE_TEAMS = 0.01  # teams of 25 agents or more
ORACLE_GAP_SMALL_TEAMS = 0.03  # teams of 10 agents or fewer
# Talk / (talk + wrap-up) with the workload's 120 s mean talk and 15 s wrap-up.
OCCUPANCY_CEILING = 120.0 / 135.0


def write_markdown(path: Path, meta: dict, table: dict) -> None:
    lines = [
        "# Pacing benchmark",
        "",
        f"- command: `{meta['command']}`",
        f"- seeds: {meta['seeds']}; simulated 8-hour days per run: {meta['days']}; "
        f"tuning runs: {meta['tune_days']} days, kept under {meta['tune_abandonment_limit']:.1%} "
        "abandonment on every seed",
        f"- machine: {meta['machine']}, {meta['workers']} worker processes; date: {meta['date']}",
        f"- wall time {_seconds(meta['wall_s'])} (tuning {_seconds(meta['tuning_wall_s'])}), "
        f"CPU {meta['cpu_s']} s summed over simulations; peak RSS {_megabytes(meta['peak_rss_mb'])}; "
        f"simulations reused from a checkpoint: {meta['rows_from_checkpoint']} "
        "(their CPU time is counted, their wall time is not)",
        f"- CPU time of one tick of 100 campaigns (20 each of 5, 10, 25, 50, 100 agents): "
        f"{meta['tick_100_campaigns_ms']} ms",
        *[f"- {note}" for note in meta.get("notes", [])],
        *_missing_lines(meta.get("missing_runs", [])),
        "",
        "Cells are `agents@live-answer rate`; the stress cases run 25 agents. Occupancy is talk /",
        "logged-in time and (talk + wrap-up) / logged-in time, mean of seeds; the ceiling of the",
        f"first is talk / (talk + wrap-up) = {OCCUPANCY_CEILING:.3f}. Abandonment is the true FTC rate",
        "(misclassified live people included), worst 30-day window and worst single day of any",
        "seed. Wait is an agent's idle time before each call. Given up < 15 s counts unanswered",
        "dials ended before 15 s of ringing, summed over seeds. p is the tuned parameter: the",
        "dial level for the fixed level, the model's target scale for the oracle.",
        "",
        "| cell | pacer | occupancy talk | talk+wrap | abandonment 30 d | worst day | wait mean s "
        "| wait p95 s | dials/live connect | given up < 15 s | p |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for cell, pacers in table.items():
        for pacer in PACERS:
            entry = pacers.get(pacer)
            if entry is None:
                continue
            parameter = "" if entry.get("parameter") is None else f"{entry['parameter']:g}"
            lines.append(
                f"| {cell} | {TITLES[pacer]} | {entry['occupancy_talk']:.3f} | "
                f"{entry['occupancy_talk_wrap']:.3f} | {entry['abandonment_30d_max']:.2%} | "
                f"{entry['abandonment_worst_day']:.2%} | {entry['wait_mean_s']:.1f} | "
                f"{entry['wait_p95_s']:.1f} | {entry['dials_per_connect']:.2f} | "
                f"{entry['given_up_before_15s']} | {parameter} |"
            )
    lines += ["", *goal_lines(table)]
    path.write_text("\n".join(lines) + "\n")


def _seconds(value: float | None) -> str:
    return "not measured (built from a checkpoint)" if value is None else f"{value} s"


def _megabytes(value: float | None) -> str:
    return "not measured" if value is None else f"{value} MB"


def _missing_lines(missing: list) -> list[str]:
    if not missing:
        return []
    shown = ", ".join(
        f"{cell} {kind} p={parameter} seed {seed}" for cell, kind, parameter, seed, _ in missing[:20]
    )
    more = f" and {len(missing) - 20} more" if len(missing) > 20 else ""
    return [f"- INCOMPLETE: {len(missing)} simulations missing: {shown}{more}"]


def goal_lines(table: dict) -> list[str]:
    """Return a markdown table checking the product pacer against each goal, per cell."""
    lines = [
        "## Goals",
        "",
        "Product minus oracle and minus adaptive are differences of talk occupancy in points.",
        "",
        "| cell | product abandonment <= 3 % | product - oracle | within goal | product - adaptive "
        "| adaptive abandonment | ahead of adaptive |",
        "|---|---|---|---|---|---|---|",
    ]
    for cell, pacers in table.items():
        product = pacers.get("predictive")
        if product is None:
            continue
        legal = product["abandonment_30d_max"] <= FTC_CEILING
        oracle = pacers.get("oracle")
        oracle_gap = within = "-"
        if oracle is not None:
            gap = product["occupancy_talk"] - oracle["occupancy_talk"]
            agents = int(cell.split("@")[0].split()[0])
            allowed = ORACLE_GAP_LARGE_TEAMS if agents >= 25 else ORACLE_GAP_SMALL_TEAMS
            oracle_gap = f"{gap * 100:+.1f}"
            within = "yes" if gap >= -allowed else f"no (allowed -{allowed * 100:.0f})"
        adaptive = pacers["adaptive"]
        lead = product["occupancy_talk"] - adaptive["occupancy_talk"]
        ahead = "yes" if lead > 0 and legal else "no"
        lines.append(
            f"| {cell} | {'yes' if legal else 'no'} ({product['abandonment_30d_max']:.2%}) | {oracle_gap} | "
            f"{within} | {lead * 100:+.1f} | {adaptive['abandonment_30d_max']:.2%} | {ahead} |"
        )
    return lines


def write_plot(path: Path, table: dict, teams) -> None:
    figure, axes = plt.subplots(1, 2, figsize=(10, 4.5), sharey=True)
    for axis, rate in zip(axes, ("20%", "30%"), strict=True):
        for pacer in PACERS:
            points = [
                (agents, table[f"{agents}@{rate}"][pacer]["occupancy_talk"])
                for agents in teams
                if table.get(f"{agents}@{rate}", {}).get(pacer)
            ]
            if points:
                xs = [agents for agents, _ in points]
                ys = [occupancy for _, occupancy in points]
                axis.plot(xs, ys, marker="o", label=TITLES[pacer])
        axis.axhline(OCCUPANCY_CEILING, color="grey", linestyle=":", label="ceiling")
        axis.set_xscale("log")
        axis.set_xticks(list(teams), [str(t) for t in teams])
        axis.set_title(f"live-answer rate {rate}")
        axis.set_xlabel("agents")
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("occupancy (talk / logged-in)")
    # One legend under both panels, so it covers no line.
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=len(labels))
    figure.tight_layout(rect=(0.0, 0.08, 1.0, 1.0))
    figure.savefig(path, dpi=100)
    plt.close(figure)
