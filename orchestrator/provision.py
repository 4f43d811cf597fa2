"""Create a campaign's mod_callcenter queue, agents and tiers on one switch.

The database is the source of the agents; the switch's ``queue list agents``
read-back is the source of their status and state once provisioned.
"""

from __future__ import annotations

import logging

from dialer_common.errors import DialerError
from orchestrator.agents import AgentBoard

log = logging.getLogger(__name__)


def _checked(client, command: str, switch_name: str) -> str | None:
    """Run one ``api callcenter_config`` command; log and return None when it fails."""
    try:
        reply = client.api(f"callcenter_config {command}")
    except DialerError as error:
        log.warning("provision.command_failed switch=%s command=%r error=%s", switch_name, command, error)
        return None
    if reply.startswith("-ERR"):
        log.warning("provision.command_rejected switch=%s command=%r reply=%r", switch_name, command, reply.strip())
        return None
    return reply


def _has_unsendable(*values: str) -> bool:
    return any(char in value for value in values for char in ("'", "\n", "\r"))


def provision_campaign(client, board: AgentBoard, switch_name: str, queue: str, agents: list[dict]) -> int:
    """Load ``queue`` and add ``agents`` (agents table rows) to it; return how many the switch listed back."""
    # The queue may be missing from a real node's callcenter.conf.xml; the agents still get added.
    _checked(client, f"queue load {queue}", switch_name)
    for agent in agents:
        name = agent["name"]
        if _has_unsendable(name, agent["contact"], queue) or " " in name:
            log.error(
                "provision.agent_invalid switch=%s agent=%r: names must not contain spaces, quotes or line breaks",
                switch_name, name,
            )
            continue
        _checked(client, f"agent add {name} {agent['agent_type']}", switch_name)
        if agent["contact"]:
            _checked(client, f"agent set contact {name} {agent['contact']}", switch_name)
        _checked(client, f"agent set status {name} '{agent['status']}'", switch_name)
        _checked(client, f"tier add {queue} {name} 1 1", switch_name)
    listing = _checked(client, f"queue list agents {queue}", switch_name)
    listed = board.apply_list(switch_name, listing) if listing else 0
    log.info("provision.done switch=%s queue=%s agents=%d listed=%d", switch_name, queue, len(agents), listed)
    return listed
