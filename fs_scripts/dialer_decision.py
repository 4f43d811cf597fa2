"""Answering-machine and Safe Harbor decisions for an answered outbound call.

Pure functions over channel variables and epoch milliseconds, standard library
only, because this file is copied to the media node's mod_python3 script
directory and is also imported by the switch simulator.

Detectors read (FreeSWITCH 1.10 module variables):

- mod_amd: ``amd_result`` = HUMAN | MACHINE | NOTSURE, ``amd_cause`` names the rule.
- mod_avmd: ``avmd_detect`` = TRUE when a voicemail beep was found; absent otherwise.
- mod_com_amd: ``amd_status`` = person | machine.

Tokens match exactly and case-insensitively. A call goes to the machine
treatment only when at least one detector reports a machine and none reports a
person; everything else (no result, NOTSURE, garbage, conflicting results) is
treated as a live person, because hanging up on a person is an abandoned call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

SAFE_HARBOR_DEADLINE_MS = 2000

AMD_PERSON = "person"
AMD_MACHINE = "machine"
AMD_UNKNOWN = "unknown"

ACTION_QUEUE = "queue"
ACTION_HANGUP = "hangup"
ACTION_VOICEMAIL_DROP = "voicemail_drop"

MACHINE_ACTIONS = (ACTION_HANGUP, ACTION_VOICEMAIL_DROP)

_AMD_RESULT_VERDICTS = {"human": AMD_PERSON, "machine": AMD_MACHINE, "notsure": AMD_UNKNOWN}
_AMD_STATUS_VERDICTS = {"person": AMD_PERSON, "machine": AMD_MACHINE}


@dataclass(frozen=True)
class Decision:
    """Outcome of answering-machine detection and the action taken on the call."""

    amd_result: str  # 'person' | 'machine' | 'unknown'
    action: str  # 'queue' | 'hangup' | 'voicemail_drop'
    live: bool  # True for person and unknown
    reason: str  # e.g. 'amd_result=MACHINE amd_cause=LONGGREETING'


def decide_after_answer(variables: Mapping[str, str | None]) -> Decision:
    """Decide what to do with an answered call from its AMD channel variables.

    ``variables`` maps channel variable names to values, with None or a missing
    key for unset variables (``session.getVariable`` returns None).
    """
    verdicts, evidence = _collect_verdicts(variables)
    amd_result = _combine_verdicts(verdicts)
    reason = " ".join(evidence) if evidence else "no AMD result"

    if amd_result != AMD_MACHINE:
        if AMD_PERSON in verdicts and AMD_MACHINE in verdicts:
            reason += " (conflicting results, treated as a person)"
        return Decision(amd_result=amd_result, action=ACTION_QUEUE, live=True, reason=reason)

    action, action_note = _machine_action(variables)
    if action_note:
        reason += " " + action_note
    return Decision(amd_result=AMD_MACHINE, action=action, live=False, reason=reason)


def _collect_verdicts(variables: Mapping[str, str | None]) -> tuple[list[str], list[str]]:
    """Return one verdict per detector that left a variable, and the evidence text."""
    verdicts: list[str] = []
    evidence: list[str] = []

    amd_result = variables.get("amd_result")
    if amd_result is not None:
        verdicts.append(_AMD_RESULT_VERDICTS.get(amd_result.lower(), AMD_UNKNOWN))
        evidence.append(f"amd_result={amd_result}")
        amd_cause = variables.get("amd_cause")
        if amd_cause is not None:
            evidence.append(f"amd_cause={amd_cause}")

    avmd_detect = variables.get("avmd_detect")
    if avmd_detect is not None:
        # mod_avmd only detects a beep, so FALSE is no evidence of a person.
        if avmd_detect.lower() == "true":
            verdicts.append(AMD_MACHINE)
        elif avmd_detect.lower() != "false":
            verdicts.append(AMD_UNKNOWN)
        evidence.append(f"avmd_detect={avmd_detect}")

    amd_status = variables.get("amd_status")
    if amd_status is not None:
        verdicts.append(_AMD_STATUS_VERDICTS.get(amd_status.lower(), AMD_UNKNOWN))
        evidence.append(f"amd_status={amd_status}")

    return verdicts, evidence


def _combine_verdicts(verdicts: list[str]) -> str:
    if AMD_PERSON in verdicts:
        return AMD_UNKNOWN if AMD_MACHINE in verdicts else AMD_PERSON
    if AMD_MACHINE in verdicts:
        return AMD_MACHINE
    return AMD_UNKNOWN


def _machine_action(variables: Mapping[str, str | None]) -> tuple[str, str]:
    """Return the campaign's machine action and a note when it fell back to hangup."""
    requested = variables.get("dialer_machine_action")
    if requested is None or requested == "":
        return ACTION_HANGUP, "(dialer_machine_action missing, hangup)"

    action = requested.lower()
    if action not in MACHINE_ACTIONS:
        return ACTION_HANGUP, f"(dialer_machine_action={requested!r} invalid, expected hangup or voicemail_drop)"

    if action == ACTION_VOICEMAIL_DROP and not variables.get("dialer_voicemail_file"):
        return ACTION_HANGUP, "(voicemail_drop without dialer_voicemail_file, hangup)"
    return action, ""


def safe_harbor_deadline_ms(greeting_end_ms: int) -> int:
    """Return the epoch ms by which an agent must be bridged or the Safe Harbor message start."""
    return greeting_end_ms + SAFE_HARBOR_DEADLINE_MS


def remaining_wait_ms(greeting_end_ms: int, now_ms: int) -> int:
    """Return how many ms are left before the Safe Harbor deadline, never below zero."""
    return max(0, safe_harbor_deadline_ms(greeting_end_ms) - now_ms)


def is_abandoned(greeting_end_ms: int, bridged_ms: int | None, safe_harbor_ms: int | None) -> bool:
    """Return True when a live call was not bridged within the deadline or got the Safe Harbor message."""
    if safe_harbor_ms is not None or bridged_ms is None:
        return True
    return bridged_ms > safe_harbor_deadline_ms(greeting_end_ms)


def abandonment_variables(
    greeting_end_ms: int, bridged_ms: int | None, safe_harbor_ms: int | None
) -> dict[str, str]:
    """Build the channel variables that prove a live call's 2-second outcome in the CDR.

    All times are epoch milliseconds. Call it only for live calls (person or
    unknown). Raises ValueError when a time lies before the greeting end,
    because both later times are measured after it on the same clock.
    """
    for name, value in (("bridged_ms", bridged_ms), ("safe_harbor_ms", safe_harbor_ms)):
        if value is not None and value < greeting_end_ms:
            raise ValueError(
                f"invalid {name}={value}: earlier than greeting_end_ms={greeting_end_ms}. "
                "Measure both on the same clock, after the greeting ends."
            )

    result = {"dialer_greeting_end_ms": str(greeting_end_ms)}
    if bridged_ms is not None:
        result["dialer_bridged_ms"] = str(bridged_ms)
    if safe_harbor_ms is not None:
        result["dialer_safe_harbor_ms"] = str(safe_harbor_ms)
    result["dialer_abandoned"] = "true" if is_abandoned(greeting_end_ms, bridged_ms, safe_harbor_ms) else "false"
    return result
