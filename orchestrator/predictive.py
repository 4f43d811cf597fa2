"""Predictive pacing: how many dials a campaign places on each tick.

Pure: the campaign loop builds a :class:`PacingState` snapshot, feeds call
durations through the ``observe_*`` methods as calls end, and asks
:meth:`PredictivePacer.dials_to_place`. No I/O, no sockets, no clock reads,
so the benchmark in ``bench/pacing`` drives the same objects in simulated time.

The rules it keeps (FTC Telemarketing Sales Rule, 16 CFR 310.4(b)(4)):

* Abandonment rate = live answers not connected to an agent within 2 s of the
  greeting ending, divided by all live answers, per campaign over each
  rolling 30-day window. Machine answers count in neither. The safe harbor
  ceiling is 3 %; the default target stays below it at 2.5 %.
* An unanswered call rings at least 15 s before the dialer gives up, so the
  ring timeout setting is never below 15 s.

How a predictive tick decides (:meth:`PredictivePacer.decide`):

1. The horizon is the expected time from a dial to the end of a live
   person's greeting, plus the 2 s an answered person may wait for an agent.
2. Supply of agents by the horizon: agents available now plus, for each busy
   agent, P(free within the horizon | time already spent in the current talk
   or wrap-up phase) from log-normal fits of the observed talk and wrap-up
   times. The sum of these Bernoulli variables gives a mean and a variance.
3. Demand by the horizon: live calls waiting, answered calls under machine
   detection, each ringing call weighted by P(live | still ringing at its
   age), and each new dial weighted by the live-answer rate. The rate is the
   upper bound (mean + 1 sd) of a Beta posterior, so few observations make
   the pacer cautious, not bold.
4. New dials: the largest count whose expected excess of live calls over
   free agents, E[(demand - supply)+] under a normal approximation, stays
   within the abandonment target times the expected live calls.
5. Auto-protection (:mod:`orchestrator.protection`) scales the dials above
   the progressive level and falls back to progressive near the 3 % ceiling.

Every abandonment rate in steps 4 and 5 includes the live people the
answering machine detection hung up on as machines
(:meth:`PredictivePacer.with_hidden_abandonments`), because the FTC counts
them as abandoned although the dialer sees machine answers.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Protocol

# The settings live in dialer_common so the web tier validates with the same
# ranges; PacingSettingError is re-exported for the pacer's callers.
from dialer_common.pacing_settings import FTC_ABANDONMENT_CEILING, PacingMode, PacingSettings, RangeUnit
from dialer_common.pacing_settings import PacingSettingError as PacingSettingError
from orchestrator.protection import AutoProtection, ProtectionDecision

# The 2-second rule: a live person must reach an agent within this many
# seconds of the greeting ending.
CONNECT_GRACE_S = 2.0

_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


class AgentPhase(enum.StrEnum):
    """Phase of a busy agent, as the pacer needs it."""

    TALKING = "talking"
    WRAP_UP = "wrap_up"


class BusyAgent(Protocol):
    """A busy agent as the pacer reads it; any object with these attributes fits."""

    phase: AgentPhase
    phase_started_at: float


@dataclass(frozen=True, slots=True)
class AgentActivity:
    """A busy agent: its phase and when that phase started (seconds, the loop's clock)."""

    phase: AgentPhase
    phase_started_at: float


@dataclass(frozen=True, slots=True)
class OutcomeCounts:
    """Ended dials by outcome over a recent window the loop chooses.

    A window of the last 30 minutes or so lets the estimates follow an answer
    rate that drifts over the day.
    """

    live: int = 0
    machine: int = 0
    failed: int = 0  # busy, rejected, invalid number: ended within a few seconds
    no_answer: int = 0

    @property
    def total(self) -> int:
        return self.live + self.machine + self.failed + self.no_answer


@dataclass(frozen=True, slots=True)
class AbandonmentCounts:
    """Abandoned and total live answers over one window, as the dialer observed them."""

    abandoned: int = 0
    live: int = 0
    # Answers classified as machines whose far end hung up during the
    # voicemail message, within a few seconds of the classification. An
    # answering machine records the whole message, so these are taken as
    # live people the machine detection misclassified. Not in ``live``.
    machine_early_hangups: int = 0

    @property
    def rate(self) -> float | None:
        """Abandoned / live answers, or None before the first live answer."""
        return self.abandoned / self.live if self.live else None


@dataclass(frozen=True)
class PacingState:
    """A snapshot of one campaign at one tick, built by the campaign loop.

    Times are seconds on one monotonic clock. Agents in any state other than
    available or busy with a call of this campaign (on break, logging out)
    count in neither ``agents_available`` nor ``busy_agents``.
    """

    now: float
    settings: PacingSettings
    agents_logged_in: int
    agents_available: int
    busy_agents: Sequence[BusyAgent] = ()
    # Start times of dials the switch reports as ringing.
    ringing_started_at: Sequence[float] = ()
    # Originates sent that the switch has not reported as ringing yet.
    dials_in_flight: int = 0
    # Answered calls whose answering machine detection has not decided yet.
    calls_in_amd: int = 0
    # Live people past their greeting, waiting for an agent.
    calls_waiting: int = 0
    outcomes: OutcomeCounts = field(default_factory=OutcomeCounts)
    short_window: AbandonmentCounts = field(default_factory=AbandonmentCounts)
    rolling_30_days: AbandonmentCounts = field(default_factory=AbandonmentCounts)
    # Leads that can still be dialed now; None when the loop does not count them.
    leads_remaining: int | None = None

    @property
    def lines_out(self) -> int:
        """Dials that are neither ended nor connected: in flight, ringing, under AMD."""
        return self.dials_in_flight + len(self.ringing_started_at) + self.calls_in_amd


@dataclass(frozen=True)
class PacingDecision:
    """One tick's decision and the inputs behind it, for storage and supervisors."""

    dials: int
    mode: PacingMode  # the mode actually applied, progressive during a fallback
    dial_level: float
    multiplier: float
    throttled: bool
    reason: str
    live_rate: float  # the cautious live-answer rate used for new dials
    horizon_s: float
    agents_expected_free: float
    live_calls_expected: float
    state: PacingState

    def to_record(self) -> dict[str, object]:
        """Return a JSON-ready summary without the per-agent and per-call lists."""
        state = self.state
        return {
            "at": state.now,
            "dials": self.dials,
            "mode": self.mode.value,
            "dial_level": round(self.dial_level, 4),
            "multiplier": round(self.multiplier, 4),
            "throttled": self.throttled,
            "reason": self.reason,
            "live_rate": round(self.live_rate, 4),
            "horizon_s": round(self.horizon_s, 2),
            "agents_expected_free": round(self.agents_expected_free, 3),
            "live_calls_expected": round(self.live_calls_expected, 3),
            "agents_logged_in": state.agents_logged_in,
            "agents_available": state.agents_available,
            "agents_busy": len(state.busy_agents),
            "lines_out": state.lines_out,
            "calls_waiting": state.calls_waiting,
            "outcomes": asdict(state.outcomes),
            "short_window": asdict(state.short_window),
            "rolling_30_days": asdict(state.rolling_30_days),
            "leads_remaining": state.leads_remaining,
        }


class LogNormalFit:
    """Running log-normal fit of durations, started from a prior worth some samples.

    Keeps an exponentially weighted mean and variance of ln(seconds); the
    weight of a new sample never falls below 1/``memory``, so the fit follows
    slow drift in talk times.
    """

    def __init__(self, mean_s: float, cv: float, prior_weight: float, memory: int = 2000) -> None:
        sigma2 = math.log(1.0 + cv * cv)
        self.mu = math.log(mean_s) - sigma2 / 2.0
        self.var = sigma2
        self.weight = prior_weight
        self.memory = memory
        self.samples = 0

    def add(self, seconds: float) -> None:
        """Add one observed duration; values at or below zero are clamped to 10 ms."""
        x = math.log(max(seconds, 0.01))
        self.samples += 1
        self.weight = min(self.weight + 1.0, float(self.memory))
        alpha = 1.0 / self.weight
        delta = x - self.mu
        self.mu += alpha * delta
        self.var = (1.0 - alpha) * (self.var + alpha * delta * delta)

    @property
    def sigma(self) -> float:
        # A floor keeps near-constant durations (a fixed wrap-up) from
        # turning the CDF into a step that rounding can push either way.
        return max(math.sqrt(self.var), 0.03)

    @property
    def mean(self) -> float:
        return math.exp(self.mu + self.sigma**2 / 2.0)

    def cdf(self, seconds: float) -> float:
        if seconds <= 0.0:
            return 0.0
        return 0.5 * math.erfc(-(math.log(seconds) - self.mu) / (self.sigma * _SQRT2))

    def sf(self, seconds: float) -> float:
        """Survival function: P(duration > seconds)."""
        if seconds <= 0.0:
            return 1.0
        return 0.5 * math.erfc((math.log(seconds) - self.mu) / (self.sigma * _SQRT2))


def _conditional_done(fit: LogNormalFit, elapsed: float, within: float) -> float:
    """P(duration <= elapsed + within | duration > elapsed)."""
    if within <= 0.0:
        return 0.0
    survival = fit.sf(elapsed)
    if survival < 1e-12:
        # Far in the tail the ratio is noise; the agent is overdue, so treat
        # the chance as even rather than certain.
        return 0.5
    return max(0.0, min(1.0, (survival - fit.sf(elapsed + within)) / survival))


def _conditional_done_table(fit: LogNormalFit, count: int, step: float, within: float) -> list[float]:
    """Return ``_conditional_done(fit, i * step, within)`` for i in range(count), computed in one pass."""
    if within <= 0.0:
        return [0.0] * count
    mu = fit.mu
    scale = fit.sigma * _SQRT2
    log = math.log
    erfc = math.erfc
    table = []
    for i in range(count):
        elapsed = i * step
        survival = 0.5 * erfc((log(elapsed) - mu) / scale) if elapsed > 0.0 else 1.0
        if survival < 1e-12:
            table.append(0.5)
            continue
        later = 0.5 * erfc((log(elapsed + within) - mu) / scale)
        table.append(max(0.0, min(1.0, (survival - later) / survival)))
    return table


def expected_excess(mean: float, variance: float) -> float:
    """E[max(X, 0)] for X ~ Normal(mean, variance)."""
    if variance <= 1e-12:
        return max(mean, 0.0)
    sd = math.sqrt(variance)
    z = mean / sd
    pdf = _INV_SQRT_2PI * math.exp(-0.5 * z * z)
    cdf = 0.5 * math.erfc(-z / _SQRT2)
    return sd * pdf + mean * cdf


@dataclass
class _Tables:
    """Per-tick lookups, rebuilt every refresh interval from the current fits."""

    built_at: float
    horizon_s: float
    step_s: float
    talking: list[float]  # P(free within horizon) by elapsed talk time
    wrap_up: list[float]  # P(free within horizon) by elapsed wrap-up time
    ringing: list[float]  # P(live | still ringing) by ring age
    ring_timeout_s: float
    live_rate: float


class PredictivePacer:
    """Predictive pacer of one campaign; keeps learned durations between ticks.

    ``dials_to_place(state)`` is the interface the campaign loop calls;
    ``decide(state)`` returns the full record of the same decision.
    """

    # How often the lookup tables follow the fits, in seconds of the loop's clock.
    refresh_interval_s = 30.0
    # Resolution of the lookup tables, in seconds.
    table_step_s = 0.5
    # Elapsed talk time the lookup table covers; longer calls are computed directly.
    table_talk_max_s = 1800.0
    # Standard deviations added to the live-answer rate for new dials.
    live_rate_caution = 1.0
    # The per-tick excess estimate overstates abandonment: in bench/pacing the
    # realised rate was about 0.65 times the target handed to it, so the model
    # gets twice the target and the rolling-rate budget holds the result.
    model_target_scale = 2.0
    # Change of a fit's log-scale mean or sd that rebuilds the duration tables.
    table_tolerance = 0.005

    def __init__(self, protection: AutoProtection | None = None, amd_false_machine_rate: float = 0.0) -> None:
        rate = amd_false_machine_rate
        is_number = isinstance(rate, int | float) and not isinstance(rate, bool)
        # At 3 % or more the hidden abandonments alone would use the whole FTC allowance.
        if not is_number or not 0.0 <= rate < FTC_ABANDONMENT_CEILING:
            raise PacingSettingError(
                "amd_false_machine_rate",
                rate,
                "a fraction from 0 up to but not including 0.03: the share of live answers "
                "the machine detection classifies as machines, e.g. 0.01",
                low=0.0,
                high=FTC_ABANDONMENT_CEILING,
                unit=RangeUnit.FRACTION,
            )
        self.protection = protection if protection is not None else AutoProtection()
        self.amd_false_machine_rate = amd_false_machine_rate
        # Priors: talk and wrap-up a little longer than common, so a new
        # campaign predicts fewer free agents until it has data.
        self.talk_time = LogNormalFit(mean_s=150.0, cv=1.0, prior_weight=20)
        self.wrap_up_time = LogNormalFit(mean_s=20.0, cv=0.5, prior_weight=5)
        self.answer_delay = LogNormalFit(mean_s=9.0, cv=0.5, prior_weight=10)
        self.failure_delay = LogNormalFit(mean_s=3.0, cv=0.5, prior_weight=5)
        self.greeting_time = LogNormalFit(mean_s=1.5, cv=0.3, prior_weight=5)
        self._tables: _Tables | None = None
        self._duration_cache: tuple[tuple[float, ...], list[float], list[float]] | None = None

    def observe_talk_time(self, seconds: float) -> None:
        """Record an agent's talk time on one call."""
        self.talk_time.add(seconds)

    def observe_wrap_up_time(self, seconds: float) -> None:
        """Record an agent's wrap-up time after one call."""
        self.wrap_up_time.add(seconds)

    def observe_answer_delay(self, seconds: float) -> None:
        """Record the ring time of a dial answered by a person or a machine."""
        self.answer_delay.add(seconds)

    def observe_failure_delay(self, seconds: float) -> None:
        """Record the time from dial to a busy, rejected or failed result."""
        self.failure_delay.add(seconds)

    def observe_greeting_time(self, seconds: float) -> None:
        """Record the time from answer to the end of a live person's greeting."""
        self.greeting_time.add(seconds)

    def dials_to_place(self, state: PacingState) -> int:
        """Return how many new dials to place now."""
        return self.decide(state).dials

    def decide(self, state: PacingState) -> PacingDecision:
        """Decide this tick's dials and return them with the reasons and inputs."""
        settings = state.settings
        live_rate = self._live_rate(state.outcomes)
        progressive = max(0, state.agents_available - state.lines_out - state.calls_waiting)

        if settings.mode == PacingMode.PREVIEW:
            return self._record(state, 0, PacingMode.PREVIEW, 1.0, False, "preview mode", live_rate)
        if state.leads_remaining == 0:
            return self._record(state, 0, settings.mode, 1.0, False, "no leads left to dial", live_rate)
        if state.agents_logged_in <= 0:
            return self._record(state, 0, settings.mode, 1.0, False, "no agents logged in", live_rate)

        short_window = self.with_hidden_abandonments(state.short_window)
        rolling_30_days = self.with_hidden_abandonments(state.rolling_30_days)
        protection = self.protection.update(
            state.now,
            short_window,
            rolling_30_days,
            settings.abandonment_target,
            settings.short_window_s,
        )
        if settings.mode == PacingMode.PROGRESSIVE:
            dials = self._cap(state, progressive, progressive)
            return self._record(
                state, dials, PacingMode.PROGRESSIVE, 1.0, False, "progressive mode", live_rate
            )
        if protection.fallback:
            dials = self._cap(state, progressive, progressive)
            return self._from_protection(state, dials, PacingMode.PROGRESSIVE, protection, live_rate)

        tables = self._refresh(state)
        supply, supply_var = self.expected_free_agents(state, tables)
        demand, demand_var = self._expected_live_calls(state, tables)
        target = _budgeted_target(settings.abandonment_target, rolling_30_days, self.model_target_scale)
        model_dials = _max_dials(
            supply, supply_var, demand, demand_var, live_rate, target, self._headroom(state)
        )

        extra = max(0, model_dials - progressive)
        dials = progressive + int(protection.multiplier * extra)
        if not protection.throttled:
            dials = max(dials, self._min_level_dials(state))
        dials = self._cap(state, dials, progressive)
        return self._from_protection(
            state,
            dials,
            PacingMode.PREDICTIVE,
            protection,
            live_rate,
            tables.horizon_s,
            supply,
            demand,
        )

    def expected_free_agents(self, state: PacingState, tables: _Tables) -> tuple[float, float]:
        """Return the mean and variance of the agents free by the horizon."""
        now = state.now
        step = tables.step_s
        talking = tables.talking
        wrap_up = tables.wrap_up
        talking_count = len(talking)
        wrap_up_count = len(wrap_up)
        talking_phase = AgentPhase.TALKING
        # The sum of p and of p squared give the mean and the Bernoulli variance.
        total = 0.0
        total_squares = 0.0
        for agent in state.busy_agents:
            elapsed = now - agent.phase_started_at
            index = int(elapsed / step) if elapsed > 0.0 else 0
            if agent.phase == talking_phase:
                if index < talking_count:
                    p = talking[index]
                else:
                    p = self._talking_free_probability(elapsed, tables.horizon_s + CONNECT_GRACE_S)
            elif index < wrap_up_count:
                p = wrap_up[index]
            else:
                p = 1.0
            total += p
            total_squares += p * p
        return state.agents_available + total, total - total_squares

    def with_hidden_abandonments(self, window: AbandonmentCounts) -> AbandonmentCounts:
        """Return ``window`` with the live people hung up on as machines added as abandoned.

        The FTC counts a live person whom the dialer hangs up on as abandoned,
        and a person misclassified as a machine is one, but the dialer books
        the call as a machine answer. If a fraction h of all live answers is
        misclassified, the true rate is h + (1 - h) * observed, so with 2 %
        misclassified an observed 2.5 % is a true 4.45 %. Every rate the pacer
        steers by (the model's budget, protection's short window and its 30-day
        fallback) therefore uses these corrected counts.

        The hidden count is the larger of two estimates: the machine answers
        that hung up early (``machine_early_hangups``), and the floor
        ``amd_false_machine_rate`` of the true live answers. The floor is
        for a loop that cannot see early hang-ups, because it drops machine
        calls at once instead of playing a message. Its default is 0, so a
        campaign whose detection never misclassifies keeps its whole budget.
        """
        floor = self.amd_false_machine_rate
        hidden = max(window.machine_early_hangups, math.ceil(window.live * floor / (1.0 - floor)))
        if hidden == 0:
            return window
        return AbandonmentCounts(
            window.abandoned + hidden, window.live + hidden, window.machine_early_hangups
        )

    def _talking_free_probability(self, elapsed: float, within: float) -> float:
        # Free means talk and wrap-up both over; the wrap-up is taken at its mean.
        return _conditional_done(self.talk_time, elapsed, within - self.wrap_up_time.mean)

    def _expected_live_calls(self, state: PacingState, tables: _Tables) -> tuple[float, float]:
        """Return the mean and variance of live calls reaching the queue by the horizon."""
        now = state.now
        step = tables.step_s
        ringing = tables.ringing
        live_rate = tables.live_rate
        outcomes = state.outcomes
        answered_live = (outcomes.live + 1.0) / (outcomes.live + outcomes.machine + 2.0)

        mean = state.calls_waiting + state.dials_in_flight * live_rate + state.calls_in_amd * answered_live
        variance = state.dials_in_flight * live_rate * (1.0 - live_rate)
        variance += state.calls_in_amd * answered_live * (1.0 - answered_live)
        ringing_count = len(ringing)
        total = 0.0
        total_squares = 0.0
        for started_at in state.ringing_started_at:
            index = int((now - started_at) / step)
            if 0 <= index < ringing_count:
                p = ringing[index]
                total += p
                total_squares += p * p
        return mean + total, variance + total - total_squares

    def _live_rate(self, outcomes: OutcomeCounts) -> float:
        """Upper bound (mean + caution sd) of the Beta(1 + live, 1 + others) posterior."""
        a = 1.0 + outcomes.live
        b = 1.0 + outcomes.total - outcomes.live
        mean = a / (a + b)
        sd = math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1.0)))
        return min(1.0, mean + self.live_rate_caution * sd)

    def _refresh(self, state: PacingState) -> _Tables:
        tables = self._tables
        timeout = state.settings.ring_timeout_s
        if (
            tables is None
            or state.now - tables.built_at >= self.refresh_interval_s
            or tables.ring_timeout_s != timeout
        ):
            tables = self._build_tables(state)
            self._tables = tables
        tables.live_rate = self._live_rate(state.outcomes)
        return tables

    def _build_tables(self, state: PacingState) -> _Tables:
        step = self.table_step_s
        horizon = self.answer_delay.mean + self.greeting_time.mean
        within = horizon + CONNECT_GRACE_S
        talking, wrap_up = self._duration_tables(horizon, within)
        timeout = state.settings.ring_timeout_s
        ringing = [
            self._live_probability_at_age(i * step, state.outcomes, timeout)
            for i in range(int(timeout / step) + 1)
        ]
        return _Tables(
            state.now, horizon, step, talking, wrap_up, ringing, timeout, self._live_rate(state.outcomes)
        )

    def _duration_tables(self, horizon: float, within: float) -> tuple[list[float], list[float]]:
        """Return the talking and wrap-up tables, reused while their inputs barely move.

        The fits change by a sample's weight at a time, so after the first
        few hundred calls most refreshes would rebuild thousands of entries
        that differ in the fourth decimal. A rebuild happens when a log-scale
        parameter moves by more than ``table_tolerance`` or the horizon by
        more than 0.1 s.
        """
        talk = self.talk_time
        wrap = self.wrap_up_time
        key = (talk.mu, talk.sigma, wrap.mu, wrap.sigma, horizon)
        cached = self._duration_cache
        if cached is not None:
            old, talking, wrap_up = cached
            tolerance = self.table_tolerance
            if (
                all(abs(a - b) <= tolerance for a, b in zip(key[:4], old[:4], strict=True))
                and abs(horizon - old[4]) <= 0.1
            ):
                return talking, wrap_up
        step = self.table_step_s
        # Free means talk and wrap-up both over; the wrap-up is taken at its mean.
        talking = _conditional_done_table(talk, int(self.table_talk_max_s / step), step, within - wrap.mean)
        wrap_end = wrap.mean * 4.0 + 60.0
        wrap_up = _conditional_done_table(wrap, int(wrap_end / step), step, within)
        self._duration_cache = (key, talking, wrap_up)
        return talking, wrap_up

    def _live_probability_at_age(self, age: float, outcomes: OutcomeCounts, timeout: float) -> float:
        """P(a dial still ringing at ``age`` seconds ends as a live answer)."""
        if age >= timeout:
            return 0.0
        live = self._live_rate(outcomes)
        total = outcomes.total + 4.0
        others = 1.0 - live
        machine = others * (outcomes.machine + 1.0) / (total - outcomes.live - 1.0)
        failed = others * (outcomes.failed + 1.0) / (total - outcomes.live - 1.0)
        no_answer = max(0.0, others - machine - failed)

        answer_survival = self.answer_delay.sf(age)
        weight_live = live * answer_survival
        weight_all = weight_live + machine * answer_survival + failed * self.failure_delay.sf(age) + no_answer
        return weight_live / weight_all if weight_all > 0.0 else 0.0

    def _headroom(self, state: PacingState) -> int:
        """Return the most new dials the line and dial-level limits allow."""
        settings = state.settings
        by_lines = int(settings.max_lines_per_agent * state.agents_logged_in) - state.lines_out
        busy = len(state.busy_agents) + state.calls_waiting
        by_level = int(settings.max_dial_level * state.agents_logged_in) - busy - state.lines_out
        headroom = max(0, min(by_lines, by_level))
        if state.leads_remaining is not None:
            headroom = min(headroom, state.leads_remaining)
        return headroom

    def _min_level_dials(self, state: PacingState) -> int:
        busy = len(state.busy_agents) + state.calls_waiting
        return max(
            0, math.ceil(state.settings.min_dial_level * state.agents_logged_in) - busy - state.lines_out
        )

    def _cap(self, state: PacingState, dials: int, progressive: int) -> int:
        # Progressive dials can never strand a live person, so the line and
        # level limits only trim the predictive part above them.
        headroom = self._headroom(state)
        capped = min(dials, max(headroom, progressive))
        if state.leads_remaining is not None:
            capped = min(capped, state.leads_remaining)
        return max(0, capped)

    def _record(
        self,
        state: PacingState,
        dials: int,
        mode: PacingMode,
        multiplier: float,
        throttled: bool,
        reason: str,
        live_rate: float,
    ) -> PacingDecision:
        return PacingDecision(
            dials=dials,
            mode=mode,
            dial_level=_dial_level(state, dials),
            multiplier=multiplier,
            throttled=throttled,
            reason=reason,
            live_rate=live_rate,
            horizon_s=0.0,
            agents_expected_free=float(state.agents_available),
            live_calls_expected=0.0,
            state=state,
        )

    def _from_protection(
        self,
        state: PacingState,
        dials: int,
        mode: PacingMode,
        protection: ProtectionDecision,
        live_rate: float,
        horizon_s: float = 0.0,
        supply: float | None = None,
        demand: float = 0.0,
    ) -> PacingDecision:
        return PacingDecision(
            dials=dials,
            mode=mode,
            dial_level=_dial_level(state, dials),
            multiplier=protection.multiplier,
            throttled=protection.throttled,
            reason=protection.reason,
            live_rate=live_rate,
            horizon_s=horizon_s,
            agents_expected_free=float(state.agents_available) if supply is None else supply,
            live_calls_expected=demand,
            state=state,
        )


def _dial_level(state: PacingState, dials: int) -> float:
    if state.agents_logged_in <= 0:
        return 0.0
    busy = len(state.busy_agents) + state.calls_waiting
    return (busy + state.lines_out + dials) / state.agents_logged_in


def _budgeted_target(target: float, rolling: AbandonmentCounts, scale: float) -> float:
    """Return the model's abandonment target, shrunk as the rolling 30-day rate climbs.

    Full below 60 % of the campaign target, zero at the target, linear
    between. The rolling rate settles where this line meets
    the rate the model produces, a little under the target.
    """
    full = target * scale
    rate = rolling.rate
    if rate is None:
        return full
    start = 0.6 * target
    stop = target
    if rate <= start:
        return full
    return full * max(0.0, (stop - rate) / (stop - start))


def _max_dials(
    supply: float,
    supply_var: float,
    demand: float,
    demand_var: float,
    live_rate: float,
    target: float,
    headroom: int,
) -> int:
    """Return the most new dials whose expected excess stays within ``target`` of the live calls."""

    def fits(dials: int) -> bool:
        mean_live = demand + dials * live_rate
        variance = supply_var + demand_var + dials * live_rate * (1.0 - live_rate)
        return expected_excess(mean_live - supply, variance) <= target * mean_live

    if headroom <= 0 or not fits(1):
        return 0
    low, high = 1, headroom
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low
