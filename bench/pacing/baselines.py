"""Baseline pacers the product's pacer is compared with, on the same seeds."""

from __future__ import annotations

import math

from orchestrator.predictive import PacingState, PredictivePacer, _Tables
from orchestrator.protection import ProtectionDecision


def _progressive(state: PacingState) -> int:
    return max(0, state.agents_available - state.lines_out - state.calls_waiting)


def _level_dials(state: PacingState, level: float) -> int:
    """Return the dials that bring (busy + waiting + lines out) up to ``level`` per logged-in agent."""
    busy = len(state.busy_agents) + state.calls_waiting
    wanted = math.ceil(level * state.agents_logged_in) - busy - state.lines_out
    return max(wanted, _progressive(state), 0)


class FixedLevelPacer:
    """A constant dial level; the benchmark tunes it per cell after the fact."""

    def __init__(self, level: float) -> None:
        self.level = level

    def dials_to_place(self, state: PacingState) -> int:
        if state.agents_logged_in <= 0:
            return 0
        return _level_dials(state, self.level)


class AdaptiveLevelPacer:
    """Adaptive dial level in the style of the best-known open-source dialer.

    Every 15 s: level *= 1 + intensity * (ready agents - waiting calls) /
    logged-in agents, kept in [1, 3]; halved when more than half of the last
    minute's live calls were abandoned; forced to 1 while the day's
    abandonment rate is over the target.
    """

    def __init__(self, target: float = 0.025, intensity: float = 1.0, period_s: float = 15.0) -> None:
        self.target = target
        self.intensity = intensity
        self.period_s = period_s
        self.level = 1.0
        self._next_adjust = 0.0
        self._minute: list[tuple[float, int, int]] = []
        self._day_base: tuple[int, int] | None = None
        self._last_now = 0.0

    def dials_to_place(self, state: PacingState) -> int:
        if state.agents_logged_in <= 0:
            return 0
        if self._day_base is None or state.now < self._last_now:
            # A new day: the day's rate counts from the rolling counts now.
            self._day_base = (state.rolling_30_days.abandoned, state.rolling_30_days.live)
            self._next_adjust = 0.0
            self.level = 1.0
        self._last_now = state.now
        if state.now >= self._next_adjust:
            self._adjust(state)
            self._next_adjust = state.now + self.period_s
        return _level_dials(state, self.level)

    def _adjust(self, state: PacingState) -> None:
        ready = state.agents_available
        self.level *= 1.0 + self.intensity * (ready - state.calls_waiting) / state.agents_logged_in
        self.level = min(3.0, max(1.0, self.level))

        window = state.short_window
        self._minute.append((state.now, window.abandoned, window.live))
        self._minute = [entry for entry in self._minute if state.now - entry[0] <= 60.0]
        first = self._minute[0]
        dropped = window.abandoned - first[1]
        live = window.live - first[2]
        if live > 0 and dropped > live / 2:
            self.level = max(1.0, self.level / 2.0)
        day_abandoned = state.rolling_30_days.abandoned - self._day_base[0]
        day_live = state.rolling_30_days.live - self._day_base[1]
        if day_live > 0 and day_abandoned / day_live > self.target:
            self.level = 1.0


class _NoProtection:
    def update(self, *args: object, **kwargs: object) -> ProtectionDecision:
        return ProtectionDecision(1.0, False, False, "protection off for a tuned baseline", 0.0)


class OraclePacer(PredictivePacer):
    """The product's decision rule fed the true time each agent becomes free.

    It still cannot know how a dial will end. Protection is off because the
    benchmark tunes its target scale per cell after the fact instead.
    """

    def __init__(self, target_scale: float) -> None:
        super().__init__(protection=_NoProtection())
        self.model_target_scale = target_scale

    def expected_free_agents(self, state: PacingState, tables: _Tables) -> tuple[float, float]:
        deadline = state.now + tables.horizon_s + 2.0
        free = sum(1 for agent in state.busy_agents if agent.free_at <= deadline)
        return float(state.agents_available + free), 0.0
