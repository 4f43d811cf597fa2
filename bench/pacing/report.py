"""Write the pacing benchmark's markdown table and occupancy plot."""

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


def _cell(entry: dict | None) -> str:
    if entry is None:
        return "none under 3 %"
    text = (
        f"{entry['occupancy_talk']:.3f} / {entry['occupancy_talk_wrap']:.3f}; "
        f"ab {entry['abandonment_30d_max']:.2%} (day {entry['abandonment_worst_day']:.2%})"
    )
    if entry.get("parameter") is not None:
        text += f"; p={entry['parameter']:g}"
    return text


def write_markdown(path: Path, meta: dict, table: dict) -> None:
    lines = [
        "# Pacing benchmark",
        "",
        f"- command: `{meta['command']}`",
        f"- seeds: {meta['seeds']}, simulated 8-hour days per run: {meta['days']}",
        f"- machine: {meta['machine']}; date: {meta['date']}; wall time {meta['wall_s']} s; "
        f"peak RSS {meta['peak_rss_mb']} MB",
        f"- tick cost of 100 campaigns (20 each of 5, 10, 25, 50, 100 agents): {meta['tick_100_campaigns_ms']} ms",
        "",
        "Each cell: occupancy talk/logged-in / (talk+wrap-up)/logged-in, mean of seeds; the worst",
        "FTC abandonment over any 30-day window (or the whole run when shorter) of any seed, and",
        "the worst single day. Tuned baselines show their parameter p (dial level for the fixed",
        "level, the model's target scale for the oracle). Ceiling: talk/(talk+wrap-up) = 0.889.",
        "",
        "| cell | " + " | ".join(TITLES[p] for p in PACERS) + " |",
        "|---" * (len(PACERS) + 1) + "|",
    ]
    for cell, pacers in table.items():
        lines.append(f"| {cell} | " + " | ".join(_cell(pacers.get(p)) if p in pacers else "-" for p in PACERS) + " |")

    lines += ["", "| cell | pacer | wait mean s | wait p95 s | dials/connect | given up <15 s | decisions/s |", "|---|---|---|---|---|---|---|"]
    for cell, pacers in table.items():
        for pacer in PACERS:
            entry = pacers.get(pacer)
            if entry is None:
                continue
            lines.append(
                f"| {cell} | {TITLES[pacer]} | {entry['wait_mean_s']:.1f} | {entry['wait_p95_s']:.1f} | "
                f"{entry['dials_per_connect']:.2f} | {entry['given_up_before_15s']} | {entry['decisions_per_s']:.0f} |"
            )
    path.write_text("\n".join(lines) + "\n")


def write_plot(path: Path, table: dict, teams) -> None:
    figure, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for axis, rate in zip(axes, ("20%", "30%")):
        for pacer in PACERS:
            points = [
                (agents, table[f"{agents}@{rate}"][pacer]["occupancy_talk"])
                for agents in teams
                if table.get(f"{agents}@{rate}", {}).get(pacer)
            ]
            if points:
                axis.plot(*zip(*points), marker="o", label=TITLES[pacer])
        axis.axhline(0.889, color="grey", linestyle=":", label="ceiling")
        axis.set_xscale("log")
        axis.set_xticks(list(teams), [str(t) for t in teams])
        axis.set_title(f"live-answer rate {rate}")
        axis.set_xlabel("agents")
    axes[0].set_ylabel("occupancy (talk / logged-in)")
    axes[1].legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
