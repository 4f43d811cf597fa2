"""Agent status and state as mod_callcenter reports them.

:class:`AgentBoard` is pure: it starts from the agents table and the
``queue list agents`` read-back, follows ``callcenter::info`` events, and
collects the agents that changed so the daemon writes them in batches.
Statuses and states are spelled as mod_callcenter spells them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

AVAILABLE_STATUSES = frozenset({"Available", "Available (On Demand)"})
STATUSES = frozenset({"Logged Out", "Available", "Available (On Demand)", "On Break"})
STATES = frozenset({"Waiting", "Receiving", "In a queue call", "Idle", "Reserved"})


@dataclass
class AgentInfo:
    """One mod_callcenter agent of a campaign, on the switch where it is provisioned."""

    name: str
    tenant_id: int
    campaign_id: int
    switch_name: str
    status: str = "Logged Out"
    state: str = "Waiting"
    # Channel UUID of the customer leg the agent is bridged to, if any.
    member_session_uuid: str | None = None
    # When the agent entered its current state, on the board's clock (seconds).
    state_since_s: float = 0.0

    @property
    def available(self) -> bool:
        return self.status in AVAILABLE_STATUSES and self.state == "Waiting"

    @property
    def logged_in(self) -> bool:
        return self.status != "Logged Out"


def parse_agent_list(text: str) -> list[dict[str, str]]:
    """Parse the pipe table of ``callcenter_config queue list agents`` into one dict per row."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or "|" not in lines[0]:
        return []
    columns = lines[0].split("|")
    rows = []
    for line in lines[1:]:
        if line.startswith("+OK") or line.startswith("-ERR"):
            break
        values = line.split("|")
        if len(values) != len(columns):
            log.warning("agents.list_row_skipped columns=%d values=%d", len(columns), len(values))
            continue
        rows.append(dict(zip(columns, values, strict=True)))
    return rows


@dataclass(frozen=True)
class StateTransition:
    """An agent left ``old_state`` for ``new_state`` after ``seconds`` in it."""

    tenant_id: int
    campaign_id: int
    agent_name: str
    old_state: str
    new_state: str
    seconds: float


class AgentBoard:
    """Per-agent status and state, keyed by switch name and agent name."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.agents: dict[tuple[str, str], AgentInfo] = {}
        self._transitions: list[StateTransition] = []
        self._dirty: set[tuple[str, str]] = set()
        self._changed_campaigns: set[tuple[int, int]] = set()

    def register(self, agent: AgentInfo) -> None:
        """Add or replace an agent read from the database, keeping the state already known."""
        key = (agent.switch_name, agent.name)
        known = self.agents.get(key)
        if known is not None:
            agent.status, agent.state = known.status, known.state
            agent.member_session_uuid = known.member_session_uuid
            agent.state_since_s = known.state_since_s
        else:
            agent.state_since_s = self.clock()
        self.agents[key] = agent
        self._changed_campaigns.add((agent.tenant_id, agent.campaign_id))

    def apply_list(self, switch_name: str, text: str) -> int:
        """Set status and state from a ``queue list agents`` reply; return how many agents it named."""
        count = 0
        for row in parse_agent_list(text):
            agent = self.agents.get((switch_name, row.get("name", "")))
            if agent is None:
                continue
            self._set(agent, status=row.get("status"), state=row.get("state"))
            count += 1
        return count

    def handle(self, switch_name: str, event) -> AgentInfo | None:
        """Apply one ``callcenter::info`` event; return the agent it changed, if any."""
        action = event.get("CC-Action")
        agent = self.agents.get((switch_name, event.get("CC-Agent") or ""))
        if agent is None:
            return None
        if action in ("agent-status-change", "agent-status-get"):
            return agent if self._set(agent, status=event.get("CC-Agent-Status")) else None
        if action in ("agent-state-change", "agent-state-get"):
            return agent if self._set(agent, state=event.get("CC-Agent-State")) else None
        if action == "bridge-agent-start":
            agent.member_session_uuid = event.get("CC-Member-Session-UUID")
            return agent
        if action in ("bridge-agent-end", "bridge-agent-fail"):
            agent.member_session_uuid = None
            return agent
        return None

    def _set(self, agent: AgentInfo, status: str | None = None, state: str | None = None) -> bool:
        changed = False
        if status is not None and status != agent.status:
            if status not in STATUSES:
                log.warning("agents.unknown_status agent=%s status=%r", agent.name, status)
                return False
            agent.status = status
            changed = True
        if state is not None and state != agent.state:
            if state not in STATES:
                log.warning("agents.unknown_state agent=%s state=%r", agent.name, state)
                return False
            now_s = self.clock()
            self._transitions.append(StateTransition(
                agent.tenant_id, agent.campaign_id, agent.name, agent.state, state, now_s - agent.state_since_s,
            ))
            agent.state = state
            agent.state_since_s = now_s
            changed = True
        if changed:
            key = (agent.switch_name, agent.name)
            self._dirty.add(key)
            self._changed_campaigns.add((agent.tenant_id, agent.campaign_id))
        return changed

    def available(self, campaign_id: int, switch_name: str) -> int:
        """Return how many agents of a campaign on one switch can take a call now."""
        return sum(
            1
            for agent in self.agents.values()
            if agent.campaign_id == campaign_id and agent.switch_name == switch_name and agent.available
        )

    def campaign_agents(self, campaign_id: int) -> list[AgentInfo]:
        """Return the agents of a campaign on every switch."""
        return [agent for agent in self.agents.values() if agent.campaign_id == campaign_id]

    def take_transitions(self) -> list[StateTransition]:
        """Return the state changes since the last call, oldest first, and clear them."""
        transitions = self._transitions
        self._transitions = []
        return transitions

    def campaign_counts(self) -> dict[int, tuple[int, int]]:
        """Return ``{campaign_id: (agents_available, agents_logged_in)}`` over every switch."""
        counts: dict[int, tuple[int, int]] = {}
        for agent in self.agents.values():
            available, logged_in = counts.get(agent.campaign_id, (0, 0))
            counts[agent.campaign_id] = (available + agent.available, logged_in + agent.logged_in)
        return counts

    def take_dirty(self) -> list[AgentInfo]:
        """Return the agents changed since the last call and clear the list."""
        dirty = [self.agents[key] for key in self._dirty if key in self.agents]
        self._dirty.clear()
        return dirty

    def take_changed_campaigns(self) -> set[tuple[int, int]]:
        """Return ``(tenant_id, campaign_id)`` pairs whose agents changed, and clear them."""
        changed = self._changed_campaigns
        self._changed_campaigns = set()
        return changed
