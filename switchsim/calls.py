"""Call flows of the simulated node: originate, callee outcomes, queue, hangup."""

from __future__ import annotations

import logging
import random
import time
import uuid as uuid_module

import gevent

from switchsim.callees import plan_call
from switchsim.events import Leg, now_us
from switchsim.originate import OriginateRequest

log = logging.getLogger(__name__)

# Hangup cause and event template of each unanswered outcome.
FAILURES = {
    "busy": ("USER_BUSY", "hangup.busy"),
    "failure": ("NORMAL_TEMPORARY_FAILURE", "hangup.failure"),
    "unreachable": ("NORMAL_TEMPORARY_FAILURE", "hangup.unreachable"),
    "no_answer": ("NO_ANSWER", "hangup.no_answer"),
}
Q850 = {
    "NORMAL_CLEARING": "16",
    "USER_BUSY": "17",
    "NO_ANSWER": "19",
    "NORMAL_TEMPORARY_FAILURE": "41",
    "ORIGINATOR_CANCEL": "487",
    "MANAGER_REQUEST": "0",
    "CALL_REJECTED": "21",
}
DEFAULT_ORIGINATE_TIMEOUT_S = 60


class HangupRequest(gevent.GreenletExit):
    """Raised inside a call greenlet by uuid_kill or hupall."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


def mask(number: str) -> str:
    return "*" * max(0, len(number) - 4) + number[-4:]


def start_call(node, request: OriginateRequest, job_uuid: str | None, argument: str) -> gevent.Greenlet:
    """Start the greenlet that plays one originate; it returns the job body."""
    call = Call(node, request, job_uuid, argument)
    greenlet = gevent.spawn(call.run)
    node.call_greenlets[call.leg.uuid] = greenlet
    greenlet.link(lambda _: node.call_greenlets.pop(call.leg.uuid, None))
    return greenlet


class Call:
    """One originated call (member leg, and the agent leg once bridged)."""

    def __init__(self, node, request: OriginateRequest, job_uuid: str | None, argument: str) -> None:
        self.node = node
        self.request = request
        self.job_uuid = job_uuid
        self.argument = argument
        self.job_sent = False
        self.job_body = ""
        variables = request.variable_map
        call_uuid = variables.get("origination_uuid") or str(uuid_module.uuid4())
        number = request.number
        node.attempts[number] = node.attempts.get(number, 0) + 1
        self.plan = plan_call(node.profile, node.settings.seed, number, node.attempts[number])
        self.timeout_s = _int(variables.get("originate_timeout"), DEFAULT_ORIGINATE_TIMEOUT_S)
        self.ignore_early_media = variables.get("ignore_early_media", "").lower() == "true"
        self.leg = Leg(
            uuid=call_uuid,
            tokens={
                "uuid": call_uuid,
                "number": number,
                "target": request.target,
                "channel_name": request.dial_string,
                "cid_number": variables.get("origination_caller_id_number", "0000000000"),
                "cid_name": variables.get("origination_caller_id_name", "FreeSWITCH"),
                "job_uuid": job_uuid or "",
            },
            variables=request.variables,
        )
        self.agent_leg: Leg | None = None
        self.agent = None
        self.member = None
        self.applications: list[tuple[str, str]] = []
        # Monotonic time the callee sends BYE in application flows (set at answer).
        self.callee_bye_at = float("inf")

    # -- background job ----------------------------------------------------

    def send_job(self, body: str) -> None:
        if self.job_sent:
            return
        self.job_sent = True
        self.job_body = body
        if self.job_uuid is None:
            return
        overrides = {
            "Job-UUID": self.job_uuid,
            "Job-Command": "originate",
            "Job-Command-Arg": self.argument,
        }
        self.node.emit("background_job", overrides=overrides, body=body)

    # -- flow --------------------------------------------------------------

    def run(self) -> str:
        node, leg = self.node, self.leg
        log.info(
            "call.start call_uuid=%s number=%s outcome=%s",
            leg.uuid,
            mask(self.request.number),
            self.plan.outcome,
        )
        node.add_channel(leg)
        try:
            leg.mark("created")
            node.emit("create", leg)
            self.ring()
            if leg.times["answered"]:
                self.after_answer()
        except HangupRequest as request:
            self.hangup_local(request.cause)
        except Exception:
            log.exception("call.failed call_uuid=%s", leg.uuid)
            if not leg.times["hangup"]:
                self.hangup_local("NORMAL_TEMPORARY_FAILURE")
        finally:
            node.remove_channel(leg)
            if self.agent_leg is not None:
                node.remove_channel(self.agent_leg)
        return self.job_body

    def ring(self) -> None:
        node, leg, plan = self.node, self.leg, self.plan
        outcome = plan.outcome
        if outcome in ("busy", "failure", "unreachable"):
            node.sleep(plan.ring_s)
            self.fail(outcome)
            return
        leg.call_state = "RINGING" if not plan.early_media else "EARLY"
        if plan.early_media:
            leg.mark("progress_media")
            node.emit("progress_media", leg)
            if not self.ignore_early_media:
                self.send_job(f"+OK {leg.uuid}\n")
        else:
            leg.mark("progress")
            node.emit("progress", leg)
        if outcome == "no_answer" or plan.ring_s >= self.timeout_s:
            node.sleep(self.timeout_s)
            self.fail("no_answer")
            return
        node.sleep(plan.ring_s)
        leg.mark("answered")
        # After early media the answer event differs: with the job already
        # returned, the application has started and the caller ID has flipped.
        key = "answer"
        if plan.early_media:
            key = "answer.early_ignored" if self.ignore_early_media else "answer.early"
        # CHANNEL_ANSWER still carries the call state from before the answer.
        node.emit(key, leg, overrides={"Channel-Call-State": leg.call_state})
        leg.answer_call_state = leg.call_state
        leg.call_state = "ACTIVE"
        self.callee_bye_at = time.monotonic() + plan.hold_s / node.settings.speed
        self.send_job(f"+OK {leg.uuid}\n")

    def fail(self, outcome: str) -> None:
        """End an unanswered call the way the recordings order it."""
        cause, key = FAILURES[outcome]
        node, leg = self.node, self.leg
        leg.ending = True
        if outcome == "no_answer" and not (leg.times["progress"] or leg.times["progress_media"]):
            overrides = {"Channel-Call-State": "DOWN"}
        else:
            overrides = {}
        leg.mark("hangup")
        leg.hangup_cause = cause
        node.emit(key, leg, overrides=overrides)
        if outcome in ("unreachable", "no_answer"):
            self.send_job(f"-ERR {cause}\n")
        complete = node.renderer.render(key.replace("hangup.", "hangup_complete."), leg, overrides=None)
        self.post_cdr(leg, complete, "cdr.failed")
        node.publish(node.renderer.restamp(complete))
        self.send_job(f"-ERR {cause}\n")
        log.info("call.end call_uuid=%s cause=%s", leg.uuid, cause)

    def after_answer(self) -> None:
        request = self.request
        if request.application:
            if self.run_application(request.application, request.application_arg):
                self.hangup_local("NORMAL_CLEARING")
        elif request.dialplan == "inline":
            self.run_inline(request.extension)
        else:
            # NOTE: any other extension (``dialer XML dialer`` or an XML
            # extension) runs the dialer context; other dialplans are not simulated.
            self.run_dialer_context()

    def run_inline(self, extension: str) -> None:
        """Run an inline dialplan ``app:arg,app:arg``, then hang up like FreeSWITCH does."""
        # The originate transfers the answered leg into the inline dialplan.
        self.leg.set_runtime("max_forwards", "70")
        self.leg.set_runtime(
            "transfer_history", f"{int(time.time())}:{self.leg.uuid}:bl_xfer:{extension}/default/inline"
        )
        self.leg.set_runtime(
            "transfer_source", f"{int(time.time())}:{self.leg.uuid}:bl_xfer:{extension}/default/inline"
        )
        for item in extension.split(","):
            name, _, argument = item.partition(":")
            if not self.run_application(name, argument):
                return
        self.hangup_local("NORMAL_CLEARING")

    def run_application(self, name: str, argument: str) -> bool:
        """Run one dialplan application; return False once the channel has hung up."""
        node, leg = self.node, self.leg
        self.applications.append((name, argument))
        leg.application = name
        if name == "callcenter":
            self.enter_queue(argument, dialer=False)
            return not leg.times["hangup"]
        overrides = {"Application": name, "Application-Data": argument}
        node.emit("execute.app", leg, overrides=overrides)
        if name == "park":
            self.wait_callee(float("inf"))
            self.hangup_remote()
            return False
        if name == "sleep" and not self.wait_callee(_int(argument, 0) / 1000):
            self.hangup_remote()
            return False
        node.emit("execute_complete.app", leg, overrides={**overrides, "Application-Response": "_none_"})
        return True

    def wait_callee(self, simulated_s: float) -> bool:
        """Sleep ``simulated_s`` scaled; return False when the callee hangs up first (``plan.hold_s``)."""
        wall_s = simulated_s / self.node.settings.speed
        remaining = self.callee_bye_at - time.monotonic()
        if remaining <= wall_s:
            gevent.sleep(max(0.0, remaining))
            return False
        gevent.sleep(wall_s)
        return True

    # -- dialer context ----------------------------------------------------

    def run_dialer_context(self) -> None:
        """Run what the ``dialer`` dialplan runs: AMD, the decision, then queue or hangup."""
        from switchsim.decision import decide

        node, leg, plan = self.node, self.leg, self.plan
        self.applications.append(("python", "dialer_answer"))
        node.sleep(plan.greeting_s)
        greeting_end_ms = now_us() // 1000
        amd = {"person": ("HUMAN", "HUMAN"), "machine": ("MACHINE", "LONGGREETING")}.get(
            plan.amd_result, ("NOTSURE", "TOOLONG")
        )
        leg.set_runtime("amd_result", amd[0])
        leg.set_runtime("amd_cause", amd[1])
        variables = {**self.request.variable_map, **leg.runtime}
        decision = decide(variables)
        leg.set_runtime("dialer_amd_result", decision.amd_result)
        leg.set_runtime("dialer_decision", decision.action)
        leg.set_runtime("dialer_live", "true" if decision.live else "false")
        leg.set_runtime("dialer_greeting_end_ms", str(greeting_end_ms))
        log.info(
            "call.decision call_uuid=%s amd_result=%s action=%s reason=%s",
            leg.uuid,
            decision.amd_result,
            decision.action,
            decision.reason,
        )
        if decision.action == "queue":
            queue = self.request.variable_map.get("dialer_queue", "dialer_queue")
            self.enter_queue(queue, dialer=True, greeting_end_ms=greeting_end_ms)
        elif decision.action == "voicemail_drop":
            self.applications.append(("playback", self.request.variable_map.get("dialer_voicemail_file", "")))
            node.sleep(node.settings.voicemail_play_s)
            self.hangup_local("NORMAL_CLEARING")
        else:
            self.hangup_local("NORMAL_CLEARING")

    # -- queue -------------------------------------------------------------

    def enter_queue(self, queue: str, dialer: bool, greeting_end_ms: int = 0) -> None:
        from switchsim.callcenter import Member

        node, leg = self.node, self.leg
        center = node.callcenter
        joined = int(time.time())
        member = Member(
            queue=queue, session_uuid=leg.uuid, cid_number=self.request.number, joined_epoch=joined
        )
        self.member = member
        center.members.append(member)
        leg.tokens["queue"] = queue
        leg.tokens["cc_member_uuid"] = member.uuid
        node.emit("execute.callcenter", leg, overrides={"Application-Data": queue})
        leg.set_runtime("cc_side", "member")
        leg.set_runtime("cc_member_uuid", member.uuid)
        leg.set_runtime("cc_queue_joined_epoch", str(joined))
        leg.set_runtime("cc_queue", queue)
        node.emit("cc.member-queue-start", leg, overrides=self._cc_member_headers("member-queue-start"))
        center.notify(
            "members-count",
            {"CC-Queue": queue, "CC-Count": str(center.waiting_count(queue)), "CC-Selection": "Single-Queue"},
        )
        agent, reason = self._wait_for_agent(queue, dialer)
        if agent is not None:
            self.bridge_agent(queue, agent, dialer)
        elif reason == "HANGUP":
            self.hangup_in_queue(queue)
        else:
            self.leave_queue(queue, reason)
            if dialer:
                self.play_safe_harbor(queue)

    def _cc_member_headers(self, action: str, **extra: str) -> dict[str, str]:
        member = self.member
        values = {
            "CC-Queue": member.queue,
            "CC-Action": action,
            "CC-Member-UUID": member.uuid,
            "CC-Member-Session-UUID": member.session_uuid,
            "CC-Member-CID-Name": "Outbound Call",
            "CC-Member-CID-Number": member.cid_number,
            "CC-Member-Joined-Time": str(member.joined_epoch),
        }
        values.update(extra)
        return values

    def _wait_for_agent(self, queue: str, dialer: bool):
        """Wait for an agent; return ``(agent, "")`` or ``(None, why the wait ended)``.

        The reasons are mod_callcenter's cancel reasons, plus ``HANGUP`` when
        the callee hung up. The dialer context bounds the wait itself: its
        script sends ``uuid_break`` at the Safe Harbor deadline (``BREAK_OUT``),
        so an On Break agent cannot hold a dialer call. Outside the dialer
        context only the queue's limits and the callee end the wait.
        """
        from switchsim.decision import safe_harbor_deadline_ms

        node = self.node
        center, settings = node.callcenter, node.settings
        now = time.monotonic()
        deadlines = {"HANGUP": float("inf") if dialer else self.callee_bye_at}
        if dialer:
            deadlines["BREAK_OUT"] = now + safe_harbor_deadline_ms() / 1000 / settings.speed
        if settings.queue_max_wait_s > 0:
            deadlines["TIMEOUT"] = now + settings.queue_max_wait_s / settings.speed
        no_agent_since = None
        while True:
            agent = center.pick_agent(queue)
            if agent is not None:
                return agent, ""
            now = time.monotonic()
            if settings.queue_no_agent_wait_s > 0:
                # On Break agents count as present, so only all-Logged-Out tiers start this timer.
                if center.has_agents(queue):
                    no_agent_since = None
                    deadlines.pop("NO_AGENT_TIMEOUT", None)
                elif no_agent_since is None:
                    no_agent_since = now
                    deadlines["NO_AGENT_TIMEOUT"] = now + settings.queue_no_agent_wait_s / settings.speed
            reason, deadline = min(deadlines.items(), key=lambda item: item[1])
            if now >= deadline:
                return None, reason
            center.changed.wait(timeout=min(deadline - now, 1.0))

    def leave_queue(self, queue: str, reason: str) -> None:
        """End the member's wait while the channel is up; the callcenter app returns."""
        node, leg, member = self.node, self.leg, self.member
        now_epoch = int(time.time())
        member.state, member.abandoned_epoch = "Abandoned", now_epoch
        node.emit("cc.member-queue-end.cancel", leg, overrides=self._cc_cancel_headers(reason, now_epoch))
        self._set_cancel_variables(reason, now_epoch)
        self._notify_members_count(queue)
        node.emit(
            "execute_complete.callcenter.cancel",
            leg,
            overrides={"Application-Data": queue, "Application-Response": "_none_"},
        )
        log.info("call.queue_left call_uuid=%s queue=%s reason=%s", leg.uuid, queue, reason)

    def hangup_in_queue(self, queue: str) -> None:
        """The callee hung up while waiting: ``BREAK_OUT`` between CHANNEL_HANGUP and its COMPLETE."""
        node, leg, member = self.node, self.leg, self.member
        leg.ending = True
        self._emit_hangup(leg, "hangup.answered", {}, "NORMAL_CLEARING")
        now_epoch = int(time.time())
        member.state, member.abandoned_epoch = "Abandoned", now_epoch
        node.emit(
            "cc.member-queue-end.hangup", leg, overrides=self._cc_cancel_headers("BREAK_OUT", now_epoch)
        )
        self._set_cancel_variables("BREAK_OUT", now_epoch)
        self._notify_members_count(queue)
        node.emit(
            "execute_complete.callcenter.hangup",
            leg,
            overrides={"Application-Data": queue, "Application-Response": "_none_"},
        )
        self._complete_hangup(leg, "hangup_complete.answered", "cdr.answered", {}, "NORMAL_CLEARING")
        log.info("call.queue_left call_uuid=%s queue=%s reason=BREAK_OUT", leg.uuid, queue)

    def _set_cancel_variables(self, reason: str, now_epoch: int) -> None:
        # mod_callcenter sets these after it fires member-queue-end.
        self.leg.set_runtime("cc_queue_canceled_epoch", str(now_epoch))
        self.leg.set_runtime("cc_cause", "cancel")
        self.leg.set_runtime("cc_cancel_reason", reason)

    def _cc_cancel_headers(self, reason: str, now_epoch: int) -> dict[str, str]:
        return self._cc_member_headers(
            "member-queue-end",
            **{
                "CC-Member-Leaving-Time": str(now_epoch),
                "CC-Cause": "Cancel",
                "CC-Cancel-Reason": reason,
            },
        )

    def _notify_members_count(self, queue: str) -> None:
        center = self.node.callcenter
        center.notify(
            "members-count",
            {"CC-Queue": queue, "CC-Count": str(center.waiting_count(queue)), "CC-Selection": "Single-Queue"},
        )

    def play_safe_harbor(self, queue: str) -> None:
        """No agent in time on a dialer call: play the Safe Harbor message and hang up."""
        node, leg = self.node, self.leg
        leg.set_runtime("dialer_safe_harbor_ms", str(now_us() // 1000))
        leg.set_runtime("dialer_abandoned", "true")
        self.applications.append(("playback", self.request.variable_map.get("dialer_safe_harbor_file", "")))
        log.info("call.abandoned call_uuid=%s queue=%s", leg.uuid, queue)
        node.sleep(node.settings.safe_harbor_play_s)
        self.hangup_local("NORMAL_CLEARING")

    def bridge_agent(self, queue: str, agent, dialer: bool) -> None:
        node, leg, member = self.node, self.leg, self.member
        center = node.callcenter
        self.agent = agent
        member.state, member.serving_agent = "Trying", agent.name
        agent.last_offered_call = int(time.time())
        center.set_state(agent, "Receiving")
        offering = self._cc_member_headers(
            "agent-offering",
            **{"CC-Agent": agent.name, "CC-Agent-Type": agent.type, "CC-Agent-System": "single_box"},
        )
        offering.pop("CC-Member-Joined-Time")
        center.notify("agent-offering", offering)
        agent_leg = self._create_agent_leg(queue, agent)
        node.sleep(node.settings.agent_ring_s)
        agent_leg.mark("answered")
        agent_leg.call_state = "ACTIVE"
        node.emit("agent.answer", agent_leg)
        called = str(agent.last_offered_call)
        answered_epoch = int(time.time())
        self.bridge_values = {
            "CC-Agent": agent.name,
            "CC-Agent-System": "single_box",
            "CC-Agent-UUID": agent_leg.uuid,
            "CC-Agent-Called-Time": called,
            "CC-Agent-Answered-Time": str(answered_epoch),
        }
        node.emit(
            "cc.bridge-agent-start",
            agent_leg,
            overrides=self._cc_member_headers("bridge-agent-start", **self.bridge_values),
        )
        member.state, member.bridge_epoch = "Answered", answered_epoch
        center.notify(
            "members-count",
            {"CC-Queue": queue, "CC-Count": str(center.waiting_count(queue)), "CC-Selection": "Single-Queue"},
        )
        leg.set_runtime("cc_agent", agent.name)
        leg.set_runtime("cc_queue_answered_epoch", str(answered_epoch))
        node.emit("execute_complete.callcenter", leg, overrides={"Application-Data": queue})
        bridged = now_us()
        leg.mark("bridged", bridged)
        agent_leg.mark("bridged", bridged)
        leg.other, agent_leg.other = agent_leg, leg
        node.emit("execute.uuid_bridge", leg, agent_leg)
        node.emit("agent.execute.uuid_bridge", agent_leg, leg)
        node.emit("bridge", leg, agent_leg)
        agent.last_bridge_start = answered_epoch
        center.set_state(agent, "In a queue call")
        if dialer:
            leg.set_runtime("dialer_bridged_ms", str(bridged // 1000))
            leg.set_runtime("dialer_abandoned", "false")
            leg.set_runtime("dialer_agent", agent.name)
        log.info("call.bridged call_uuid=%s agent=%s agent_uuid=%s", leg.uuid, agent.name, agent_leg.uuid)
        self.talk()

    def _create_agent_leg(self, queue: str, agent) -> Leg:
        node, leg = self.node, self.leg
        agent_uuid = str(uuid_module.uuid4())
        contact = agent.contact.split("]", 1)[-1] or f"sofia/external/{agent.name}"
        exported = [
            name.strip()
            for name in self.request.variable_map.get("cc_export_vars", "").split(",")
            if name.strip()
        ]
        agent_leg = Leg(
            uuid=agent_uuid,
            tokens={
                **leg.tokens,
                "agent_uuid": agent_uuid,
                "agent_channel_name": contact,
                "agent_target": contact.rsplit("/", 1)[-1],
                "agent": agent.name,
            },
            variables=[
                (name, self.request.variable_map[name])
                for name in exported
                if name in self.request.variable_map
            ],
        )
        agent_leg.runtime.update(
            {
                "cc_queue": queue,
                "cc_member_uuid": self.member.uuid,
                "cc_member_session_uuid": leg.uuid,
                "cc_member_pre_answer_uuid": self.member.uuid,
                "cc_agent": agent.name,
                "cc_side": "agent",
            }
        )
        self.agent_leg = agent_leg
        # Member-leg events of the bridge (Bridge-B-Unique-ID, Other-Leg-*) name the agent leg.
        for key in ("agent_uuid", "agent_channel_name", "agent_target", "agent"):
            leg.tokens[key] = agent_leg.tokens[key]
        node.add_channel(agent_leg)
        agent_leg.mark("created")
        node.emit("agent.create", agent_leg)
        agent_leg.mark("progress")
        agent_leg.call_state = "RINGING"
        node.emit("agent.progress", agent_leg)
        return agent_leg

    def talk(self) -> None:
        node = self.node
        node.sleep(self.plan.talk_s)
        # Seeded by the channel UUID, so a replayed call ends the same way.
        agent_ends = random.Random(self.leg.uuid).random() < node.settings.agent_hangup_share
        self.end_bridge(agent_ends=agent_ends)

    # -- hangup ------------------------------------------------------------

    def end_bridge(self, agent_ends: bool, cause: str = "NORMAL_CLEARING") -> None:
        """Hang up both legs of a bridged call; ``agent_ends`` picks who sent the BYE."""
        node, leg, agent_leg = self.node, self.leg, self.agent_leg
        leg.ending = agent_leg.ending = True
        if agent_ends:
            self._hangup_leg(
                agent_leg, "agent.hangup", "cdr.agent", {"variable_sip_hangup_disposition": "recv_bye"}, cause
            )
            node.emit("unbridge", leg, agent_leg)
            leg.set_runtime("cc_cause", "answered")
            self._hangup_leg(
                leg, "hangup.bridged", "cdr.member", {"variable_sip_hangup_disposition": "send_bye"}, cause
            )
        else:
            node.emit("unbridge", leg, agent_leg)
            leg.set_runtime("cc_cause", "answered")
            self._hangup_leg(
                leg, "hangup.bridged", "cdr.member", {"variable_sip_hangup_disposition": "recv_bye"}, cause
            )
            self._hangup_leg(
                agent_leg, "agent.hangup", "cdr.agent", {"variable_sip_hangup_disposition": "send_bye"}, cause
            )
        self._finish_queue_bridge()

    def _finish_queue_bridge(self) -> None:
        node, agent, member = self.node, self.agent, self.member
        center = node.callcenter
        ended = int(time.time())
        values = {
            **self.bridge_values,
            "CC-Hangup-Cause": "SUCCESS",
            "CC-Agent-Bridged": "true",
            "CC-Bridge-Terminated-Time": str(ended),
        }
        node.emit(
            "cc.bridge-agent-end",
            self.agent_leg,
            overrides=self._cc_member_headers("bridge-agent-end", **values),
        )
        values.pop("CC-Agent-Bridged")
        values.pop("CC-Bridge-Terminated-Time")
        values.update({"CC-Cause": "Terminated", "CC-Member-Leaving-Time": str(ended)})
        node.emit(
            "cc.member-queue-end.terminated",
            self.leg,
            overrides=self._cc_member_headers("member-queue-end", **values),
        )
        if member in center.members:
            center.members.remove(member)
        agent.last_bridge_end = ended
        agent.calls_answered += 1
        agent.talk_time += max(0, ended - agent.last_bridge_start)
        if agent.wrap_up_time > 0:
            center.set_state(agent, "Idle")
            agent.ready_at = time.monotonic() + agent.wrap_up_time / node.settings.speed
            gevent.spawn_later(agent.wrap_up_time / node.settings.speed, self._end_wrap_up, agent)
        else:
            center.set_state(agent, "Waiting")

    def _end_wrap_up(self, agent) -> None:
        if agent.state == "Idle" and agent.name in self.node.callcenter.agents:
            self.node.callcenter.set_state(agent, "Waiting")

    def hangup_remote(self) -> None:
        """The callee hung up an answered call (``recv_bye``)."""
        self.leg.ending = True
        self._hangup_leg(self.leg, "hangup.answered", "cdr.answered", {}, "NORMAL_CLEARING")

    def hangup_local(self, cause: str) -> None:
        """The node hangs up (app ended, uuid_kill, hupall): ``send_bye`` or ``send_cancel``."""
        leg = self.leg
        if leg.times["hangup"]:
            return
        if self.agent_leg is not None and not self.agent_leg.times["hangup"] and leg.times["bridged"]:
            self.end_bridge(agent_ends=False, cause=cause)
            return
        leg.ending = True
        if not leg.times["answered"]:
            self.fail_cancel(cause)
            return
        overrides = {
            "Hangup-Cause": cause,
            "variable_hangup_cause": cause,
            "variable_hangup_cause_q850": Q850.get(cause, "16"),
            "variable_sip_hangup_disposition": "send_bye",
        }
        if self.member is not None and self.member.state not in ("Abandoned",) and self.agent_leg is None:
            self.member.state = "Abandoned"
            self.member.abandoned_epoch = int(time.time())
        self._hangup_leg(leg, "hangup.local", "cdr.answered", overrides, cause)

    def fail_cancel(self, cause: str) -> None:
        node, leg = self.node, self.leg
        leg.mark("hangup")
        overrides = {
            "Hangup-Cause": cause,
            "variable_hangup_cause": cause,
            "variable_hangup_cause_q850": Q850.get(cause, "16"),
        }
        node.emit("hangup.no_answer", leg, overrides=overrides)
        complete = node.renderer.render("hangup_complete.no_answer", leg, overrides=overrides)
        self.post_cdr(leg, complete, "cdr.failed")
        node.publish(node.renderer.restamp(complete))
        self.send_job(f"-ERR {cause}\n")

    def _hangup_leg(self, target: Leg, key: str, cdr_key: str, overrides: dict[str, str], cause: str) -> None:
        self._emit_hangup(target, key, overrides, cause)
        self._complete_hangup(target, key.replace("hangup", "hangup_complete"), cdr_key, overrides, cause)

    def _emit_hangup(self, target: Leg, key: str, overrides: dict[str, str], cause: str) -> None:
        target.mark("hangup")
        target.hangup_cause = cause
        target.call_state = "HANGUP"
        self.node.emit(key, target, target.other, overrides=overrides)

    def _complete_hangup(
        self, target: Leg, key: str, cdr_key: str, overrides: dict[str, str], cause: str
    ) -> None:
        """Post the CDR through its whole retry cycle, then fire CHANNEL_HANGUP_COMPLETE."""
        node = self.node
        complete = node.renderer.render(key, target, target.other, overrides=overrides)
        self.post_cdr(target, complete, cdr_key)
        node.publish(node.renderer.restamp(complete))
        node.remove_channel(target)
        log.info("call.end call_uuid=%s cause=%s", target.uuid, cause)

    def post_cdr(self, leg: Leg, complete_headers, cdr_key: str) -> None:
        poster = self.node.cdr_poster
        if poster is None or not self.node.settings.cdr_enabled:
            return
        applications = self.applications if leg is self.leg else []
        poster.post_and_wait(self.node, leg, complete_headers, cdr_key, applications)


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text else default
    except ValueError:
        return default
