"""Build the predictive pacer's inputs from the orchestrator's live state.

Pure: the daemon passes the agents, the attempts in flight and the clock;
nothing here reads a socket or the database. The pieces:

- :func:`settings_from_campaign` turns a campaign row into PacingSettings;
- :class:`CampaignStats` keeps the recent outcomes and abandonment counts;
- :func:`build_pacing_state` takes one snapshot for one tick;
- :class:`PacingLogGate` decides which decisions go to ``pacing_log``;
- :func:`split_dials` spreads a campaign's dials over its switches.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from orchestrator.agents import AVAILABLE_STATUSES, AgentInfo
from orchestrator.calls import Attempt
from orchestrator.predictive import (
    AbandonmentCounts,
    AgentActivity,
    AgentPhase,
    OutcomeCounts,
    PacingDecision,
    PacingMode,
    PacingSettings,
    PacingState,
)

# Ended dials older than this leave the outcome counts, so the live-answer
# rate follows a rate that drifts over the day, in seconds.
OUTCOME_WINDOW_S = 1800.0

# mod_callcenter agent states of an agent busy with a call of its queue.
# Receiving (the agent leg is being offered) counts as the start of talking.
TALKING_STATES = frozenset({"In a queue call", "Receiving"})
WRAP_UP_STATES = frozenset({"Idle"})

# Attempt outcomes grouped as OutcomeCounts counts them.
_OUTCOME_KINDS = {
    "live_bridged": "live",
    "abandoned": "live",
    "machine": "machine",
    "busy": "failed",
    "failed": "failed",
    "rejected": "failed",
    "no_answer": "no_answer",
}


def outcome_kind(outcome: str) -> str | None:
    """Return the OutcomeCounts field an attempt outcome counts in, or None for an unknown outcome."""
    return _OUTCOME_KINDS.get(outcome)


def settings_from_campaign(campaign) -> PacingSettings:
    """Return the validated pacing settings of a campaign row.

    Raises PacingSettingError naming the first setting out of range.
    """
    settings = PacingSettings(
        mode=PacingMode(campaign.dial_mode),
        abandonment_target=float(campaign.abandon_target_pct) / 100.0,
        max_lines_per_agent=float(campaign.max_lines_per_agent),
        min_dial_level=float(campaign.min_dial_level),
        max_dial_level=float(campaign.max_dial_level),
        ring_timeout_s=float(campaign.ring_timeout_s),
        short_window_s=float(campaign.short_window_s),
    )
    settings.validate()
    return settings


@dataclass
class CampaignStats:
    """Ended dials of one campaign: recent outcomes and abandonment counts.

    The short window and the outcome window are kept in memory, seeded from
    the database when the orchestrator starts driving the campaign. The
    30-day counts come from a cached database query plus the live answers
    recorded since that query ran.
    """

    # (ended at, outcome kind) of every recent end, oldest first.
    outcomes: deque[tuple[float, str]] = field(default_factory=deque)
    # (ended at, abandoned) of every recent live answer, oldest first.
    live_answers: deque[tuple[float, bool]] = field(default_factory=deque)
    rolling_base: AbandonmentCounts = field(default_factory=AbandonmentCounts)
    rolling_abandoned_since: int = 0
    rolling_live_since: int = 0
    # Longest window kept in memory, in seconds; the daemon raises it to the
    # campaign's short window when that is longer.
    keep_s: float = OUTCOME_WINDOW_S

    def record(self, ended_s: float, outcome: str) -> None:
        """Count one ended dial at ``ended_s`` (the loop's clock)."""
        kind = outcome_kind(outcome)
        if kind is None:
            return
        self.outcomes.append((ended_s, kind))
        if kind == "live":
            abandoned = outcome == "abandoned"
            self.live_answers.append((ended_s, abandoned))
            self.rolling_live_since += 1
            self.rolling_abandoned_since += abandoned

    def seed(self, rows: Iterable[tuple[float, str]]) -> None:
        """Load earlier ends as ``(ended at, outcome)`` pairs, oldest first, before any :meth:`record`."""
        for ended_s, outcome in rows:
            kind = outcome_kind(outcome)
            if kind is None:
                continue
            self.outcomes.append((ended_s, kind))
            if kind == "live":
                self.live_answers.append((ended_s, outcome == "abandoned"))

    def set_rolling(self, counts: AbandonmentCounts) -> None:
        """Replace the 30-day counts with a fresh database read, which includes every end recorded so far."""
        self.rolling_base = counts
        self.rolling_abandoned_since = 0
        self.rolling_live_since = 0

    def _trim(self, now_s: float) -> None:
        oldest = now_s - self.keep_s
        while self.outcomes and self.outcomes[0][0] < oldest:
            self.outcomes.popleft()
        while self.live_answers and self.live_answers[0][0] < oldest:
            self.live_answers.popleft()

    def outcome_counts(self, now_s: float, window_s: float = OUTCOME_WINDOW_S) -> OutcomeCounts:
        """Return the ends of the last ``window_s`` seconds by kind."""
        self._trim(now_s)
        counts = {"live": 0, "machine": 0, "failed": 0, "no_answer": 0}
        for ended_s, kind in self.outcomes:
            if ended_s >= now_s - window_s:
                counts[kind] += 1
        return OutcomeCounts(**counts)

    def short_window(self, now_s: float, window_s: float) -> AbandonmentCounts:
        """Return the abandoned and live answers of the last ``window_s`` seconds."""
        self._trim(now_s)
        live = abandoned = 0
        for ended_s, was_abandoned in self.live_answers:
            if ended_s >= now_s - window_s:
                live += 1
                abandoned += was_abandoned
        return AbandonmentCounts(abandoned=abandoned, live=live)

    def rolling_30_days(self) -> AbandonmentCounts:
        """Return the 30-day counts: the last database read plus the answers recorded since."""
        return AbandonmentCounts(
            abandoned=self.rolling_base.abandoned + self.rolling_abandoned_since,
            live=self.rolling_base.live + self.rolling_live_since,
        )


def busy_agents(agents: Iterable[AgentInfo], now_s: float) -> list[AgentActivity]:
    """Return the phase of every working agent busy with a call or its wrap-up."""
    busy = []
    for agent in agents:
        if agent.status not in AVAILABLE_STATUSES:
            continue
        started = min(agent.state_since_s, now_s)
        if agent.state in TALKING_STATES:
            busy.append(AgentActivity(AgentPhase.TALKING, started))
        elif agent.state in WRAP_UP_STATES:
            busy.append(AgentActivity(AgentPhase.WRAP_UP, started))
    return busy


def build_pacing_state(
    now_s: float,
    settings: PacingSettings,
    agents: Iterable[AgentInfo],
    attempts: Iterable[Attempt],
    stats: CampaignStats,
    leads_remaining: int | None = None,
) -> PacingState:
    """Return the snapshot of one campaign the pacer decides on.

    ``agents`` and ``attempts`` must be the campaign's own. Agents On Break
    or Logged Out count as neither working nor busy, so an agent who logs out
    mid-campaign lowers the dial level at once.
    """
    agents = list(agents)
    working = [agent for agent in agents if agent.status in AVAILABLE_STATUSES]
    available = sum(1 for agent in working if agent.state == "Waiting")

    in_flight = in_amd = waiting = 0
    ringing: list[float] = []
    for attempt in attempts:
        if attempt.state == "pending":
            in_flight += 1
        elif attempt.state == "ringing":
            ringing.append(attempt.sent_s)
        elif attempt.state == "answered":
            if attempt.queued:
                waiting += 1
            else:
                in_amd += 1

    return PacingState(
        now=now_s,
        settings=settings,
        agents_logged_in=len(working),
        agents_available=available,
        busy_agents=busy_agents(working, now_s),
        ringing_started_at=tuple(ringing),
        dials_in_flight=in_flight,
        calls_in_amd=in_amd,
        calls_waiting=waiting,
        outcomes=stats.outcome_counts(now_s),
        short_window=stats.short_window(now_s, settings.short_window_s),
        rolling_30_days=stats.rolling_30_days(),
        leads_remaining=leads_remaining,
    )


@dataclass
class PacingLogGate:
    """Decides which pacing decisions become ``pacing_log`` rows.

    A row is written at once when the mode or the throttled flag changes, or
    when the multiplier moves by more than ``multiplier_tolerance``. A dial
    level move beyond ``level_tolerance`` is written only when the last row
    is at least ``min_interval_s`` old, because a small team's level jumps by
    1/agents with every call. An unchanged decision is written once every
    ``heartbeat_s`` seconds.
    """

    level_tolerance: float = 0.05
    multiplier_tolerance: float = 0.01
    min_interval_s: float = 5.0
    heartbeat_s: float = 60.0
    last: PacingDecision | None = None
    last_at_s: float = 0.0

    def should_write(self, decision: PacingDecision, now_s: float) -> bool:
        """Return True when ``decision`` must be stored; remember it as the last stored one if so."""
        write = self._differs(decision, now_s)
        if write:
            self.last = decision
            self.last_at_s = now_s
        return write

    def _differs(self, decision: PacingDecision, now_s: float) -> bool:
        last = self.last
        if last is None:
            return True
        age_s = now_s - self.last_at_s
        if decision.mode != last.mode or decision.throttled != last.throttled:
            return True
        if abs(decision.multiplier - last.multiplier) > self.multiplier_tolerance:
            return True
        if abs(decision.dial_level - last.dial_level) > self.level_tolerance and age_s >= self.min_interval_s:
            return True
        return age_s >= self.heartbeat_s


def split_dials(dials: int, capacities: dict[str, int]) -> dict[str, int]:
    """Spread ``dials`` over switches in proportion to each one's capacity (e.g. its available agents).

    Switches with no capacity get none unless every switch has none, in
    which case the dials are spread evenly. The result sums to ``dials``
    when at least one switch is given.
    """
    if dials <= 0 or not capacities:
        return {}
    weights = (
        dict(capacities) if any(value > 0 for value in capacities.values()) else dict.fromkeys(capacities, 1)
    )
    total = sum(max(0, value) for value in weights.values())
    shares = {name: dials * max(0, weight) // total for name, weight in weights.items()}
    left = dials - sum(shares.values())
    for name in sorted(weights, key=lambda item: (-weights[item], item)):
        if left <= 0:
            break
        if weights[name] > 0:
            shares[name] += 1
            left -= 1
    return {name: count for name, count in shares.items() if count > 0}
