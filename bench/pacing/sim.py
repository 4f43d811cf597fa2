"""Discrete-event simulation of an outbound contact centre, one campaign.

A heap of (time, sequence, event) drives dials, answers, greetings,
machine detection, talk, wrap-up and agent logouts in simulated seconds.
Every second of the shift the pacer under test gets a
:class:`orchestrator.predictive.PacingState` built from the simulated
floor, exactly what the campaign loop builds, and returns how many dials
to place.

Truth versus what the dialer sees: a live person misclassified as a machine
is hung up on. The FTC counts that call as abandoned, so the results count
it too, but the pacer's inputs show it as a machine answer, as a real
dialer's would. The dialer plays a voicemail message to machine answers;
the misclassified person hangs up 1 to 4 s into it, which the pacer sees as
``machine_early_hangups``. Real machines record the whole message.

NOTE: real answering machines that cut a message short (a full mailbox, a
short recording limit) would also count as early hang-ups, which this
simulation does not model; they would make the pacer more cautious.
"""

from __future__ import annotations

import heapq
import math
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from orchestrator.predictive import (
    AbandonmentCounts,
    AgentPhase,
    OutcomeCounts,
    PacingSettings,
    PacingState,
)

DAY_S = 24 * 3600.0

# Event kinds, ordered for readability only; the heap orders by time.
_TICK, _RING_END, _GREETING_END, _AMD_END, _DEADLINE, _TALK_END, _WRAP_END, _LOGOUT, _EARLY_HANGUP = range(9)
_LIVE, _MACHINE, _FAILED, _NO_ANSWER = range(4)


@dataclass(frozen=True)
class Workload:
    """Parameters of the simulated campaign; defaults are the benchmark's workload."""

    agents: int = 25
    live_rate: float = 0.20
    # Live rate at the end of the shift; None keeps it constant. The drift is linear.
    live_rate_end: float | None = None
    machine_rate: float = 0.25
    failed_rate: float = 0.10  # busy, failed or invalid: a SIP error 1-3 s after the dial
    ring_mean_s: float = 9.0  # log-normal ring time of calls answered by a person or a machine
    ring_sd_s: float = 5.0
    greeting_s: float = 1.5
    amd_s: float = 2.5  # machine detected this long after answer
    talk_mean_s: float = 120.0
    talk_cv: float = 1.0
    wrap_up_s: float = 15.0
    shift_s: float = 8 * 3600.0
    # Agents log out one by one, evenly spaced, from the first to the second
    # time (seconds into the shift); None keeps everyone logged in.
    logout_window_s: tuple[float, float] | None = None
    # Fraction of live people the machine detection misclassifies as machines.
    amd_false_machine_rate: float = 0.0
    tick_s: float = 1.0
    # Length of the recent window the outcome counts cover.
    outcome_window_s: float = 1800.0


class Pacer(Protocol):
    def dials_to_place(self, state: PacingState) -> int: ...


@dataclass
class DayResult:
    """Totals of one simulated day."""

    logged_in_s: float = 0.0
    talk_s: float = 0.0
    wrap_s: float = 0.0
    dials: int = 0
    live: int = 0  # true live answers, misclassified ones included
    abandoned: int = 0  # true FTC abandonments, misclassified live people included
    observed_live: int = 0
    observed_abandoned: int = 0
    machine_early_hangups: int = 0
    bridged: int = 0
    given_up_early: int = 0  # unanswered dials ended before 15 s of ringing
    waits: list[float] = field(default_factory=list)
    ticks: int = 0
    pacer_s: float = 0.0


class _Call:
    __slots__ = ("started_at", "outcome", "answered_at", "waiting", "misclassified")

    def __init__(self, started_at: float, outcome: int) -> None:
        self.started_at = started_at
        self.outcome = outcome
        self.answered_at = 0.0
        self.waiting = False
        self.misclassified = False


class SimAgent:
    """One agent; ``phase`` and ``phase_started_at`` are what the pacer reads."""

    __slots__ = ("phase", "phase_started_at", "free_at", "idle_since", "leaving", "logged_in")

    def __init__(self) -> None:
        self.phase = AgentPhase.TALKING
        self.phase_started_at = 0.0
        self.free_at = 0.0  # true end of the current wrap-up, for the clairvoyant baseline
        self.idle_since = 0.0
        self.leaving = False
        self.logged_in = True


class Simulation:
    """Runs days of one campaign against one pacer; the pacer persists across days."""

    def __init__(
        self,
        workload: Workload,
        pacer: Pacer,
        settings: PacingSettings,
        seed: int,
        observer: Callable[[str, float], None] | None = None,
    ) -> None:
        self.w = workload
        self.pacer = pacer
        self.settings = settings
        self.rng = random.Random(seed)
        sigma2 = math.log(1.0 + (workload.ring_sd_s / workload.ring_mean_s) ** 2)
        self._ring_mu = math.log(workload.ring_mean_s) - sigma2 / 2.0
        self._ring_sigma = math.sqrt(sigma2)
        talk_sigma2 = math.log(1.0 + workload.talk_cv**2)
        self._talk_mu = math.log(workload.talk_mean_s) - talk_sigma2 / 2.0
        self._talk_sigma = math.sqrt(talk_sigma2)
        self.observe = observer if observer is not None else _observer_of(pacer)
        self.history: list[DayResult] = []

    def run_days(self, days: int) -> list[DayResult]:
        for _ in range(days):
            self.history.append(self._run_day())
        return self.history

    # -- one day ---------------------------------------------------------

    def _run_day(self) -> DayResult:
        w = self.w
        self.day = DayResult()
        self.now = 0.0
        self.events: list[tuple[float, int, int, object]] = []
        self.sequence = 0
        self.agents = [SimAgent() for _ in range(w.agents)]
        self.idle: list[SimAgent] = list(self.agents)
        self.busy: dict[int, SimAgent] = {}
        self.ringing: dict[int, float] = {}
        self.in_amd = 0
        self.queue: deque[_Call] = deque()
        self.outcome_log: deque[tuple[float, int]] = deque()
        self.outcome_counts = [0, 0, 0, 0]
        self.short_log: deque[tuple[float, bool]] = deque()
        self.short_abandoned = 0
        self.short_early_hangups: deque[float] = deque()
        # Rolling 30-day counts of the previous 29 days; today's are added per tick.
        history = self.history[-29:]
        self.rolling_base = (
            sum(day.observed_abandoned for day in history),
            sum(day.observed_live for day in history),
            sum(day.machine_early_hangups for day in history),
        )
        self.logged_in = w.agents
        self.login_time = 0.0
        self._schedule_logouts()
        self._push(0.0, _TICK, None)

        while self.events:
            at, _, kind, payload = heapq.heappop(self.events)
            self.now = at
            self._dispatch(kind, payload)

        self.day.logged_in_s += self._logged_in_area(w.shift_s)
        return self.day

    def _push(self, at: float, kind: int, payload: object) -> None:
        self.sequence += 1
        heapq.heappush(self.events, (at, self.sequence, kind, payload))

    def _dispatch(self, kind: int, payload: object) -> None:
        if kind == _TICK:
            self._tick()
        elif kind == _RING_END:
            self._ring_end(payload)
        elif kind == _GREETING_END:
            self._greeting_end(payload)
        elif kind == _AMD_END:
            self.in_amd -= 1
        elif kind == _DEADLINE:
            self._deadline(payload)
        elif kind == _TALK_END:
            self._talk_end(payload)
        elif kind == _WRAP_END:
            self._wrap_end(payload)
        elif kind == _LOGOUT:
            self._logout(payload)
        elif kind == _EARLY_HANGUP:
            self.day.machine_early_hangups += 1
            self.short_early_hangups.append(self.now)

    # -- logged-in time --------------------------------------------------

    def _logged_in_area(self, until: float) -> float:
        """Add logged-in agent-seconds up to ``until`` (capped at the shift end)."""
        until = min(until, self.w.shift_s)
        area = max(0.0, until - self.login_time) * self.logged_in
        self.login_time = max(self.login_time, until)
        return area

    def _change_logged_in(self, delta: int) -> None:
        self.day.logged_in_s += self._logged_in_area(self.now)
        self.logged_in += delta

    def _schedule_logouts(self) -> None:
        window = self.w.logout_window_s
        if window is None:
            return
        first, last = window
        count = len(self.agents)
        for index, agent in enumerate(self.agents):
            at = first + (last - first) * index / max(count - 1, 1)
            self._push(at, _LOGOUT, agent)

    def _logout(self, agent: SimAgent) -> None:
        agent.leaving = True
        if agent in self.idle:
            self.idle.remove(agent)
            agent.logged_in = False
            self._change_logged_in(-1)

    # -- pacing ----------------------------------------------------------

    def _tick(self) -> None:
        w = self.w
        if self.now >= w.shift_s:
            return
        self._expire_windows()
        state = self._state()
        started = time.perf_counter()
        dials = self.pacer.dials_to_place(state)
        self.day.pacer_s += time.perf_counter() - started
        self.day.ticks += 1
        for _ in range(dials):
            self._dial()
        self._push(self.now + w.tick_s, _TICK, None)

    def _state(self) -> PacingState:
        counts = self.outcome_counts
        day = self.day
        base_abandoned, base_live, base_hangups = self.rolling_base
        busy = [agent for agent in self.busy.values() if not agent.leaving]
        return PacingState(
            now=self.now,
            settings=self.settings,
            agents_logged_in=len(self.idle) + len(busy),
            agents_available=len(self.idle),
            busy_agents=busy,
            ringing_started_at=list(self.ringing.values()),
            calls_in_amd=self.in_amd,
            calls_waiting=len(self.queue),
            outcomes=OutcomeCounts(counts[_LIVE], counts[_MACHINE], counts[_FAILED], counts[_NO_ANSWER]),
            short_window=AbandonmentCounts(
                self.short_abandoned, len(self.short_log), len(self.short_early_hangups)
            ),
            rolling_30_days=AbandonmentCounts(
                base_abandoned + day.observed_abandoned,
                base_live + day.observed_live,
                base_hangups + day.machine_early_hangups,
            ),
        )

    def _expire_windows(self) -> None:
        horizon = self.now - self.w.outcome_window_s
        log = self.outcome_log
        while log and log[0][0] < horizon:
            self.outcome_counts[log.popleft()[1]] -= 1
        short_horizon = self.now - self.settings.short_window_s
        short = self.short_log
        while short and short[0][0] < short_horizon:
            if short.popleft()[1]:
                self.short_abandoned -= 1
        hangups = self.short_early_hangups
        while hangups and hangups[0] < short_horizon:
            hangups.popleft()

    def _record_outcome(self, outcome: int) -> None:
        self.outcome_log.append((self.now, outcome))
        self.outcome_counts[outcome] += 1

    def _record_live(self, abandoned: bool) -> None:
        self.short_log.append((self.now, abandoned))
        self.day.observed_live += 1
        if abandoned:
            self.short_abandoned += 1
            self.day.observed_abandoned += 1

    # -- calls -----------------------------------------------------------

    def _live_rate_now(self) -> float:
        w = self.w
        if w.live_rate_end is None:
            return w.live_rate
        return w.live_rate + (w.live_rate_end - w.live_rate) * min(self.now / w.shift_s, 1.0)

    def _dial(self) -> None:
        w = self.w
        rng = self.rng
        self.day.dials += 1
        draw = rng.random()
        live = self._live_rate_now()
        if draw < live:
            outcome = _LIVE
        elif draw < live + w.machine_rate:
            outcome = _MACHINE
        elif draw < live + w.machine_rate + w.failed_rate:
            outcome = _FAILED
        else:
            outcome = _NO_ANSWER

        timeout = self.settings.ring_timeout_s
        if outcome == _FAILED:
            ring = rng.uniform(1.0, 3.0)
        elif outcome == _NO_ANSWER:
            ring = timeout
        else:
            ring = rng.lognormvariate(self._ring_mu, self._ring_sigma)
            if ring >= timeout:
                outcome, ring = _NO_ANSWER, timeout
        call = _Call(self.now, outcome)
        self.sequence += 1
        self.ringing[self.sequence] = self.now
        self._push(self.now + ring, _RING_END, (self.sequence, call))

    def _ring_end(self, payload: tuple[int, _Call]) -> None:
        key, call = payload
        del self.ringing[key]
        ring = self.now - call.started_at
        outcome = call.outcome
        if outcome == _NO_ANSWER:
            if ring < 15.0:
                self.day.given_up_early += 1
            self._record_outcome(_NO_ANSWER)
            return
        if outcome == _FAILED:
            self._record_outcome(_FAILED)
            self.observe("failure_delay", ring)
            return

        self.observe("answer_delay", ring)
        call.answered_at = self.now
        self.in_amd += 1
        if outcome == _MACHINE:
            self._push(self.now + self.w.amd_s, _AMD_END, None)
            self._record_outcome(_MACHINE)
            return
        if self.rng.random() < self.w.amd_false_machine_rate:
            call.misclassified = True
        self._push(self.now + self.w.greeting_s, _GREETING_END, call)

    def _greeting_end(self, call: _Call) -> None:
        self.in_amd -= 1
        self.day.live += 1
        if call.misclassified:
            # Hung up on as a machine: abandoned in truth, a machine to the dialer.
            self.day.abandoned += 1
            self._record_outcome(_MACHINE)
            self._push(self.now + self.w.amd_s + self.rng.uniform(1.0, 4.0), _EARLY_HANGUP, None)
            return
        self._record_outcome(_LIVE)
        self.observe("greeting_time", self.now - call.answered_at)
        if self.idle:
            self._bridge(call, self.idle.pop())
            return
        call.waiting = True
        self.queue.append(call)
        self._push(self.now + 2.0, _DEADLINE, call)

    def _deadline(self, call: _Call) -> None:
        if not call.waiting:
            return
        call.waiting = False
        self.queue.remove(call)
        self.day.abandoned += 1
        self._record_live(abandoned=True)

    def _bridge(self, call: _Call, agent: SimAgent) -> None:
        w = self.w
        day = self.day
        day.bridged += 1
        day.waits.append(self.now - agent.idle_since)
        self._record_live(abandoned=False)
        talk = self.rng.lognormvariate(self._talk_mu, self._talk_sigma)
        agent.phase = AgentPhase.TALKING
        agent.phase_started_at = self.now
        agent.free_at = self.now + talk + w.wrap_up_s
        self.busy[id(agent)] = agent
        self._push(self.now + talk, _TALK_END, agent)

    def _talk_end(self, agent: SimAgent) -> None:
        talk = self.now - agent.phase_started_at
        self.day.talk_s += _within_shift(agent.phase_started_at, self.now, self.w.shift_s)
        self.observe("talk_time", talk)
        agent.phase = AgentPhase.WRAP_UP
        agent.phase_started_at = self.now
        self._push(self.now + self.w.wrap_up_s, _WRAP_END, agent)

    def _wrap_end(self, agent: SimAgent) -> None:
        self.day.wrap_s += _within_shift(agent.phase_started_at, self.now, self.w.shift_s)
        self.observe("wrap_up_time", self.now - agent.phase_started_at)
        del self.busy[id(agent)]
        agent.idle_since = self.now
        if agent.leaving:
            agent.logged_in = False
            self._change_logged_in(-1)
            return
        if self.queue:
            call = self.queue.popleft()
            call.waiting = False
            self._bridge(call, agent)
            return
        self.idle.append(agent)


def _within_shift(start: float, end: float, shift_s: float) -> float:
    return max(0.0, min(end, shift_s) - min(start, shift_s))


def _observer_of(pacer: object) -> Callable[[str, float], None]:
    """Return a function that forwards durations to the pacer's observe_* methods, if any."""
    methods = {
        name: getattr(pacer, f"observe_{name}")
        for name in ("talk_time", "wrap_up_time", "answer_delay", "failure_delay", "greeting_time")
        if hasattr(pacer, f"observe_{name}")
    }

    def observe(name: str, seconds: float) -> None:
        method = methods.get(name)
        if method is not None:
            method(seconds)

    return observe
