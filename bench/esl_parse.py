"""Measure ESL event parsing speed on one core with the recorded FreeSWITCH events.

The input is every text/event-plain frame of the originate_* and callcenter_*
recordings, repeated to about ``--events`` events and fed to FrameParser in
64 KiB pieces, as a socket read would deliver them. Two passes:

- parse: frames and events, with the event name and Unique-ID read;
- dispatch: parse_event plus the headers the orchestrator reads for that
  event type (the table DISPATCH_READS mirrors orchestrator/calls.py and
  orchestrator/agents.py);
- worst case: parse_event plus five headers read from every event, most of
  them absent, so each costs a scan of the whole event;
- full: parse_event plus Event.headers (every header decoded).

Run: .venv/bin/python bench/esl_parse.py [--events 200000]
"""

from __future__ import annotations

import argparse
import datetime
import platform
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dialer_common.esl import FrameParser, encode_frame, parse_event  # noqa: E402

RECORDINGS = ROOT / "tests" / "fixtures" / "freeswitch"
WORST_CASE_HEADERS = ("Unique-ID", "Job-UUID", "CC-Action", "variable_dialer_attempt_id", "Hangup-Cause")
# What the orchestrator reads per event name, beyond Event-Name and Unique-ID.
DISPATCH_READS = {
    "CHANNEL_HANGUP_COMPLETE": (
        "variable_dialer_attempt_id", "Event-Date-Timestamp", "Hangup-Cause", "variable_billsec",
        "Caller-Channel-Answered-Time", "variable_dialer_amd_result", "variable_dialer_live",
        "variable_dialer_abandoned", "variable_dialer_agent", "variable_dialer_bridged_ms",
        "variable_sip_term_status", "variable_dialer_safe_harbor_ms",
    ),
    "BACKGROUND_JOB": ("Job-UUID",),
    "CUSTOM": ("CC-Action", "CC-Agent", "CC-Agent-Status", "CC-Agent-State", "CC-Member-Session-UUID"),
}
DEFAULT_READS = ("Event-Date-Timestamp",)
READ_BYTES = 65536


def load_event_stream() -> tuple[bytes, int]:
    """Return the recorded plain event frames concatenated, and their count."""
    frames = []
    for path in sorted(RECORDINGS.glob("*.esl")):
        if not path.name.startswith(("originate_", "callcenter_")):
            continue
        for frame in FrameParser().feed(path.read_bytes()):
            if frame.content_type == "text/event-plain":
                frames.append(encode_frame(list(frame.headers.items()), frame.body))
    return b"".join(frames), len(frames)


def run(stream: bytes, repeats: int, mode: str) -> tuple[int, float]:
    parser = FrameParser()
    view = memoryview(stream)
    count = 0
    started = time.perf_counter()
    for _ in range(repeats):
        for offset in range(0, len(stream), READ_BYTES):
            for frame in parser.feed(view[offset : offset + READ_BYTES]):
                event = parse_event(frame)
                if mode == "parse":
                    event.uuid
                elif mode == "full":
                    event.headers
                elif mode == "worst":
                    for header in WORST_CASE_HEADERS:
                        event.get(header)
                else:
                    event.uuid
                    for header in DISPATCH_READS.get(event.name, DEFAULT_READS):
                        event.get(header)
                count += 1
    return count, time.perf_counter() - started


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000, help="events per pass (approximate)")
    args = parser.parse_args()

    stream, per_stream = load_event_stream()
    repeats = max(1, args.events // per_stream)
    print(f"input: {per_stream} recorded events, {len(stream) / per_stream:.0f} bytes each on average")

    rows = []
    passes = (
        ("parse (frame, event name, Unique-ID)", "parse"),
        ("dispatch (orchestrator reads)", "dispatch"),
        ("worst case (5 headers, mostly absent)", "worst"),
        ("all headers (Event.headers)", "full"),
    )
    for label, mode in passes:
        count, seconds = run(stream, repeats, mode)
        rows.append((label, count, count / seconds))
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    command = "python bench/esl_parse.py " + " ".join(sys.argv[1:])
    machine = f"{platform.machine()}, {cpu_model()}"
    today = datetime.date.today().isoformat()
    print("| command | pass | events | events/s | peak RSS | machine | date |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for label, count, rate in rows:
        print(
            f"| `{command.strip()}` | {label} | {count} | {rate:,.0f} | {peak_rss_mib:.0f} MiB "
            f"| {machine} | {today} |"
        )


if __name__ == "__main__":
    main()
