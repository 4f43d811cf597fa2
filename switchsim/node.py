"""The simulated media node: channels, event fan-out and api commands."""

from __future__ import annotations

import json
import logging
import uuid as uuid_module
from dataclasses import dataclass, field

import gevent
from gevent.event import Event as GeventEvent

from switchsim.callcenter import CallCenter
from switchsim.callees import CalleeProfile
from switchsim.events import Leg, Renderer, local_stamp, now_us
from switchsim.originate import OriginateError, parse_originate
from switchsim.templates import Templates

log = logging.getLogger(__name__)

VERSION_TEXT = "FreeSWITCH Version 1.10.12-release~64bit ( 64bit)"
MAX_SESSIONS = 1000
SESSIONS_PER_SECOND = 30


@dataclass
class NodeSettings:
    """Settings of one simulated node; times are simulated seconds unless noted."""

    hostname: str = "sim-node-1"
    seed: int = 7
    speed: float = 1.0
    heartbeat_s: float = 20.0
    agent_wrap_up_s: int = 10
    # Time the agent leg rings before it answers (0.3 s in the recordings).
    agent_ring_s: float = 0.3
    safe_harbor_play_s: float = 4.0
    voicemail_play_s: float = 10.0
    # Share of bridged calls that the agent ends (the rest the callee ends).
    agent_hangup_share: float = 0.6
    # Queue limits in simulated seconds, 0 = off. The defaults are those of
    # freeswitch_conf/callcenter_queues/ventas.xml: max-wait-time 3, and
    # max-wait-time-with-no-agent off. The no-agent wait here is the whole
    # time until the cancel (FreeSWITCH 1.10.12 took 4 s for a limit of 2
    # plus max-wait-time-with-no-agent-time-reached 2).
    queue_max_wait_s: float = 3.0
    queue_no_agent_wait_s: float = 0.0
    cdr_enabled: bool = True
    # Gateways listed by ``sofia status`` before any dial string names one.
    gateways: list[str] = field(default_factory=list)
    allowed_networks: list[str] = field(default_factory=list)


class Node:
    """One simulated FreeSWITCH: owns the channels and fans events out to sessions."""

    def __init__(
        self, settings: NodeSettings, profile: CalleeProfile, templates: Templates, cdr_poster=None
    ) -> None:
        self.settings = settings
        self.profile = profile
        self.templates = templates
        self.cdr_poster = cdr_poster
        self.core_uuid = str(uuid_module.uuid4())
        self.started_us = now_us()
        self.renderer = Renderer(
            templates.events, {"core_uuid": self.core_uuid, "hostname": settings.hostname}
        )
        self.sessions: set = set()
        self.channels: dict[str, Leg] = {}
        self.call_greenlets: dict[str, gevent.Greenlet] = {}
        self.attempts: dict[str, int] = {}
        self.sessions_since_startup = 0
        self.gateways: dict[str, None] = dict.fromkeys(settings.gateways)
        self.session_peak = 0
        self.callcenter = CallCenter(self._notify_callcenter, settings.agent_wrap_up_s)
        self.callcenter.changed = GeventEvent()

    # -- time --------------------------------------------------------------

    def sleep(self, simulated_seconds: float) -> None:
        """Sleep ``simulated_seconds`` scaled by the speed-up.

        Event timestamps and durations stay wall-clock (see switchsim.events),
        so at speed 20 a simulated 120 s talk shows as about 6 s.
        """
        gevent.sleep(max(0.0, simulated_seconds) / self.settings.speed)

    # -- events ------------------------------------------------------------

    def publish(self, headers: list[tuple[str, str]], body: str | None = None) -> None:
        """Send one event to every session subscribed to it."""
        for session in list(self.sessions):
            session.deliver(headers, body)

    def emit(self, key: str, leg: Leg | None = None, other: Leg | None = None, overrides=None, body=None):
        headers = self.renderer.render(key, leg, other, overrides)
        self.publish(headers, body)
        return headers

    def _notify_callcenter(self, action: str, values: dict[str, str]) -> None:
        """Fire a channel-less callcenter::info event in the recorded header order."""
        key = f"cc.{action}" if f"cc.{action}" in self.templates.events else "cc.agent-state-change"
        overrides = {"CC-Action": action, **values}
        headers = self.renderer.render(key, overrides=overrides)
        present = {name for name, _ in headers}
        headers += [(name, value) for name, value in overrides.items() if name not in present]
        self.publish(headers)

    def heartbeat_loop(self) -> None:
        """Fire HEARTBEAT every ``heartbeat_s`` wall seconds (not scaled)."""
        while True:
            gevent.sleep(self.settings.heartbeat_s)
            self.emit("heartbeat", overrides=self._heartbeat_values())

    def _heartbeat_values(self) -> dict[str, str]:
        uptime_ms = (now_us() - self.started_us) // 1000
        return {
            "Core-UUID": self.core_uuid,
            "FreeSWITCH-Hostname": self.settings.hostname,
            "FreeSWITCH-Switchname": self.settings.hostname,
            "Up-Time": self._uptime_text(uptime_ms * 1000),
            "Uptime-msec": str(uptime_ms),
            "Session-Count": str(len(self.channels)),
            "Session-Since-Startup": str(self.sessions_since_startup),
            "Session-Peak-Max": str(self.session_peak),
            "Session-Peak-FiveMin": str(self.session_peak),
            "Max-Sessions": str(MAX_SESSIONS),
            "Session-Per-Sec": str(SESSIONS_PER_SECOND),
        }

    @staticmethod
    def _uptime_text(microseconds: int) -> str:
        seconds, micro = divmod(microseconds, 1_000_000)
        minutes, seconds = divmod(seconds, 60)
        hours, minutes = divmod(minutes, 60)
        days, hours = divmod(hours, 24)
        years, days = divmod(days, 365)
        return (
            f"{years} years, {days} days, {hours} hours, {minutes} minutes, {seconds} seconds, "
            f"{micro // 1000} milliseconds, {micro % 1000} microseconds"
        )

    # -- channels ----------------------------------------------------------

    def add_channel(self, leg: Leg) -> None:
        self.channels[leg.uuid] = leg
        self.sessions_since_startup += 1
        self.session_peak = max(self.session_peak, len(self.channels))

    def remove_channel(self, leg: Leg) -> None:
        self.channels.pop(leg.uuid, None)

    # -- api ---------------------------------------------------------------

    def api(self, command: str, argument: str, job_uuid: str | None = None) -> str | None:
        """Run an api command and return its body; originate via bgapi returns None (the call reports)."""
        if command == "originate":
            return self._originate(argument, job_uuid)
        handler = {
            "status": lambda: self._status_text(),
            "version": lambda: VERSION_TEXT + "\n",
            "uuid_kill": lambda: self._uuid_kill(argument),
            "hupall": lambda: self._hupall(argument),
            "show": lambda: self._show(argument),
            "callcenter_config": lambda: self.callcenter.command(argument),
            "sofia": lambda: self._sofia(argument),
        }.get(command)
        if handler is None:
            return f"-ERR {command} Command not found!\n"
        return handler()

    def _status_text(self) -> str:
        uptime = self._uptime_text(now_us() - self.started_us)
        return (
            f"UP {uptime}\n"
            "FreeSWITCH (Version 1.10.12-release  64bit) is ready\n"
            f"{self.sessions_since_startup} session(s) since startup\n"
            f"{len(self.channels)} session(s) - peak {self.session_peak}, last 5min {self.session_peak} \n"
            f"0 session(s) per Sec out of max {SESSIONS_PER_SECOND}, peak 0, last 5min 0 \n"
            f"{MAX_SESSIONS} session(s) max\n"
            "min idle cpu 0.00/99.00\n"
            "Current Stack Size/Max 240K/8192K\n"
        )

    def _sofia(self, argument: str) -> str:
        words = argument.split()
        if words == ["status"]:
            return sofia_status_text(list(self.gateways))
        if len(words) == 3 and words[:2] == ["status", "gateway"]:
            return sofia_gateway_text(words[2]) if words[2] in self.gateways else "Invalid Gateway!\n"
        return "-ERR Usage: sofia status [gateway <name>]\n"

    def _uuid_kill(self, argument: str) -> str:
        words = argument.split()
        if not words:
            return "-USAGE: <uuid> [cause]\n"
        cause = words[1] if len(words) > 1 else "NORMAL_CLEARING"
        greenlet = self.call_greenlets.get(words[0])
        leg = self.channels.get(words[0])
        if leg is None or greenlet is None or leg.ending:
            return "-ERR No such channel!\n"
        from switchsim.calls import HangupRequest

        greenlet.kill(HangupRequest(cause), block=False)
        return "+OK\n"

    def _hupall(self, argument: str) -> str:
        from switchsim.calls import HangupRequest

        cause = argument.split()[0] if argument.split() else "MANAGER_REQUEST"
        for uuid, greenlet in list(self.call_greenlets.items()):
            leg = self.channels.get(uuid)
            if leg is not None and not leg.ending:
                greenlet.kill(HangupRequest(cause), block=False)
        return "+OK hangup all channels with cause " + cause + "\n"

    def _show(self, argument: str) -> str:
        words = argument.split()
        if not words or words[0] != "channels":
            return "-USAGE: codec|endpoint|application|api|dialplan|file|timer|calls [count]|channels [count|like <match string>]|calls|detailed_calls|bridged_calls|detailed_bridged_calls|aliases|complete|chat|management|modules|nat_map|say|interfaces|interface_types|tasks|limits|status\n"  # noqa: E501
        as_json = words[-2:] == ["as", "json"]
        rows = [self._channel_row(leg) for leg in list(self.channels.values())]
        if as_json:
            if not rows:
                return json.dumps({"row_count": 0}, separators=(",", ":"))
            return json.dumps(
                {"row_count": len(rows), "rows": rows}, ensure_ascii=False, separators=(",", ":")
            )
        header = ",".join(CHANNEL_ROW_KEYS)
        lines = [
            header,
            *(",".join(row[key] for key in CHANNEL_ROW_KEYS) for row in rows),
            "",
            f"{len(rows)} total.",
            "",
        ]
        return "\n".join(lines)

    def _channel_row(self, leg: Leg) -> dict[str, str]:
        tokens = leg.tokens
        created = leg.times["created"]
        values = dict.fromkeys(CHANNEL_ROW_KEYS, "")
        values.update(
            uuid=leg.uuid,
            direction="outbound",
            created=local_stamp(created),
            created_epoch=str(created // 1_000_000),
            name=tokens.get("channel_name", ""),
            state="CS_EXECUTE" if leg.times["answered"] else "CS_CONSUME_MEDIA",
            callstate=leg.call_state,
            cid_name=tokens.get("cid_name", ""),
            cid_num=tokens.get("cid_number", ""),
            dest=tokens.get("number", ""),
            context="default",
            hostname=self.settings.hostname,
            callee_name="Outbound Call",
            callee_num=tokens.get("number", ""),
            call_uuid=leg.uuid,
            initial_cid_name=tokens.get("cid_name", ""),
            initial_cid_num=tokens.get("cid_number", ""),
            initial_dest=tokens.get("number", ""),
            initial_context="default",
        )
        if leg.application == "park":
            # FreeSWITCH 1.10.12 lists an answered, parked originate leg in
            # CS_CONSUME_MEDIA with the call state it had before the answer.
            values.update(state="CS_CONSUME_MEDIA", callstate=leg.answer_call_state)
        return values

    def _originate(self, argument: str, job_uuid: str | None) -> str | None:
        from switchsim.calls import start_call

        try:
            request = parse_originate(argument)
        except OriginateError as error:
            log.info("originate.rejected cause=%s detail=%s", error.cause, error)
            if error.cause == "USAGE":
                return str(error) + "\n"
            return f"-ERR {error.cause}\n"
        if request.gateway:
            self.gateways.setdefault(request.gateway)
        greenlet = start_call(self, request, job_uuid, argument)
        if job_uuid is not None:
            return None
        return greenlet.get()


SOFIA_RULE = "=" * 97 + "\n"
# The node's SIP profiles as ``sofia status`` lists them: (name, type, data, state).
SOFIA_PROFILES = (
    ("127.0.0.1", "alias", "internal", "ALIASED"),
    ("external", "profile", "sip:mod_sofia@127.0.0.1:5080", "RUNNING (0)"),
    ("internal", "profile", "sip:mod_sofia@127.0.0.1:5060", "RUNNING (0)"),
)


def _sofia_row(name: str, kind: str, data: str, state: str) -> str:
    return f"{name:>25}\t{kind:>7}\t{data:>42}\t{state}\n"


def sofia_status_text(gateways: list[str]) -> str:
    """Render ``sofia status`` in the layout of FreeSWITCH 1.10.12, gateways under ``external``."""
    rows = [_sofia_row("Name", "Type", "Data", "State"), SOFIA_RULE]
    for name, kind, data, state in SOFIA_PROFILES:
        rows.append(_sofia_row(name, kind, data, state))
        if name == "external":
            rows.extend(
                _sofia_row(f"external::{gateway}", "gateway", f"sip:{gateway}", "NOREG")
                for gateway in gateways
            )
    rows += [SOFIA_RULE, "2 profiles 1 alias\n"]
    return "".join(rows)


def sofia_gateway_text(gateway: str) -> str:
    """Render ``sofia status gateway <name>`` for a simulated gateway that needs no registration.

    NOTE: the field list follows FreeSWITCH 1.10's sofia status gateway output
    but was not recorded; the simulator fills only the fields it knows.
    """
    fields = (
        ("Name", gateway),
        ("Profile", "external"),
        ("Scheme", "Digest"),
        ("Realm", gateway),
        ("Username", "dialer"),
        ("Password", "no"),
        ("From", f"<sip:dialer@{gateway}>"),
        ("Contact", "<sip:gw+" + gateway + "@127.0.0.1:5080;transport=udp;gw=" + gateway + ">"),
        ("Exten", "dialer"),
        ("To", f"sip:dialer@{gateway}"),
        ("Proxy", f"sip:{gateway}"),
        ("Context", "public"),
        ("Expires", "3600"),
        ("Freq", "3600"),
        ("Ping", "0"),
        ("PingFreq", "0"),
        ("PingState", "0/0/0"),
        ("State", "NOREG"),
        ("Status", "UP"),
        ("CallsIN", "0"),
        ("CallsOUT", "0"),
        ("FailedCallsIN", "0"),
        ("FailedCallsOUT", "0"),
    )
    rule = "=" * 81 + "\n"
    return rule + "".join(f"{name}\t{value}\n" for name, value in fields) + rule


CHANNEL_ROW_KEYS = (
    "uuid",
    "direction",
    "created",
    "created_epoch",
    "name",
    "state",
    "cid_name",
    "cid_num",
    "ip_addr",
    "dest",
    "application",
    "application_data",
    "dialplan",
    "context",
    "read_codec",
    "read_rate",
    "read_bit_rate",
    "write_codec",
    "write_rate",
    "write_bit_rate",
    "secure",
    "hostname",
    "presence_id",
    "presence_data",
    "accountcode",
    "callstate",
    "callee_name",
    "callee_num",
    "callee_direction",
    "call_uuid",
    "sent_callee_name",
    "sent_callee_num",
    "initial_cid_name",
    "initial_cid_num",
    "initial_ip_addr",
    "initial_dest",
    "initial_dialplan",
    "initial_context",
)
