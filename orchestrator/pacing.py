"""Pacers: how many new dials a campaign places on one tick.

The campaign loop builds a :class:`DialState` for each campaign and switch,
then asks the campaign's :class:`Pacer`. Pacers are pure: they read numbers,
never sockets or the database.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from dialer_common.errors import ValidationError

log = logging.getLogger(__name__)

DIAL_MODES = ("preview", "progressive", "predictive")


@dataclass(frozen=True)
class DialState:
    """Live numbers of one campaign on one switch, read at the start of a tick."""

    campaign_id: int
    # Agents whose status is Available or Available (On Demand) and whose state is Waiting.
    available_agents: int
    # Dials placed that have neither reached an agent nor ended.
    dials_in_flight: int
    # Lines still free on the campaign's trunk (trunk max_channels minus its calls).
    max_lines: int
    now_s: float = 0.0


class Pacer(Protocol):
    """Decides how many new dials to place from the live state of a campaign."""

    def dials_to_place(self, state: DialState) -> int: ...


def progressive_dials(available_agents: int, dials_in_flight: int, max_lines: int) -> int:
    """Return one dial per available agent not yet covered by a dial in flight, capped by the free lines."""
    uncovered = available_agents - dials_in_flight
    return max(0, min(uncovered, max_lines))


class ProgressivePacer:
    """Progressive dialing: never more dials out than available agents."""

    def dials_to_place(self, state: DialState) -> int:
        return progressive_dials(state.available_agents, state.dials_in_flight, state.max_lines)


class PreviewPacer:
    """Preview dialing: agents start every call themselves, so no automatic dials."""

    def dials_to_place(self, state: DialState) -> int:
        return 0


def pacer_for(dial_mode: str) -> Pacer:
    """Return the pacer for a campaign's ``dial_mode``."""
    if dial_mode == "preview":
        return PreviewPacer()
    if dial_mode == "progressive":
        return ProgressivePacer()
    if dial_mode == "predictive":
        # NOTE: the daemon drives every mode through orchestrator.predictive and
        # no longer calls this; a caller that does gets progressive dialing here.
        log.warning("pacer.fallback dial_mode=predictive using=progressive")
        return ProgressivePacer()
    raise ValidationError(
        f"invalid dial_mode {dial_mode!r}: expected one of {', '.join(DIAL_MODES)}"
    )
