"""Auto-protection: keeps a predictive campaign's abandonment legal.

Pure: fed with abandonment counts and the loop's clock. Two guards:

* A multiplier in [0, 1] on the dials the predictive pacer places above the
  progressive level. While the 15-minute rate is over the target by more
  than one standard deviation, each new abandoned call cuts it by 15 %; once
  the rate is under 80 % of the target it climbs back slowly, from 0 to 1 in
  10 minutes. A multiplier on the whole dial level would be pointless below
  1.0, because progressive dialing keeps a free agent for every line and so
  cannot abandon a call.
* A fallback to progressive dialing when the rolling 30-day rate reaches
  2.7 %, 90 % of the FTC 3 % ceiling, over at least 100 live answers. It
  ends once the rate is back under the campaign's target.

Abandonment rate = abandoned live answers / live answers; machine answers
count in neither (FTC Telemarketing Sales Rule, 16 CFR 310.4(b)(4)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

FTC_ABANDONMENT_CEILING = 0.03
# Rolling 30-day rate at which the campaign falls back to progressive.
FALLBACK_RATE = 0.9 * FTC_ABANDONMENT_CEILING


class AbandonmentWindow(Protocol):
    """Counts over one window; orchestrator.predictive.AbandonmentCounts fits."""

    abandoned: int
    live: int


@dataclass(frozen=True)
class ProtectionDecision:
    """The protection state after one update."""

    multiplier: float
    fallback: bool  # True while the campaign dials progressively
    throttled: bool
    reason: str
    short_window_rate: float  # smoothed estimate: (abandoned + 0.5) / (live + 1)


class AutoProtection:
    """Multiplier and fallback state of one campaign."""

    # Factor applied to the multiplier for each new abandoned call while the
    # short-window rate is clearly over the target: five calls cut it to 0.44.
    cut_per_abandoned_call = 0.85
    # Multiplier gained per second while the short-window rate is under
    # raise_below times the target: from 0 to 1 in 10 minutes.
    raise_per_s = 1.0 / 600.0
    raise_below = 0.8
    # The rolling 30-day fallback waits for this many live answers, because
    # one abandoned call among the first few would read as several percent.
    # Before that the pacer's own 30-day budget already slows it down.
    fallback_min_live = 100
    # Longest clock step one update applies, so a stalled loop does not
    # swing the multiplier across its whole range at once.
    max_step_s = 10.0

    def __init__(self) -> None:
        self.multiplier = 1.0
        self.fallback = False
        self._last_update: float | None = None
        self._last_abandoned: int | None = None

    def update(
        self,
        now: float,
        short_window: AbandonmentWindow,
        rolling_30_days: AbandonmentWindow,
        target: float,
        short_window_s: float = 900.0,
    ) -> ProtectionDecision:
        """Advance the multiplier to ``now`` and return the new state with its reason."""
        elapsed = (
            0.0 if self._last_update is None else min(max(now - self._last_update, 0.0), self.max_step_s)
        )
        self._last_update = now
        # Abandoned calls leaving the window lower the count, so only a rise
        # counts as new ones. The first update only sets the baseline.
        previous = short_window.abandoned if self._last_abandoned is None else self._last_abandoned
        new_abandoned = max(0, short_window.abandoned - previous)
        self._last_abandoned = short_window.abandoned

        # A Jeffreys-style estimate and one standard deviation under it: the
        # multiplier only falls when the rate is over the target beyond noise.
        short_rate = (short_window.abandoned + 0.5) / (short_window.live + 1.0)
        short_low = short_rate - math.sqrt(short_rate * (1.0 - short_rate) / (short_window.live + 1.0))
        minutes = short_window_s / 60.0
        reason = self._update_multiplier(elapsed, new_abandoned, short_rate, short_low, target, minutes)
        fallback_reason = self._update_fallback(rolling_30_days, target)
        if fallback_reason:
            reason = fallback_reason

        throttled = self.fallback or self.multiplier < 1.0
        return ProtectionDecision(self.multiplier, self.fallback, throttled, reason, short_rate)

    def _update_multiplier(
        self,
        elapsed: float,
        new_abandoned: int,
        short_rate: float,
        short_low: float,
        target: float,
        minutes: float,
    ) -> str:
        window = f"{minutes:g}-minute abandonment {short_rate:.2%}"
        if short_low >= target:
            self.multiplier *= self.cut_per_abandoned_call**new_abandoned
            if new_abandoned:
                return f"{window} is over the {target:.2%} target; lowered the multiplier to {self.multiplier:.2f}"
            return (
                f"{window} is over the {target:.2%} target; holding the multiplier at {self.multiplier:.2f}"
            )
        if short_rate < self.raise_below * target and self.multiplier < 1.0:
            self.multiplier = min(1.0, self.multiplier + elapsed * self.raise_per_s)
            return (
                f"{window} is under the {target:.2%} target; raising the multiplier to {self.multiplier:.2f}"
            )
        if self.multiplier < 1.0:
            return (
                f"{window} is near the {target:.2%} target; holding the multiplier at {self.multiplier:.2f}"
            )
        return f"{window} is within the {target:.2%} target"

    def _update_fallback(self, rolling: AbandonmentWindow, target: float) -> str:
        if rolling.live < self.fallback_min_live:
            self.fallback = False
            return ""
        rate = rolling.abandoned / rolling.live
        if rate >= FALLBACK_RATE:
            self.fallback = True
        elif rate < target:
            self.fallback = False
        if not self.fallback:
            return ""
        return (
            f"30-day abandonment {rate:.2%} is near the 3% FTC limit; dialing progressive "
            f"until it falls under the {target:.2%} target"
        )
