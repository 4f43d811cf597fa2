"""Final outcome of an attempt and what it means for its lead.

Outcomes are spelled as in ``attempts.outcome``: live_bridged, abandoned,
machine, busy, no_answer, failed, rejected.
"""

from __future__ import annotations

from dataclasses import dataclass

# Delay before a lead is dialled again, by outcome, in seconds.
RETRY_DELAY_S = {
    "busy": 10 * 60,
    "no_answer": 60 * 60,
    "failed": 15 * 60,
    "rejected": 15 * 60,
    "machine": 4 * 60 * 60,
}

BUSY_CAUSES = frozenset({"USER_BUSY"})
NO_ANSWER_CAUSES = frozenset(
    {"NO_ANSWER", "NO_USER_RESPONSE", "PROGRESS_TIMEOUT", "RECOVERY_ON_TIMER_EXPIRE", "ALLOTTED_TIMEOUT"}
)
# Causes that say the number itself cannot be reached, so dialling it again is pointless.
PERMANENT_CAUSES = frozenset(
    {"UNALLOCATED_NUMBER", "NO_ROUTE_DESTINATION", "INVALID_NUMBER_FORMAT", "NUMBER_CHANGED"}
)


def unanswered_outcome(cause: str | None) -> str:
    """Map the hangup cause of a call nobody answered to busy, no_answer or failed."""
    if cause in BUSY_CAUSES:
        return "busy"
    if cause in NO_ANSWER_CAUSES:
        return "no_answer"
    return "failed"


def answered_outcome(
    *, bridged: bool, amd_result: str | None, live: bool | None, abandoned: bool | None
) -> str:
    """Map an answered call to live_bridged, abandoned or machine from what the answer script set.

    The switch's own ``dialer_abandoned`` wins: a person bridged after the
    2-second window is still an abandoned call. An answered call that the
    script never classified (the callee hung up during the greeting) is
    counted as a person left without an agent.
    """
    if abandoned:
        return "abandoned"
    if bridged:
        return "live_bridged"
    if amd_result == "machine" and not live:
        return "machine"
    # NOTE: unknown AMD results count as a person, so an unbridged one is abandoned.
    return "abandoned"


@dataclass(frozen=True)
class LeadDisposition:
    """What happens to a lead after an attempt: ``done``, ``failed`` or ``retry`` after a delay."""

    status: str
    retry_delay_s: int = 0


def lead_disposition(outcome: str, hangup_cause: str | None) -> LeadDisposition:
    """Return the lead's next status for an attempt's outcome.

    ``retry`` becomes ``exhausted`` in the database when the lead has used
    its campaign's ``max_attempts``.
    """
    if outcome in ("live_bridged", "abandoned"):
        return LeadDisposition("done")
    if hangup_cause in PERMANENT_CAUSES:
        return LeadDisposition("failed")
    return LeadDisposition("retry", RETRY_DELAY_S.get(outcome, RETRY_DELAY_S["failed"]))
