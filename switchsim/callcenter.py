"""Simulated mod_callcenter: agents, tiers, queues and ``callcenter_config``."""

from __future__ import annotations

import logging
import time
import uuid as uuid_module
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

AGENT_STATUSES = ("Logged Out", "Available", "Available (On Demand)", "On Break")
AGENT_STATES = ("Waiting", "Receiving", "In a queue call", "Idle", "Reserved")
AGENT_TYPES = ("callback", "uuid-standby")
AGENT_LIST_COLUMNS = (
    "name|instance_id|uuid|type|contact|status|state|max_no_answer|wrap_up_time|reject_delay_time|"
    "busy_delay_time|no_answer_delay_time|last_bridge_start|last_bridge_end|last_offered_call|"
    "last_status_change|no_answer_count|calls_answered|talk_time|ready_time|external_calls_count"
)
MEMBER_LIST_COLUMNS = (
    "queue|instance_id|uuid|session_uuid|cid_number|cid_name|system_epoch|joined_epoch|rejoined_epoch|"
    "bridge_epoch|abandoned_epoch|base_score|skill_score|serving_agent|serving_system|state|score"
)
# Seconds an abandoned member stays listed (queue param discard-abandoned-after).
DISCARD_ABANDONED_AFTER_S = 60


@dataclass(eq=False)
class Agent:
    """One mod_callcenter agent as ``agent list`` shows it."""

    name: str
    type: str
    contact: str = ""
    status: str = "Logged Out"
    state: str = "Waiting"
    max_no_answer: int = 0
    wrap_up_time: int = 10
    last_bridge_start: int = 0
    last_bridge_end: int = 0
    last_offered_call: int = 0
    last_status_change: int = 0
    calls_answered: int = 0
    talk_time: int = 0
    # Monotonic time before which the agent is in wrap-up and gets no call.
    ready_at: float = 0.0

    def row(self) -> str:
        values = (
            self.name,
            "single_box",
            "",
            self.type,
            self.contact,
            self.status,
            self.state,
            self.max_no_answer,
            self.wrap_up_time,
            0,
            0,
            0,
            self.last_bridge_start,
            self.last_bridge_end,
            self.last_offered_call,
            self.last_status_change,
            0,
            self.calls_answered,
            self.talk_time,
            0,
            0,
        )
        return "|".join(str(value) for value in values)

    def can_take_call(self) -> bool:
        return (
            self.status in ("Available", "Available (On Demand)")
            and self.state == "Waiting"
            and time.monotonic() >= self.ready_at
        )


@dataclass(eq=False)
class Tier:
    queue: str
    agent: str
    level: int = 1
    position: int = 1
    state: str = "Ready"


@dataclass(eq=False)
class Member:
    """A caller waiting in (or leaving) a queue; ``uuid`` is mod_callcenter's own id."""

    queue: str
    session_uuid: str
    cid_number: str
    joined_epoch: int
    uuid: str = field(default_factory=lambda: str(uuid_module.uuid4()))
    state: str = "Waiting"
    serving_agent: str = ""
    bridge_epoch: int = 0
    abandoned_epoch: int = 0

    def row(self) -> str:
        session = "" if self.state == "Abandoned" else self.session_uuid
        values = (
            self.queue,
            "single_box",
            self.uuid,
            session,
            self.cid_number,
            "Outbound Call",
            self.joined_epoch,
            self.joined_epoch,
            0,
            self.bridge_epoch,
            self.abandoned_epoch,
            0,
            0,
            self.serving_agent,
            "single_box" if self.serving_agent else "",
            self.state,
            0,
        )
        return "|".join(str(value) for value in values)


class CallCenterError(ValueError):
    """A callcenter_config command FreeSWITCH would reject; the message is its reply."""


def split_words(text: str) -> list[str]:
    """Split on spaces, keeping single-quoted words like ``'Logged Out'`` whole."""
    words, current, quoted = [], [], False
    for char in text:
        if char == "'":
            quoted = not quoted
            continue
        if char == " " and not quoted:
            if current:
                words.append("".join(current))
            current = []
            continue
        current.append(char)
    if current:
        words.append("".join(current))
    return words


class CallCenter:
    """State of mod_callcenter; ``notify(action, headers)`` fires callcenter::info events."""

    def __init__(self, notify, default_wrap_up_s: int = 10) -> None:
        self.notify = notify
        self.default_wrap_up_s = default_wrap_up_s
        self.agents: dict[str, Agent] = {}
        self.tiers: list[Tier] = []
        self.queues: set[str] = set()
        self.members: list[Member] = []
        self.changed = None  # set by the node to a gevent Event pulsed on agent changes

    # -- agents ------------------------------------------------------------

    def set_state(self, agent: Agent, state: str) -> None:
        agent.state = state
        self.notify("agent-state-change", {"CC-Agent": agent.name, "CC-Agent-State": state})
        self._pulse()

    def set_status(self, agent: Agent, status: str) -> None:
        agent.status = status
        agent.last_status_change = int(time.time())
        self.notify("agent-status-change", {"CC-Agent": agent.name, "CC-Agent-Status": status})
        self._pulse()

    def _pulse(self) -> None:
        if self.changed is not None:
            self.changed.set()
            self.changed.clear()

    def pick_agent(self, queue: str) -> Agent | None:
        """Return the longest-idle agent of ``queue`` that can take a call, or None."""
        candidates = []
        for tier in self.tiers:
            agent = self.agents.get(tier.agent)
            if tier.queue == queue and agent is not None and agent.can_take_call():
                candidates.append((tier.level, agent.last_bridge_end, tier.position, agent))
        if not candidates:
            return None
        return min(candidates, key=lambda item: item[:3])[3]

    def has_agents(self, queue: str) -> bool:
        """Return True when a tier agent of ``queue`` is not Logged Out (On Break counts)."""
        for tier in self.tiers:
            agent = self.agents.get(tier.agent)
            if tier.queue == queue and agent is not None and agent.status != "Logged Out":
                return True
        return False

    def queue_members(self, queue: str) -> list[Member]:
        cutoff = int(time.time()) - DISCARD_ABANDONED_AFTER_S
        self.members = [
            member
            for member in self.members
            if member.state != "Abandoned" or member.abandoned_epoch >= cutoff
        ]
        return [member for member in self.members if member.queue == queue]

    def waiting_count(self, queue: str) -> int:
        return sum(1 for member in self.queue_members(queue) if member.state in ("Waiting", "Trying"))

    # -- callcenter_config -------------------------------------------------

    def command(self, argument: str) -> str:
        """Run ``callcenter_config <argument>`` and return the api/response body."""
        words = split_words(argument)
        try:
            if len(words) >= 2 and words[0] == "agent":
                return self._agent_command(words[1], words[2:])
            if len(words) >= 2 and words[0] == "tier":
                return self._tier_command(words[1], words[2:])
            if len(words) >= 2 and words[0] == "queue":
                return self._queue_command(words[1], words[2:])
        except CallCenterError as error:
            return f"-ERR {error}\n"
        return "-ERR Unknown Command\n"

    def _agent(self, name: str) -> Agent:
        agent = self.agents.get(name)
        if agent is None:
            raise CallCenterError("Invalid Agent!")
        return agent

    def _agent_command(self, action: str, args: list[str]) -> str:
        if action == "add" and len(args) == 2:
            if args[1] not in AGENT_TYPES:
                raise CallCenterError("Invalid Agent Type!")
            if args[0] in self.agents:
                raise CallCenterError("Agent already exists!")
            self.agents[args[0]] = Agent(args[0], args[1], wrap_up_time=self.default_wrap_up_s)
            self.notify("agent-add", {"CC-Agent": args[0], "CC-Agent-Type": args[1]})
            return "+OK\n"
        if action == "del" and len(args) == 1:
            self._agent(args[0])
            del self.agents[args[0]]
            self.tiers = [tier for tier in self.tiers if tier.agent != args[0]]
            return "+OK\n"
        if action == "set" and len(args) == 3:
            return self._agent_set(args[0], self._agent(args[1]), args[2])
        if action == "get" and len(args) == 2 and args[0] in ("status", "state"):
            agent = self._agent(args[1])
            value = agent.status if args[0] == "status" else agent.state
            header = "CC-Agent-Status" if args[0] == "status" else "CC-Agent-State"
            self.notify(f"agent-{args[0]}-get", {"CC-Agent": agent.name, header: value})
            return value
        if action == "list":
            rows = [agent.row() for agent in self.agents.values() if not args or agent.name == args[0]]
            return "\n".join([AGENT_LIST_COLUMNS, *rows, "+OK", ""])
        raise CallCenterError("Unknown Command")

    def _agent_set(self, key: str, agent: Agent, value: str) -> str:
        if key == "status":
            if value not in AGENT_STATUSES:
                raise CallCenterError("Invalid Status!")
            self.set_status(agent, value)
        elif key == "state":
            if value not in AGENT_STATES:
                raise CallCenterError("Invalid State!")
            self.set_state(agent, value)
        elif key == "contact":
            agent.contact = value
            self.notify("agent-contact-change", {"CC-Agent": agent.name, "CC-Agent-Contact": value})
        elif key == "type":
            if value not in AGENT_TYPES:
                raise CallCenterError("Invalid Agent Type!")
            agent.type = value
        elif key in ("max_no_answer", "wrap_up_time"):
            if not value.isdigit():
                raise CallCenterError(f"Invalid {key} value!")
            setattr(agent, key, int(value))
        else:
            raise CallCenterError("Unknown Command")
        return "+OK\n"

    def _tier_command(self, action: str, args: list[str]) -> str:
        if action == "add" and 2 <= len(args) <= 4:
            if any(tier.queue == args[0] and tier.agent == args[1] for tier in self.tiers):
                raise CallCenterError("Tier already exist!")
            numbers = [int(word) if word.isdigit() else 1 for word in args[2:]] + [1, 1]
            self.tiers.append(Tier(args[0], args[1], numbers[0], numbers[1]))
            return "+OK\n"
        if action == "del" and len(args) == 2:
            self.tiers = [tier for tier in self.tiers if (tier.queue, tier.agent) != tuple(args)]
            return "+OK\n"
        if action == "list":
            rows = [
                f"{tier.queue}|{tier.agent}|{tier.state}|{tier.level}|{tier.position}" for tier in self.tiers
            ]
            return "\n".join(["queue|agent|state|level|position", *rows, "+OK", ""])
        raise CallCenterError("Unknown Command")

    def _queue_command(self, action: str, args: list[str]) -> str:
        if action in ("load", "reload") and len(args) == 1:
            self.queues.add(args[0])
            return "+OK\n"
        if action == "unload" and len(args) == 1:
            self.queues.discard(args[0])
            return "+OK\n"
        if action == "list" and not args:
            return "\n".join(
                [
                    "name|strategy",
                    *(f"{queue}|longest-idle-agent" for queue in sorted(self.queues)),
                    "+OK",
                    "",
                ]
            )
        if action == "list" and len(args) == 2:
            return self._queue_list(args[0], args[1])
        if action == "count" and len(args) == 2 and args[0] == "members":
            return str(self.waiting_count(args[1]))
        raise CallCenterError("Unknown Command")

    def _queue_list(self, what: str, queue: str) -> str:
        if what == "agents":
            names = [tier.agent for tier in self.tiers if tier.queue == queue]
            rows = [self.agents[name].row() for name in names if name in self.agents]
            return "\n".join([AGENT_LIST_COLUMNS, *rows, "+OK", ""])
        if what == "members":
            rows = [member.row() for member in self.queue_members(queue)]
            return "\n".join([MEMBER_LIST_COLUMNS, *rows, "+OK", ""])
        if what == "tiers":
            rows = [
                f"{tier.queue}|{tier.agent}|{tier.state}|{tier.level}|{tier.position}"
                for tier in self.tiers
                if tier.queue == queue
            ]
            return "\n".join(["queue|agent|state|level|position", *rows, "+OK", ""])
        raise CallCenterError("Unknown Command")
