"""Read the recorded FreeSWITCH traffic in tests/fixtures/freeswitch."""

from __future__ import annotations

from pathlib import Path

from dialer_common.esl import FrameParser, parse_event

RECORDINGS = Path(__file__).resolve().parent.parent / "fixtures" / "freeswitch"


def recorded_events(name: str) -> list:
    """Return the events of ``<name>.esl`` in stream order."""
    frames = FrameParser().feed((RECORDINGS / f"{name}.esl").read_bytes())
    return [
        parse_event(frame)
        for frame in frames
        if frame.content_type in ("text/event-plain", "text/event-json")
    ]


def recorded_originate(name: str) -> tuple[str, str]:
    """Return the ``originate ...`` line and the Job-UUID the client sent in ``<name>.client.txt``."""
    lines = (RECORDINGS / f"{name}.client.txt").read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(lines):
        if line.startswith("bgapi originate "):
            job_uuid = lines[index + 1].removeprefix("Job-UUID: ")
            return line.removeprefix("bgapi "), job_uuid
    raise LookupError(f"no bgapi originate line in {name}.client.txt")
