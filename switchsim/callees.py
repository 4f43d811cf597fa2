"""Simulated far ends: what a dialled number does, drawn from a seed (no I/O)."""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path

OUTCOMES = ("person", "machine", "busy", "no_answer", "failure", "unreachable")

DEFAULT_MIX = {
    "person": 0.35,
    "machine": 0.20,
    "busy": 0.10,
    "no_answer": 0.25,
    "failure": 0.05,
    "unreachable": 0.05,
}


class ProfileError(ValueError):
    """An invalid callee profile or outcome map."""


@dataclass
class CalleeProfile:
    """Mix of outcomes and timing parameters of the simulated callees (seconds)."""

    mix: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    person_ring_median_s: float = 9.0
    machine_ring_median_s: float = 11.0
    ring_sigma: float = 0.35
    person_greeting_s: float = 1.5
    machine_greeting_s: float = 6.0
    # Share of answered calls that early-media (183) instead of ringing (180).
    early_media_share: float = 0.3
    # Share of answered calls whose AMD result is wrong (person <-> machine).
    misclassification_rate: float = 0.05
    # Mean of the log-normal talk time between callee and agent.
    talk_mean_s: float = 120.0
    # Time a callee stays on the line after answer when the originate runs an
    # application (``&park()``, ``&callcenter(q)``) instead of the dialer context.
    park_hold_s: float = 3.0
    # Number -> outcome name, or -> {"outcome": ..., <CalleePlan field>: value}
    # to pin timings and the AMD result of that number.
    forced: dict[str, str | dict] = field(default_factory=dict)

    @classmethod
    def from_file(cls, path: Path) -> CalleeProfile:
        """Load a profile from JSON: ``{"mix": {...}, "forced": {...}, other fields}``."""
        try:
            data = json.loads(Path(path).read_text("utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise ProfileError(
                f"cannot read callee profile {path}: {error}; pass a JSON object file"
            ) from None
        profile = cls()
        for name, value in data.items():
            if not hasattr(profile, name):
                raise ProfileError(
                    f"unknown callee profile field {name!r} in {path}; known: {sorted(vars(profile))}"
                )
            setattr(profile, name, value)
        profile.validate()
        return profile

    def validate(self) -> None:
        """Raise ProfileError naming the first invalid outcome or weight."""
        for outcome, weight in self.mix.items():
            if outcome not in OUTCOMES or not isinstance(weight, (int, float)) or weight < 0:
                raise ProfileError(
                    f"invalid mix entry {outcome!r}: {weight!r}; outcomes are {OUTCOMES}, weights >= 0"
                )
        if sum(self.mix.values()) <= 0:
            raise ProfileError("callee mix weights sum to 0; give at least one outcome a positive weight")
        for number, forced in self.forced.items():
            _validate_forced(number, forced)


_PLAN_FIELDS = ("ring_s", "early_media", "greeting_s", "amd_result", "talk_s", "hold_s")
AMD_RESULTS = ("person", "machine", "unknown")


def _validate_forced(number: str, forced) -> None:
    outcome = forced.get("outcome") if isinstance(forced, dict) else forced
    if outcome not in OUTCOMES:
        raise ProfileError(
            f"invalid forced outcome {outcome!r} for number {number!r}; expected one of {OUTCOMES}"
        )
    if not isinstance(forced, dict):
        return
    for name, value in forced.items():
        if name == "outcome":
            continue
        if name not in _PLAN_FIELDS:
            known = ", ".join(("outcome", *_PLAN_FIELDS))
            raise ProfileError(f"unknown field {name!r} forced for number {number!r}; known: {known}")
        if name == "amd_result" and value not in AMD_RESULTS:
            raise ProfileError(
                f"invalid amd_result {value!r} forced for number {number!r}; expected one of {AMD_RESULTS}"
            )
        if name == "early_media" and not isinstance(value, bool):
            raise ProfileError(
                f"invalid early_media {value!r} forced for number {number!r}; expected true or false"
            )
        if name.endswith("_s") and (not isinstance(value, (int, float)) or value < 0):
            raise ProfileError(
                f"invalid {name} {value!r} forced for number {number!r}; expected seconds >= 0"
            )


@dataclass
class CalleePlan:
    """Plan of one call attempt to a number; times in simulated seconds."""

    outcome: str
    ring_s: float
    early_media: bool
    greeting_s: float
    amd_result: str
    talk_s: float
    # Time the callee stays up after answer when an application runs instead
    # of the dialer context.
    hold_s: float = 0.0


def _lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return rng.lognormvariate(math.log(median), sigma)


def plan_call(profile: CalleeProfile, seed: int, number: str, attempt: int) -> CalleePlan:
    """Draw the plan of attempt ``attempt`` (1-based) to ``number``; same inputs, same plan."""
    rng = random.Random(f"{seed}:{number}:{attempt}")
    forced = profile.forced.get(number) or profile.forced.get(number.lstrip("+"))
    overrides = dict(forced) if isinstance(forced, dict) else {}
    outcome = overrides.pop("outcome", forced)
    if outcome is None:
        outcomes = list(profile.mix)
        outcome = rng.choices(outcomes, weights=[profile.mix[name] for name in outcomes])[0]
    if outcome == "machine":
        ring_s = _lognormal(rng, profile.machine_ring_median_s, profile.ring_sigma)
        greeting_s = _lognormal(rng, profile.machine_greeting_s, 0.25)
    elif outcome in ("busy", "failure"):
        ring_s, greeting_s = rng.uniform(0.3, 2.5), 0.0
    elif outcome == "unreachable":
        ring_s, greeting_s = 0.02, 0.0
    else:
        ring_s = _lognormal(rng, profile.person_ring_median_s, profile.ring_sigma)
        greeting_s = _lognormal(rng, profile.person_greeting_s, 0.2)
    wrong = rng.random() < profile.misclassification_rate
    detected = {"person": "machine", "machine": "person"}.get(outcome, "") if wrong else outcome
    sigma = 0.5
    talk_s = rng.lognormvariate(math.log(profile.talk_mean_s) - sigma * sigma / 2, sigma)
    plan = CalleePlan(
        outcome=outcome,
        ring_s=ring_s,
        early_media=rng.random() < profile.early_media_share,
        greeting_s=greeting_s,
        amd_result=detected,
        talk_s=talk_s,
        hold_s=greeting_s + profile.park_hold_s,
    )
    for name, value in overrides.items():
        setattr(plan, name, value)
    return plan
