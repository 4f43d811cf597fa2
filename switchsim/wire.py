"""Frames the simulated node sends, built on the shared ESL encoders (no I/O).

Percent-encoding and event framing live in ``dialer_common.esl`` only; this
module adds the reply shapes a FreeSWITCH 1.10.12 server writes.
"""

from __future__ import annotations

from collections.abc import Sequence

from dialer_common.esl import encode_event_json, encode_event_plain, encode_frame

DISCONNECT_NOTICE = b"Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"

__all__ = [
    "DISCONNECT_NOTICE",
    "api_response",
    "command_reply",
    "content_frame",
    "encode_event_json",
    "encode_event_plain",
    "encode_frame",
]


def command_reply(reply_text: str, extra: Sequence[tuple[str, str]] = ()) -> bytes:
    """Encode a ``command/reply`` frame."""
    return encode_frame([("Content-Type", "command/reply"), ("Reply-Text", reply_text), *extra])


def content_frame(content_type: str, body: bytes) -> bytes:
    """Encode a frame with a body and no other header, e.g. ``api/response``."""
    return encode_frame([("Content-Type", content_type), ("Content-Length", str(len(body)))], body)


def api_response(body: str) -> bytes:
    """Encode an ``api/response`` frame; the body is sent exactly as given, even empty."""
    return content_frame("api/response", body.encode("utf-8"))
