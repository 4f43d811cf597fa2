"""Test double of the ``freeswitch`` module that mod_python3 gives a script.

It keeps what the handler can observe on a real FreeSWITCH 1.10 node:
``getVariable`` returns a ``str`` or None for an unset variable, ``execute``
blocks the calling thread (releasing the GIL, as mod_python3 does), and
``API().executeString`` returns the reply text. The ``callcenter`` app is
scripted per session with a ``Bridge`` or ``Cancel`` outcome, and sets the
member-leg variables that a real 1.10.12 set (see
callcenter_no_agent.python_vars.json and callcenter_flow.esl in
tests/fixtures/freeswitch/).
"""

from __future__ import annotations

import threading
import time
import uuid as uuid_module
from dataclasses import dataclass, field

# Channels that API().executeString can reach by UUID, and consoleLog lines.
# Tests clear both through reset().
channels: dict[str, Session] = {}
console_lines: list[tuple[str, str]] = []


def reset() -> None:
    """Forget every channel and log line, so each test starts from an empty switch."""
    channels.clear()
    console_lines.clear()


def consoleLog(level: str, message: str) -> None:  # noqa: N802 - mod_python3 name
    console_lines.append((level, message))


@dataclass(frozen=True)
class Bridge:
    """An agent answers ``after_ms`` after the member joins the queue."""

    after_ms: int
    agent: str = "1001@default"
    agent_uuid: str = "70bc488a-6741-4ff5-b806-08dc69495808"


@dataclass(frozen=True)
class Cancel:
    """mod_callcenter cancels the member ``after_ms`` after it joins (no agent)."""

    after_ms: int
    reason: str = "TIMEOUT"
    callee_hangs_up: bool = False


@dataclass
class Session:
    """A member channel: variables, an ordered record of calls, and a scripted queue outcome."""

    variables: dict[str, str] = field(default_factory=dict)
    callcenter: Bridge | Cancel | None = None
    calls: list[tuple] = field(default_factory=list)
    hung_up: bool = False
    is_bridged: bool = False
    _break: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.variables.setdefault("uuid", str(uuid_module.uuid4()))
        channels[self.variables["uuid"]] = self

    def _record(self, *call) -> None:
        self.calls.append((*call, time.time_ns() // 1_000_000))

    def getVariable(self, name: str) -> str | None:  # noqa: N802 - mod_python3 name
        self._record("getVariable", name)
        return self.variables.get(name)

    def setVariable(self, name: str, value: str) -> None:  # noqa: N802 - mod_python3 name
        if not isinstance(value, str):
            raise TypeError(f"setVariable({name!r}) expected str, got {type(value).__name__}")
        self._record("setVariable", name, value)
        self.variables[name] = value

    def execute(self, app: str, data: str = "") -> None:
        self._record("execute", app, data)
        if app == "callcenter":
            self._run_callcenter(data)

    def streamFile(self, path: str, sample_count: int = 0) -> None:  # noqa: N802 - mod_python3 name
        self._record("streamFile", path)

    def sleep(self, ms: int, sync: int = 0) -> None:
        self._record("sleep", ms)
        time.sleep(ms / 1000.0)

    def hangup(self, cause: str = "normal_clearing") -> None:
        self._record("hangup", cause)
        self.hung_up = True

    def answer(self) -> None:
        self._record("answer")

    def ready(self) -> bool:
        return not self.hung_up

    def answered(self) -> bool:
        return True

    def bridged(self) -> bool:
        return self.is_bridged

    def break_media(self) -> None:
        """Apply ``uuid_break``: stop what the channel is playing."""
        self._break.set()

    def recorded(self, kind: str) -> list[tuple]:
        """Return the recorded calls of one kind, in order."""
        return [call for call in self.calls if call[0] == kind]

    def _run_callcenter(self, queue: str) -> None:
        joined_s = int(time.time())
        self.variables.update(
            {"cc_side": "member", "cc_member_uuid": str(uuid_module.uuid4()), "cc_queue_joined_epoch": str(joined_s)}
        )
        self.variables["cc_queue"] = queue
        outcome = self.callcenter or Cancel(after_ms=60_000)
        broken = self._break.wait(outcome.after_ms / 1000.0)
        self._break.clear()

        if isinstance(outcome, Bridge) and not broken:
            self._bridge_agent(outcome)
            return

        if isinstance(outcome, Cancel) and outcome.callee_hangs_up and not broken:
            self.hung_up = True
        reason = "BREAK_OUT" if broken or self.hung_up else outcome.reason
        self.variables["cc_cause"] = "cancel"
        self.variables["cc_cancel_reason"] = reason
        self.variables["cc_queue_canceled_epoch"] = str(int(time.time()))

    def _bridge_agent(self, outcome: Bridge) -> None:
        # At return time a real 1.10.12 member leg has cc_agent_uuid and
        # cc_cause=answered, but cc_agent only after the bridge completes.
        self.variables["cc_cause"] = "answered"
        self.variables["cc_agent_uuid"] = outcome.agent_uuid
        Session(variables={"uuid": outcome.agent_uuid, "cc_agent": outcome.agent, "cc_side": "agent"})


class API:
    """The FreeSWITCH API object, implementing only ``uuid_break`` and ``uuid_getvar``."""

    def executeString(self, command: str) -> str:  # noqa: N802 - mod_python3 name
        name, _, arguments = command.partition(" ")
        if name == "uuid_break":
            return self._uuid_break(arguments.strip())
        if name == "uuid_getvar":
            return self._uuid_getvar(*arguments.split())
        return f"-ERR {name} Command not found!\n"

    def _uuid_break(self, call_uuid: str) -> str:
        channel = channels.get(call_uuid)
        if channel is None:
            return "-ERR No such channel!\n"
        channel.break_media()
        return "+OK\n"

    def _uuid_getvar(self, call_uuid: str, name: str) -> str:
        channel = channels.get(call_uuid)
        if channel is None:
            return "-ERR No such channel!\n"
        return channel.variables.get(name, "_undef_")
