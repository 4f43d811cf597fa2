"""Bridge to the dialer's answer decision in ``fs_scripts.dialer_decision``.

The simulator runs the same pure function the mod_python3 script runs on a
real node, so a change in the decision reaches both.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

log = logging.getLogger(__name__)

# Used only while fs_scripts.dialer_decision is missing from the checkout.
FALLBACK_SAFE_HARBOR_DEADLINE_MS = 2000


@dataclass(frozen=True)
class FallbackDecision:
    amd_result: str
    action: str
    live: bool
    reason: str


def decide(variables: Mapping[str, str | None]):
    """Return ``decide_after_answer(variables)`` from fs_scripts.dialer_decision."""
    try:
        from fs_scripts.dialer_decision import decide_after_answer
    except ImportError:
        return _fallback(variables)
    return decide_after_answer(variables)


def safe_harbor_deadline_ms() -> int:
    try:
        from fs_scripts.dialer_decision import SAFE_HARBOR_DEADLINE_MS
    except ImportError:
        return FALLBACK_SAFE_HARBOR_DEADLINE_MS
    return SAFE_HARBOR_DEADLINE_MS


def _fallback(variables: Mapping[str, str | None]) -> FallbackDecision:
    # NOTE: a stand-in until fs_scripts.dialer_decision lands: person or
    # unknown goes to the queue, a machine gets dialer_machine_action.
    log.warning("decision.fallback reason=fs_scripts.dialer_decision not importable")
    result = (variables.get("amd_result") or "").upper()
    if result == "MACHINE":
        action = variables.get("dialer_machine_action") or "hangup"
        return FallbackDecision("machine", action, False, "amd machine")
    amd = "person" if result == "HUMAN" else "unknown"
    return FallbackDecision(amd, "queue", True, f"amd {amd}")
