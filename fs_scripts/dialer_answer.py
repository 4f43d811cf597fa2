"""mod_python3 handler that acts on the AMD decision after a call is answered.

The dialplan runs ``<action application="python" data="dialer_answer"/>`` right
after answering-machine detection. mod_python3 reloads this module on every
call, so it keeps no module-level state and opens no database connection: the
campaign settings arrive as channel variables set at originate
(``dialer_queue``, ``dialer_machine_action``, ``dialer_voicemail_file``,
``dialer_safe_harbor_file``).

How the 2-second rule is bounded on a live call:

1. The greeting ends when AMD returns, which is when this handler starts.
2. A ``threading.Timer`` runs ``uuid_break <uuid>`` at greeting end + 2000 ms
   minus ``SAFE_HARBOR_START_MARGIN_MS``. In the 1.10 source (not recorded),
   mod_callcenter's wait loop treats the break like an exit key and returns
   with ``cc_cause=cancel`` and ``cc_cancel_reason=BREAK_OUT``. The timer can run while the
   ``callcenter`` app blocks, because mod_python3 releases the GIL inside
   session methods.
3. The queue's ``max-wait-time`` (3 s in freeswitch_conf) is only a backstop
   for a timer that never fired. mod_callcenter compares whole epoch seconds
   every 500 ms, so that limit fires between 2.0 and 3.5 s after the member
   joins. ``max-wait-time-with-no-agent`` is not used: it never fires while an
   agent is On Break and fires after twice the limit when all are Logged Out.
4. When ``callcenter`` returns with ``cc_cause=answered`` the agent leg is
   being bridged. The handler records the time and returns at once, because
   ``uuid_bridge`` needs this session thread back to complete the bridge.
5. Otherwise it records the time and plays the Safe Harbor message.
"""

import threading
import time

import freeswitch
from dialer_decision import (
    ACTION_VOICEMAIL_DROP,
    SAFE_HARBOR_DEADLINE_MS,
    Decision,
    abandonment_variables,
    decide_after_answer,
    remaining_wait_ms,
)

# Estimate of the time from uuid_break to the first Safe Harbor frame: the
# break lands on the next 20 ms frame, then mod_callcenter updates its
# database and this handler opens the file.
SAFE_HARBOR_START_MARGIN_MS = 250

DECISION_VARIABLES = (
    "amd_result",
    "amd_cause",
    "avmd_detect",
    "amd_status",
    "dialer_machine_action",
    "dialer_voicemail_file",
)

HANGUP_CAUSE = "NORMAL_CLEARING"


def handler(session, args):
    """Set the decision variables on the channel, then queue, drop voicemail or hang up."""
    greeting_end_ms = _now_ms()
    call_uuid = session.getVariable("uuid")
    decision = decide_after_answer({name: session.getVariable(name) for name in DECISION_VARIABLES})

    session.setVariable("dialer_amd_result", decision.amd_result)
    session.setVariable("dialer_decision", decision.action)
    session.setVariable("dialer_live", "true" if decision.live else "false")
    session.setVariable("dialer_greeting_end_ms", str(greeting_end_ms))
    _log("INFO", "answer.decided", call_uuid, f"action={decision.action} reason='{decision.reason}'")

    try:
        if decision.live:
            _serve_live_call(session, call_uuid, greeting_end_ms)
        else:
            _serve_machine(session, call_uuid, decision)
    except Exception as error:  # noqa: BLE001 - a live callee must never be left in silence
        _log("ERR", "answer.failed", call_uuid, f"error={error!r}")
        _end_after_failure(session, call_uuid, greeting_end_ms)


def _serve_live_call(session, call_uuid, greeting_end_ms):
    queue = session.getVariable("dialer_queue")
    wait_ms = remaining_wait_ms(greeting_end_ms, _now_ms()) - SAFE_HARBOR_START_MARGIN_MS

    bridged_ms = None
    if not queue:
        _log("ERR", "answer.queue_missing", call_uuid, "dialer_queue is not set; set it at originate")
    elif wait_ms <= 0:
        _log("WARNING", "answer.queue_skipped", call_uuid, f"remaining_ms={wait_ms + SAFE_HARBOR_START_MARGIN_MS}")
    else:
        bridged_ms = _wait_in_queue(session, call_uuid, queue, wait_ms)

    if bridged_ms is not None:
        session.setVariable("dialer_agent", _agent_name(session))
        _set_variables(session, abandonment_variables(greeting_end_ms, bridged_ms, None))
        return

    safe_harbor_ms = None
    if session.ready():
        safe_harbor_ms = _play_safe_harbor(session, call_uuid, greeting_end_ms)
    if safe_harbor_ms is None:
        _set_variables(session, abandonment_variables(greeting_end_ms, None, None))
    if session.ready():
        session.hangup(HANGUP_CAUSE)


def _wait_in_queue(session, call_uuid, queue, wait_ms):
    """Run the callcenter app for at most wait_ms and return the epoch ms of the agent bridge, or None."""
    timer = threading.Timer(wait_ms / 1000.0, _break_queue_wait, args=(call_uuid,))
    timer.daemon = True
    timer.start()
    try:
        session.execute("callcenter", queue)
    finally:
        timer.cancel()
    returned_ms = _now_ms()

    cc_cause = session.getVariable("cc_cause")
    if cc_cause is not None and cc_cause.lower() == "answered":
        return returned_ms

    reason = session.getVariable("cc_cancel_reason")
    _log("INFO", "answer.queue_left", call_uuid, f"queue={queue} cc_cause={cc_cause} cc_cancel_reason={reason}")
    return None


def _break_queue_wait(call_uuid):
    # NOTE: an agent found in the last few ms before this break races it.
    # What the break does to a member that uuid_bridge is moving into the
    # bridge was not tried on a real node.
    reply = freeswitch.API().executeString(f"uuid_break {call_uuid}")
    _log("INFO", "answer.queue_deadline", call_uuid, f"reply={(reply or '').strip()}")


def _agent_name(session):
    """Return the mod_callcenter agent name, read from the agent leg when the member lacks it."""
    # FreeSWITCH 1.10.12 sets cc_agent on the member only after the bridge, but
    # cc_agent_uuid is already there when the callcenter app returns.
    agent = session.getVariable("cc_agent")
    if agent:
        return agent

    agent_uuid = session.getVariable("cc_agent_uuid")
    if not agent_uuid:
        return ""
    reply = (freeswitch.API().executeString(f"uuid_getvar {agent_uuid} cc_agent") or "").strip()
    if reply.startswith("-ERR") or reply == "_undef_":
        return ""
    return reply


def _play_safe_harbor(session, call_uuid, greeting_end_ms):
    """Play the Safe Harbor message and return the epoch ms it started, or None when no file is set."""
    path = session.getVariable("dialer_safe_harbor_file")
    if not path:
        _log("ERR", "answer.safe_harbor_missing", call_uuid, "dialer_safe_harbor_file is not set; set it at originate")
        return None

    started_ms = _now_ms()
    # The variables go on the channel before playback so that the CDR has
    # them even when the callee hangs up during the message.
    _set_variables(session, abandonment_variables(greeting_end_ms, None, started_ms))
    session.streamFile(path)
    late_ms = started_ms - greeting_end_ms - SAFE_HARBOR_DEADLINE_MS
    if late_ms > 0:
        _log("WARNING", "answer.safe_harbor_late", call_uuid, f"late_ms={late_ms}")
    return started_ms


def _end_after_failure(session, call_uuid, greeting_end_ms):
    """Play the Safe Harbor message and hang up, unless an agent already took the call."""
    cc_cause = session.getVariable("cc_cause")
    if not session.ready() or (cc_cause is not None and cc_cause.lower() == "answered"):
        return
    session.setVariable("dialer_abandoned", "true")
    path = session.getVariable("dialer_safe_harbor_file")
    if path:
        session.setVariable("dialer_safe_harbor_ms", str(_now_ms()))
        session.streamFile(path)
    session.hangup(HANGUP_CAUSE)


def _serve_machine(session, call_uuid, decision: Decision):
    session.setVariable("dialer_abandoned", "false")
    if decision.action == ACTION_VOICEMAIL_DROP:
        # NOTE: the message starts right after detection. With mod_amd alone
        # the greeting may still be running, so the start of the message can
        # be lost before the machine records.
        session.streamFile(session.getVariable("dialer_voicemail_file"))
    if session.ready():
        session.hangup(HANGUP_CAUSE)


def _set_variables(session, variables):
    for name, value in variables.items():
        session.setVariable(name, value)


def _now_ms():
    return time.time_ns() // 1_000_000


def _log(level, event, call_uuid, fields):
    freeswitch.consoleLog(level, f"dialer_answer {event} call_uuid={call_uuid} {fields}\n")
