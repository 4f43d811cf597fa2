"""Recorded mod_json_cdr requests and helpers that adapt them to a test tenant."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "freeswitch"
HTTP_FILES = sorted((FIXTURES / "cdr_http").rglob("*.http"))


@dataclass
class RecordedRequest:
    """One raw HTTP request as FreeSWITCH sent it."""

    path: Path
    request_line: str
    headers: dict[str, str]
    body: bytes

    @property
    def variant(self) -> str:
        return self.path.parent.name

    @property
    def encoded(self) -> bool:
        return "x-www-form-urlencoded" in self.headers["Content-Type"]

    def expected_json(self) -> dict:
        """The decoded body as recorded in cdr_json/."""
        json_path = FIXTURES / "cdr_json" / self.variant / (self.path.stem + ".json")
        return json.loads(json_path.read_text(encoding="utf-8"))


def read_request(path: Path) -> RecordedRequest:
    """Parse the request line, headers and body of a recorded request."""
    data = path.read_bytes()
    head, separator, body = data.partition(b"\r\n\r\n")
    assert separator, f"{path}: no blank line after the headers"
    lines = head.decode("ascii").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    assert int(headers["Content-Length"]) == len(body), f"{path}: Content-Length does not match the body"
    return RecordedRequest(path, lines[0], headers, body)


def set_variable(body: bytes, encoded: bool, name: str, value: str) -> bytes:
    """Set channel variable ``name`` in a recorded body, percent-encoding ``value`` as encode-values does."""
    text = body.decode("utf-8")
    if encoded:
        existing = re.compile(re.escape(f"%22{name}%22%3A%22") + r".*?%22(?=,|%7D)")
        replacement = f"%22{name}%22%3A%22{quote(value, safe='')}%22"
        anchor = "%22variables%22%3A%7B"
    else:
        existing = re.compile(re.escape(f'"{name}":"') + r'[^"]*"')
        replacement = f'"{name}":"{value}"'
        anchor = '"variables":{'
    if existing.search(text):
        return existing.sub(lambda _match: replacement, text, count=1).encode("utf-8")
    assert anchor in text
    return text.replace(anchor, anchor + replacement + ",", 1).encode("utf-8")


def for_tenant(request: RecordedRequest, tenant_id: int, **variables: str) -> bytes:
    """The recorded body with dialer_tenant_id and any other dialer_* variables set."""
    body = set_variable(request.body, request.encoded, "dialer_tenant_id", str(tenant_id))
    for name, value in variables.items():
        body = set_variable(body, request.encoded, name, value)
    return body


def fresh_cdr(template: dict, tenant_id: int, start_us: int, **variables: str) -> dict:
    """A copy of a decoded CDR with a new channel uuid, start time and dialer variables."""
    document = json.loads(json.dumps(template))
    call_uuid = str(uuid.uuid4())
    document["variables"]["uuid"] = call_uuid
    document["variables"]["start_uepoch"] = str(start_us)
    document["variables"]["start_epoch"] = str(start_us // 1_000_000)
    document["variables"]["dialer_tenant_id"] = str(tenant_id)
    document["callflow"][0]["caller_profile"]["uuid"] = call_uuid
    document["variables"].update(variables)
    return document


def stored_rows(conn, call_uuid: str) -> list[dict]:
    """The cdr rows of ``call_uuid``, A leg first."""
    with conn.cursor() as cur:
        cur.execute("SELECT * FROM cdr WHERE call_uuid = %s ORDER BY leg", (call_uuid,))
        rows = cur.fetchall()
    conn.rollback()
    return rows


def cdr_count(conn) -> int:
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) AS n FROM cdr")
        count = cur.fetchone()["n"]
    conn.rollback()
    return count
