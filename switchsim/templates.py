"""Event and CDR templates taken from recorded FreeSWITCH 1.10.12 traffic.

``python -m switchsim.templates FIXTURE_DIR`` reads the recordings
(``*.esl``, ``*.client.txt``, ``cdr_json/raw/*.json``) and writes
``templates.json`` next to this module. Each template keeps the recorded
header names, their order and the values that do not depend on the call.
Values that do (channel UUIDs, numbers, names, queue and agent names) are
replaced by markers ``\\x01key\\x01``; ``Templates.render`` fills them in.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

MARK = "\x01"
TEMPLATE_FILE = Path(__file__).with_name("templates.json")

# (template key, recording, Event-Name, CC-Action or "", leg role, nth match)
# The leg role picks the channel: "member" is the originated leg, "agent" the
# mod_callcenter agent leg, "" an event without a channel.
EVENT_SOURCES = [
    ("create", "originate_answer_hangup", "CHANNEL_CREATE", "", "member", 0),
    ("progress", "originate_no_answer", "CHANNEL_PROGRESS", "", "member", 0),
    ("progress_media", "originate_answer_hangup", "CHANNEL_PROGRESS_MEDIA", "", "member", 0),
    ("answer", "callcenter_flow", "CHANNEL_ANSWER", "", "member", 0),
    ("answer.early", "originate_answer_hangup", "CHANNEL_ANSWER", "", "member", 0),
    ("answer.early_ignored", "originate_answer_hangup_ignore_early_media", "CHANNEL_ANSWER", "", "member", 0),
    ("background_job", "originate_answer_hangup", "BACKGROUND_JOB", "", "", 0),
    ("heartbeat", "originate_answer_hangup", "HEARTBEAT", "", "", 0),
    ("hangup.answered", "originate_answer_hangup", "CHANNEL_HANGUP", "", "member", 0),
    ("hangup_complete.answered", "originate_answer_hangup", "CHANNEL_HANGUP_COMPLETE", "", "member", 0),
    ("hangup.busy", "originate_busy", "CHANNEL_HANGUP", "", "member", 0),
    ("hangup_complete.busy", "originate_busy", "CHANNEL_HANGUP_COMPLETE", "", "member", 0),
    ("hangup.failure", "originate_unavailable", "CHANNEL_HANGUP", "", "member", 0),
    ("hangup_complete.failure", "originate_unavailable", "CHANNEL_HANGUP_COMPLETE", "", "member", 0),
    ("hangup.unreachable", "originate_unreachable", "CHANNEL_HANGUP", "", "member", 0),
    ("hangup_complete.unreachable", "originate_unreachable", "CHANNEL_HANGUP_COMPLETE", "", "member", 0),
    ("hangup.no_answer", "originate_no_answer", "CHANNEL_HANGUP", "", "member", 0),
    ("hangup_complete.no_answer", "originate_no_answer", "CHANNEL_HANGUP_COMPLETE", "", "member", 0),
    ("hangup.local", "callcenter_no_agent", "CHANNEL_HANGUP", "", "member", 0),
    ("hangup_complete.local", "heartbeat", "CHANNEL_HANGUP_COMPLETE", "", "member", 0),
    ("hangup.bridged", "callcenter_flow", "CHANNEL_HANGUP", "", "member", 0),
    ("hangup_complete.bridged", "callcenter_flow", "CHANNEL_HANGUP_COMPLETE", "", "member", 0),
    ("execute.callcenter", "callcenter_flow", "CHANNEL_EXECUTE", "", "member", 0),
    ("execute_complete.callcenter", "callcenter_flow", "CHANNEL_EXECUTE_COMPLETE", "", "member", 0),
    ("execute.app", "callcenter_no_agent", "CHANNEL_EXECUTE", "", "member", 1),
    ("execute_complete.app", "callcenter_no_agent", "CHANNEL_EXECUTE_COMPLETE", "", "member", 1),
    (
        "execute_complete.callcenter.cancel",
        "callcenter_no_agent",
        "CHANNEL_EXECUTE_COMPLETE",
        "",
        "member",
        0,
    ),
    (
        "execute_complete.callcenter.hangup",
        "callcenter_on_break",
        "CHANNEL_EXECUTE_COMPLETE",
        "",
        "member",
        0,
    ),
    ("execute.uuid_bridge", "callcenter_flow", "CHANNEL_EXECUTE", "", "member", 1),
    ("agent.execute.uuid_bridge", "callcenter_flow", "CHANNEL_EXECUTE", "", "agent", 0),
    ("bridge", "callcenter_flow", "CHANNEL_BRIDGE", "", "member", 0),
    ("unbridge", "callcenter_flow", "CHANNEL_UNBRIDGE", "", "member", 0),
    ("agent.create", "callcenter_flow", "CHANNEL_CREATE", "", "agent", 0),
    ("agent.progress", "callcenter_flow", "CHANNEL_PROGRESS", "", "agent", 0),
    ("agent.answer", "callcenter_flow", "CHANNEL_ANSWER", "", "agent", 0),
    ("agent.hangup", "callcenter_flow", "CHANNEL_HANGUP", "", "agent", 0),
    ("agent.hangup_complete", "callcenter_flow", "CHANNEL_HANGUP_COMPLETE", "", "agent", 0),
    ("cc.agent-add", "callcenter_flow", "CUSTOM", "agent-add", "", 0),
    ("cc.agent-contact-change", "callcenter_flow", "CUSTOM", "agent-contact-change", "", 0),
    ("cc.agent-status-change", "callcenter_flow", "CUSTOM", "agent-status-change", "", 0),
    ("cc.agent-state-change", "callcenter_flow", "CUSTOM", "agent-state-change", "", 0),
    ("cc.agent-status-get", "callcenter_flow", "CUSTOM", "agent-status-get", "", 0),
    ("cc.agent-state-get", "callcenter_flow", "CUSTOM", "agent-state-get", "", 0),
    ("cc.member-queue-start", "callcenter_flow", "CUSTOM", "member-queue-start", "member", 0),
    ("cc.members-count", "callcenter_flow", "CUSTOM", "members-count", "", 0),
    ("cc.agent-offering", "callcenter_flow", "CUSTOM", "agent-offering", "", 0),
    ("cc.bridge-agent-start", "callcenter_flow", "CUSTOM", "bridge-agent-start", "agent", 0),
    ("cc.bridge-agent-end", "callcenter_flow", "CUSTOM", "bridge-agent-end", "agent", 0),
    ("cc.member-queue-end.terminated", "callcenter_flow", "CUSTOM", "member-queue-end", "member", 0),
    ("cc.member-queue-end.cancel", "callcenter_no_agent", "CUSTOM", "member-queue-end", "member", 0),
    ("cc.member-queue-end.hangup", "callcenter_on_break", "CUSTOM", "member-queue-end", "member", 0),
]

CDR_SOURCES = {
    "cdr.answered": "originate_answer_hangup.json",
    "cdr.failed": "originate_busy.json",
    "cdr.member": "callcenter_flow.member_leg.json",
    "cdr.agent": "callcenter_flow.agent_leg.json",
}

# Variables mod_callcenter sets on both legs. Templates drop them and the
# simulator adds them as runtime variables, because their values (epochs,
# agent, cause) depend on the call and they are absent before the queue.
_CALLCENTER_VARIABLE = re.compile(r"^variable_cc_")
_ORIGINATE = re.compile(r"originate \{(?P<vars>[^}]*)\}sofia/external/(?P<target>\S+)")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def split_frames(data: bytes) -> list[tuple[dict[str, str], bytes]]:
    """Split a recorded byte stream into (outer headers, body) pairs."""
    frames, position = [], 0
    while position < len(data):
        end = data.index(b"\n\n", position)
        headers = dict(line.split(": ", 1) for line in data[position:end].decode().split("\n"))
        position = end + 2
        length = int(headers.get("Content-Length", 0))
        frames.append((headers, data[position : position + length]))
        position += length
    return frames


def parse_plain_event(body: bytes) -> tuple[list[tuple[str, str]], str | None]:
    """Decode a text/event-plain body into ordered headers and the inner body."""
    head, _, inner = body.partition(b"\n\n")
    headers = []
    for line in head.decode("utf-8").split("\n"):
        name, _, value = line.partition(": ")
        headers.append((name, unquote(value)))
    if headers and headers[-1][0] == "Content-Length":
        headers.pop()
        return headers, inner.decode("utf-8")
    return headers, None


def _recorded_tokens(fixture_dir: Path, recording: str, frames) -> tuple[dict[str, str], list[str]]:
    """Map the call-specific values of one recording to marker keys."""
    client = (fixture_dir / f"{recording}.client.txt").read_text("utf-8")
    match = _ORIGINATE.search(client)
    originate_vars = dict(item.split("=", 1) for item in re.findall(r"[^,]+='[^']*'|[^,]+", match["vars"]))
    originate_vars = {name: value.strip("'") for name, value in originate_vars.items()}
    target = match["target"]
    number = target.split("@", 1)[0]
    tokens = {
        originate_vars["origination_uuid"]: "uuid",
        f"sofia/external/{target}": "channel_name",
        target: "target",
        number: "number",
        originate_vars["origination_caller_id_number"]: "cid_number",
        originate_vars["origination_caller_id_name"]: "cid_name",
        "9dc25a23-9c30-4a5c-96ea-c607057fb071": "core_uuid",
        "media-node-1": "hostname",
        "sofia/external/agent1001@127.0.0.1:5091": "agent_channel_name",
        "agent1001@127.0.0.1:5091": "agent_target",
        "ventas@default": "queue",
        "1001@default": "agent",
    }
    job = re.search(r"Job-UUID: (\S+)", client)
    if job:
        tokens[job.group(1)] = "job_uuid"
    for headers, body in frames:
        if headers.get("Content-Type") != "text/event-plain":
            continue
        event = dict(parse_plain_event(body)[0])
        if event.get("CC-Member-UUID"):
            tokens[event["CC-Member-UUID"]] = "cc_member_uuid"
        if event.get("CC-Agent-UUID"):
            tokens[event["CC-Agent-UUID"]] = "agent_uuid"
    return tokens, list(originate_vars)


def _tokenize(value: str, pattern: re.Pattern, tokens: dict[str, str]) -> str:
    return pattern.sub(lambda match: MARK + tokens[match.group(0)] + MARK, value)


def _token_pattern(tokens: dict[str, str]) -> re.Pattern:
    ordered = sorted(tokens, key=len, reverse=True)
    return re.compile("|".join(re.escape(token) for token in ordered))


def _pick(frames, event_name: str, action: str, role: str, nth: int, member_uuid: str):
    matches = []
    for headers, body in frames:
        if headers.get("Content-Type") != "text/event-plain":
            continue
        event_headers, inner = parse_plain_event(body)
        event = dict(event_headers)
        if event["Event-Name"] != event_name or event.get("CC-Action", "") != action:
            continue
        unique_id = event.get("Unique-ID", "")
        if role == "member" and unique_id != member_uuid:
            continue
        if role == "agent" and unique_id in ("", member_uuid):
            continue
        matches.append((event_headers, inner))
    return matches[nth]


def _mark_variables(headers, key: str, originate_vars: list[str], role: str):
    """Replace the originate variables by one ``vars`` marker and add a
    ``runtime_vars`` marker where variables set after answer belong."""
    names = {f"variable_{name}" for name in originate_vars}
    result: list[list[str]] = []
    for name, value in headers:
        if _CALLCENTER_VARIABLE.match(name):
            continue
        if name in names and role == "member":
            if [MARK + "vars", ""] not in result and role == "member":
                result.append([MARK + "vars", ""])
            continue
        if name == "variable_hangup_cause":
            result.append([MARK + "runtime_vars", ""])
        result.append([name, value])
    has_variables = any(name.startswith("variable_") for name, _ in result)
    if has_variables and role == "agent":
        result.append([MARK + "vars", ""])
    if has_variables and [MARK + "runtime_vars", ""] not in result:
        result.append([MARK + "runtime_vars", ""])
    return result


def build(fixture_dir: Path) -> dict:
    """Build all templates from the recordings in ``fixture_dir``."""
    templates: dict[str, dict] = {}
    cache: dict[str, tuple] = {}
    for key, recording, event_name, action, role, nth in EVENT_SOURCES:
        if recording not in cache:
            frames = split_frames((fixture_dir / f"{recording}.esl").read_bytes())
            tokens, originate_vars = _recorded_tokens(fixture_dir, recording, frames)
            member_uuid = next(token for token, name in tokens.items() if name == "uuid")
            cache[recording] = (frames, tokens, originate_vars, member_uuid, _token_pattern(tokens))
        frames, tokens, originate_vars, member_uuid, pattern = cache[recording]
        headers, body = _pick(frames, event_name, action, role, nth, member_uuid)
        headers = [(name, _tokenize(value, pattern, tokens)) for name, value in headers]
        templates[key] = {
            "headers": _mark_variables(headers, key, originate_vars, role),
            "body": body,
        }
    for key, file_name in CDR_SOURCES.items():
        templates[key] = json.loads((fixture_dir / "cdr_json" / "raw" / file_name).read_text("utf-8"))
    return templates


@dataclass
class Templates:
    """The loaded templates; ``events`` maps a key to its marked header list."""

    events: dict[str, list[list[str]]]
    cdrs: dict[str, dict]

    @classmethod
    def load(cls, path: Path = TEMPLATE_FILE) -> Templates:
        data = json.loads(path.read_text("utf-8"))
        events = {key: value["headers"] for key, value in data.items() if not key.startswith("cdr.")}
        cdrs = {key: value for key, value in data.items() if key.startswith("cdr.")}
        return cls(events, cdrs)


def fill(value: str, tokens: dict[str, str]) -> str:
    """Replace the ``\\x01key\\x01`` markers in ``value`` with ``tokens[key]``."""
    if MARK not in value:
        return value
    parts = value.split(MARK)
    for index in range(1, len(parts), 2):
        parts[index] = tokens.get(parts[index], "")
    return "".join(parts)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m switchsim.templates FIXTURE_DIR", file=sys.stderr)
        return 2
    templates = build(Path(argv[0]))
    TEMPLATE_FILE.write_text(json.dumps(templates, ensure_ascii=False, indent=1) + "\n", "utf-8")
    print(f"wrote {len(templates)} templates to {TEMPLATE_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
