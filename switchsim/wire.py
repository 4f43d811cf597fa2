"""Event Socket wire encoding as FreeSWITCH 1.10.12 writes it (no I/O)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

DISCONNECT_NOTICE = b"Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"

# Characters that switch_url_encode() escapes besides controls and non-ASCII
# (SWITCH_URL_UNSAFE in FreeSWITCH's switch_utils.c). Commas, slashes,
# parentheses and single quotes stay as they are, as in the recordings.
_URL_UNSAFE = frozenset(b'\r\n #%&+:;<=>?@[\\]^`{|}"')
_ENCODE_TABLE = [
    f"%{byte:02X}" if byte < 0x20 or byte > 0x7E or byte in _URL_UNSAFE else chr(byte) for byte in range(256)
]


def url_encode(value: str) -> str:
    """Percent-encode a header value the way FreeSWITCH encodes plain events."""
    if value.isascii() and value.isalnum():
        return value
    return "".join(_ENCODE_TABLE[byte] for byte in value.encode("utf-8"))


def encode_frame(headers: Iterable[tuple[str, str]], body: bytes = b"") -> bytes:
    """Encode one outer frame; Content-Length is added when there is a body."""
    lines = [f"{name}: {value}\n" for name, value in headers]
    if body:
        lines.append(f"Content-Length: {len(body)}\n")
    return ("".join(lines) + "\n").encode("utf-8") + body


def command_reply(reply_text: str, extra: Sequence[tuple[str, str]] = ()) -> bytes:
    """Encode a ``command/reply`` frame."""
    return encode_frame([("Content-Type", "command/reply"), ("Reply-Text", reply_text), *extra])


def api_response(body: str) -> bytes:
    """Encode an ``api/response`` frame; the body is sent exactly as given."""
    data = body.encode("utf-8")
    return f"Content-Type: api/response\nContent-Length: {len(data)}\n\n".encode() + data


def content_frame(content_type: str, body: bytes) -> bytes:
    """Encode a frame such as ``text/disconnect-notice`` with a body."""
    return f"Content-Type: {content_type}\nContent-Length: {len(body)}\n\n".encode() + body


def event_plain(headers: Sequence[tuple[str, str]], body: str | None = None) -> bytes:
    """Encode a ``text/event-plain`` frame: Content-Length first, as recorded."""
    inner = "".join(f"{name}: {url_encode(value)}\n" for name, value in headers)
    if body is None:
        data = (inner + "\n").encode("utf-8")
    else:
        encoded_body = body.encode("utf-8")
        data = (inner + f"Content-Length: {len(encoded_body)}\n\n").encode("utf-8") + encoded_body
    return f"Content-Length: {len(data)}\nContent-Type: text/event-plain\n\n".encode() + data


def event_json(headers: Sequence[tuple[str, str]], body: str | None = None) -> bytes:
    """Encode a ``text/event-json`` frame: every value a string, body under ``_body``."""
    document = dict(headers)
    if body is not None:
        document["Content-Length"] = str(len(body.encode("utf-8")))
        document["_body"] = body
    data = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return f"Content-Length: {len(data)}\nContent-Type: text/event-json\n\n".encode() + data
