"""Read the FreeSWITCH 1.10.12 recordings in tests/fixtures/freeswitch/."""

from __future__ import annotations

from pathlib import Path

from dialer_common.esl import Event, Frame, FrameParser, parse_event

RECORDINGS = Path(__file__).resolve().parent.parent / "fixtures" / "freeswitch"
ESL_FILES = sorted(path.name for path in RECORDINGS.glob("*.esl"))


def recording_bytes(name: str) -> bytes:
    """Return every byte the switch sent in recording ``name``."""
    return (RECORDINGS / name).read_bytes()


def client_commands(name: str) -> list[bytes]:
    """Return the commands the recording client sent, each with its blank line."""
    text = (RECORDINGS / name.replace(".esl", ".client.txt")).read_bytes()
    return [command + b"\n\n" for command in text.split(b"\n\n") if command]


def recorded_frames(name: str) -> list[Frame]:
    """Parse recording ``name`` in one piece."""
    return FrameParser().feed(recording_bytes(name))


def recorded_events(name: str) -> list[Event]:
    """Return the events of recording ``name`` in stream order."""
    return [
        parse_event(frame)
        for frame in recorded_frames(name)
        if frame.content_type.startswith("text/event-")
    ]
