"""Fill recorded event templates with one channel's values (no I/O).

Every timestamp is wall-clock time, because the orchestrator compares event
times with its own clock. Durations (``billsec``, ``answersec``, ``duration``
and their msec/usec forms) are computed from those same timestamps, the way
FreeSWITCH does: ``*sec`` is the difference of whole epoch seconds. So the
speed factor shortens them too: at ``--speed 20`` a simulated 120 s talk
shows as about 6 s in events and CDRs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from switchsim.templates import MARK, fill

# Channel timestamps a leg keeps, in epoch microseconds (0 = not reached).
TIME_FIELDS = ("created", "progress", "progress_media", "answered", "bridged", "hangup")

_CALLER_TIME_HEADERS = {
    "Profile-Created-Time": "created",
    "Channel-Created-Time": "created",
    "Channel-Answered-Time": "answered",
    "Channel-Progress-Time": "progress",
    "Channel-Progress-Media-Time": "progress_media",
    "Channel-Hangup-Time": "hangup",
    "Channel-Bridged-Time": "bridged",
}
_VARIABLE_TIME_STEMS = {
    "start": "created",
    "profile_start": "created",
    "answer": "answered",
    "progress": "progress",
    "progress_media": "progress_media",
    "bridge": "bridged",
    "end": "hangup",
}


@dataclass(eq=False)
class Leg:
    """One simulated channel: its tokens, variables and timestamps."""

    uuid: str
    tokens: dict[str, str]
    variables: list[tuple[str, str]]
    runtime: dict[str, str] = field(default_factory=dict)
    overrides: dict[str, str] = field(default_factory=dict)
    times: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TIME_FIELDS, 0))
    call_state: str = "DOWN"
    hangup_cause: str = ""
    other: Leg | None = None
    ending: bool = False
    # Dialplan application running on the channel, and the call state the
    # channel had when it was answered (``show channels`` reports both).
    application: str = ""
    answer_call_state: str = ""

    def mark(self, name: str, microseconds: int | None = None) -> int:
        value = microseconds if microseconds is not None else now_us()
        self.times[name] = value
        return value

    def set_runtime(self, name: str, value: str) -> None:
        """Set a channel variable after creation (it reaches later events and the CDR)."""
        self.runtime[name] = value


def now_us() -> int:
    return time.time_ns() // 1000


def local_stamp(microseconds: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(microseconds / 1e6))


def gmt_stamp(microseconds: int) -> str:
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(microseconds / 1e6))


def _duration_values(leg: Leg) -> dict[str, str]:
    """Compute the ``variable_*sec``, ``msec`` and ``usec`` durations FreeSWITCH sets at hangup."""
    times = leg.times
    end = times["hangup"] or now_us()
    created = times["created"]

    # (start, end) in epoch microseconds of each span; (0, 0) when never reached.
    bridged, progress, media = times["bridged"], times["progress"], times["progress_media"]
    spans = {
        "duration": (created, end),
        "bill": (times["answered"], end) if times["answered"] else (0, 0),
        "progress": (created, progress) if progress else (0, 0),
        "answer": (created, times["answered"]) if times["answered"] else (0, 0),
        "wait": (created, bridged) if bridged else (0, 0),
        "progress_media": (created, media) if media else (0, 0),
        "flow_bill": (created, end),
    }
    values = {
        "variable_duration": _whole_seconds(*spans["duration"]),
        "variable_mduration": (end - created) // 1000,
        "variable_uduration": end - created,
    }
    for stem in ("bill", "progress", "answer", "wait", "progress_media", "flow_bill"):
        first, last = spans[stem]
        values[f"variable_{stem}sec"] = _whole_seconds(first, last)
        values[f"variable_{stem}msec"] = max(0, last - first) // 1000
        values[f"variable_{stem}usec"] = max(0, last - first)
    return {name: str(value) for name, value in values.items()}


def _whole_seconds(start_us: int, end_us: int) -> int:
    """Return ``end_epoch - start_epoch`` in whole seconds, as FreeSWITCH computes ``*sec``."""
    if not start_us or end_us <= start_us:
        return 0
    return end_us // 1_000_000 - start_us // 1_000_000


def time_header(name: str, leg: Leg | None, other: Leg | None) -> str | None:
    """Return the value of a time header computed from the legs, or None if ``name`` is no time header."""
    source = leg
    if name.startswith("Other-Leg-"):
        source, name = other, name[len("Other-Leg-") :]
    elif name.startswith("Caller-"):
        name = name[len("Caller-") :]
    else:
        source = leg if name.startswith("variable_") else None
    if source is None:
        return None
    field_name = _CALLER_TIME_HEADERS.get(name)
    if field_name:
        return str(source.times[field_name])
    if not name.startswith("variable_"):
        return None
    stem, _, unit = name[len("variable_") :].rpartition("_")
    if stem in _VARIABLE_TIME_STEMS and unit in ("epoch", "uepoch", "stamp"):
        value = source.times[_VARIABLE_TIME_STEMS[stem]]
        if unit == "uepoch":
            return str(value)
        if unit == "epoch":
            return str(value // 1_000_000)
        # FreeSWITCH sets no *_stamp variable for a time the channel never reached.
        return local_stamp(value) if value else ""
    return None


class Renderer:
    """Turns a template key plus legs into an ordered header list."""

    def __init__(self, templates: dict[str, list[list[str]]], node_tokens: dict[str, str]) -> None:
        self.templates = templates
        self.node_tokens = node_tokens
        self.sequence = 0

    def common(self, microseconds: int) -> dict[str, str]:
        self.sequence += 1
        return {
            "Event-Date-Local": local_stamp(microseconds),
            "Event-Date-GMT": gmt_stamp(microseconds),
            "Event-Date-Timestamp": str(microseconds),
            "Event-Sequence": str(self.sequence),
        }

    def restamp(self, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Return ``headers`` with the event date set to now, for an event fired later than rendered."""
        microseconds = now_us()
        dates = {
            "Event-Date-Local": local_stamp(microseconds),
            "Event-Date-GMT": gmt_stamp(microseconds),
            "Event-Date-Timestamp": str(microseconds),
        }
        return [(name, dates.get(name, value)) for name, value in headers]

    def render(
        self,
        key: str,
        leg: Leg | None = None,
        other: Leg | None = None,
        overrides: dict[str, str] | None = None,
    ) -> list[tuple[str, str]]:
        """Render template ``key``; ``overrides`` win over every computed value."""
        template = self.templates[key]
        values = self.common(now_us())
        tokens = dict(self.node_tokens)
        if leg is not None:
            tokens.update(leg.tokens)
            values.update(leg.overrides)
            if any(name == "variable_billsec" for name, _ in template):
                values.update(_duration_values(leg))
        if overrides:
            values.update(overrides)
        headers: list[tuple[str, str]] = []
        for name, value in template:
            if name[0] == MARK:
                if leg is not None:
                    source = leg.variables if name == MARK + "vars" else leg.runtime.items()
                    headers.extend((f"variable_{var}", str(val)) for var, val in source)
                continue
            if name in values:
                headers.append((name, values[name]))
                continue
            computed = time_header(name, leg, other) if leg is not None else None
            if computed == "":
                continue
            if computed is not None:
                headers.append((name, computed))
                continue
            headers.append((name, fill(value, tokens)))
        return headers
