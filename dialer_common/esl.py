"""Event Socket (ESL) wire format: frame parser, event decoder and encoders.

No I/O here: the orchestrator's connection and the switch simulator feed and
send bytes themselves. Facts below were checked against recordings of a real
FreeSWITCH 1.10.12 (``tests/fixtures/freeswitch/``).

A frame is a block of ``Name: value`` lines ended by an empty line (LF only).
When the block has ``Content-Length: N``, exactly N bytes follow, and the next
frame starts right after them with no separator. A ``text/event-plain`` body
is itself a header block with percent-encoded values. When the event has a
body of its own (BACKGROUND_JOB), that inner block ends with
``Content-Length: M``, an empty line and M bytes of body.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from urllib.parse import quote, unquote_to_bytes

from dialer_common.errors import ProtocolError

# Largest outer header block accepted. The recorded FreeSWITCH outer blocks
# are under 200 bytes. A peer that sends more without an empty line is not
# speaking ESL, and buffering it without limit would grow memory forever.
MAX_HEADER_BLOCK = 64 * 1024

# Bytes of a bad value shown in error messages.
_SHOWN_BYTES = 80

# FreeSWITCH percent-encodes event values byte by byte: everything below
# ' ' or above '~', and the ASCII characters "\r\n \"#%&+:;<=>?@[\\]^`{|}".
# The other printable ASCII punctuation stays as it is. The recordings show
# commas, '/', '(', ')', "'" and '~' raw, and ' ', ':', '@', '=', ';', '<',
# '>', '"', '&', '[', ']', '{', '}', CR, LF and UTF-8 bytes as %XX.
# urllib's quote() always keeps letters, digits and "_.-~".
_PLAIN_SAFE = "!$'()*,/"

# NOTE: FreeSWITCH's own encoder may leave an existing "%XX" sequence alone
# (mod_json_cdr does, see the CDR recordings), while this encoder writes '%'
# as %25 so that every value survives a round trip. The recorded events hold
# no '%' in any value, so they cannot show which one FreeSWITCH does here.


def _shown(data: bytes | str) -> str:
    """Return a repr of ``data`` cut to a length fit for an error message."""
    if len(data) <= _SHOWN_BYTES:
        return repr(data)
    return repr(data[:_SHOWN_BYTES]) + f"... ({len(data)} bytes)"


def _content_length(text: str, where: str) -> int:
    if not (text.isascii() and text.isdigit()):
        raise ProtocolError(
            f"invalid Content-Length {_shown(text)} in {where}: "
            "expected a non-negative decimal byte count"
        )
    return int(text)


class Frame:
    """One outer ESL frame: its header block and the bytes of its body."""

    __slots__ = ("headers", "body")

    def __init__(self, headers: dict[str, str], body: bytes = b"") -> None:
        self.headers = headers
        self.body = body

    @property
    def content_type(self) -> str:
        """The frame's Content-Type, or "" when it has none."""
        return self.headers.get("Content-Type", "")

    def __repr__(self) -> str:
        return f"Frame(headers={self.headers!r}, body={_shown(self.body)})"


# Outer header blocks repeat (an event frame's block differs only by its
# length), so parsed blocks are kept; the cache is cleared when it fills up.
_OUTER_CACHE: dict[bytes, dict[str, str]] = {}
_OUTER_CACHE_SIZE = 4096


def _parse_outer_headers(block: bytes) -> dict[str, str]:
    cached = _OUTER_CACHE.get(block)
    if cached is not None:
        return cached.copy()
    headers = _split_outer_headers(block)
    if len(_OUTER_CACHE) >= _OUTER_CACHE_SIZE:
        _OUTER_CACHE.clear()
    _OUTER_CACHE[block] = headers
    return headers.copy()


def _split_outer_headers(block: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in block.decode("utf-8", "replace").split("\n"):
        name, separator, value = line.partition(": ")
        if not separator or not name:
            raise ProtocolError(
                f"malformed ESL header line {_shown(line)}: "
                "expected 'Name: value' (a frame boundary may have been lost)"
            )
        headers[name] = value
    return headers


class FrameParser:
    """Incremental ESL frame parser.

    :meth:`feed` takes bytes as they arrive and returns the frames completed
    so far, keeping a partial frame for the next call. After it raises
    :class:`ProtocolError` the stream position is lost, so the parser must
    be :meth:`reset` (with a new connection) or discarded.
    """

    def __init__(self) -> None:
        # Received bytes not yet returned as frames, kept as a list so that a
        # large body arriving in many reads is joined once, not once per read.
        self._chunks: list[bytes] = []
        self._buffered = 0
        # Bytes needed before the pending frame's body is complete.
        self._needed = 0
        self._failed = False

    def reset(self) -> None:
        """Drop buffered bytes and any earlier error, e.g. after a reconnect."""
        self._chunks = []
        self._buffered = 0
        self._needed = 0
        self._failed = False

    def feed(self, data: bytes) -> list[Frame]:
        """Add ``data`` and return every frame it completes, in stream order."""
        if self._failed:
            raise ProtocolError(
                "ESL frame parser used after a protocol error: call reset() "
                "or create a new parser for the new connection"
            )
        if not data:
            return []
        self._chunks.append(bytes(data))
        self._buffered += len(data)
        if self._buffered < self._needed:
            return []
        buffer = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
        try:
            frames, consumed = self._parse_frames(buffer)
        except ProtocolError:
            self._failed = True
            raise
        rest = buffer[consumed:] if consumed else buffer
        self._chunks = [rest] if rest else []
        self._buffered = len(rest)
        return frames

    def _parse_frames(self, buffer: bytes) -> tuple[list[Frame], int]:
        frames = []
        position = 0
        size = len(buffer)
        self._needed = 0
        while position < size:
            header_end = buffer.find(b"\n\n", position, position + MAX_HEADER_BLOCK + 2)
            if header_end < 0:
                self._check_header_size(buffer, position)
                break
            headers = _parse_outer_headers(buffer[position:header_end])
            body_start = header_end + 2
            length_text = headers.get("Content-Length")
            length = 0 if length_text is None else _content_length(length_text, "ESL frame header")
            if body_start + length > size:
                self._needed = body_start + length - position
                break
            frames.append(Frame(headers, buffer[body_start : body_start + length]))
            position = body_start + length
        return frames, position

    @staticmethod
    def _check_header_size(buffer: bytes, position: int) -> None:
        if len(buffer) - position > MAX_HEADER_BLOCK:
            start = buffer[position : position + _SHOWN_BYTES]
            raise ProtocolError(
                f"ESL header block starting {_shown(start)} exceeds {MAX_HEADER_BLOCK} bytes "
                "without an empty line: the peer is not speaking the Event Socket protocol"
            )


_HEADER_KEYS: dict[str, tuple[bytes, bytes]] = {}


def _header_keys(header: str) -> tuple[bytes, bytes]:
    """Return the bytes that start ``header``'s line, without and with the
    preceding newline; cached for the first 1000 names."""
    line_key = header.encode() + b": "
    keys = (line_key, b"\n" + line_key)
    if len(_HEADER_KEYS) < 1000:
        _HEADER_KEYS[header] = keys
    return keys


def _decode_value(raw: bytes) -> str:
    if b"%" not in raw:
        return raw.decode("utf-8", "replace")
    return unquote_to_bytes(raw).decode("utf-8", "replace")


class Event:
    """A FreeSWITCH event from a ``text/event-plain`` or ``text/event-json`` frame.

    Header values are decoded on request: :meth:`get` finds one header in the
    raw bytes without decoding the other ~150, and :attr:`headers` decodes
    all of them once. Header names are matched exactly, case included, as
    FreeSWITCH sends them (``Unique-ID``, ``variable_billsec``).
    """

    __slots__ = ("name", "subclass", "body", "_raw", "_header_end", "_json", "_pairs", "_headers")

    def __init__(self) -> None:
        self.name = ""
        self.subclass: str | None = None
        self.body: str | None = None
        self._raw = b""
        self._header_end = 0
        self._json: dict[str, str] | None = None
        self._pairs: list[tuple[str, str]] | None = None
        self._headers: dict[str, str] | None = None

    @classmethod
    def from_plain(cls, raw: bytes) -> Event:
        """Decode a ``text/event-plain`` frame body."""
        event = cls()
        event._raw = raw
        event._header_end = len(raw)
        # Searching for the inner Content-Length is faster than searching for
        # the empty line, because "\n" occurs on every header line. Header
        # values never contain "\n", so the first match is a header.
        found = raw.find(b"\nContent-Length: ")
        if found < 0:
            if not raw.endswith(b"\n\n"):
                raise ProtocolError(
                    f"event-plain body {_shown(raw)} does not end with an empty line: "
                    "the frame was truncated or its Content-Length is wrong"
                )
            event._header_end = len(raw) - 2
        else:
            event._read_plain_body(found + 1)
        event._read_name()
        return event

    @classmethod
    def from_json(cls, raw: bytes) -> Event:
        """Decode a ``text/event-json`` frame body."""
        event = cls()
        try:
            # Pairs rather than a dict, because FreeSWITCH repeats some keys.
            pairs = json.loads(raw, object_pairs_hook=list)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ProtocolError(f"invalid JSON in event-json body {_shown(raw)}: {error}") from None
        if not isinstance(pairs, list):
            raise ProtocolError(f"event-json body {_shown(raw)} is not a JSON object")
        data: dict[str, str] = {}
        for name, value in pairs:
            data.setdefault(name, value)
        event.body = data.pop("_body", None)
        event._pairs = [(name, value) for name, value in pairs if name != "_body"]
        event._json = data
        event._read_name()
        return event

    def _read_plain_body(self, line_start: int) -> None:
        """Split headers from body at the inner Content-Length line, the last header."""
        raw = self._raw
        line_end = raw.find(b"\n", line_start)
        if line_end < 0 or raw[line_end : line_end + 2] != b"\n\n":
            raise ProtocolError(
                f"event-plain inner Content-Length line at byte {line_start} is not followed "
                f"by an empty line: {_shown(raw[line_start : line_start + _SHOWN_BYTES])}"
            )
        self._header_end = line_end
        body_start = line_end + 2
        length_text = raw[line_start + len(b"Content-Length: ") : line_end].decode("utf-8", "replace")
        length = _content_length(length_text, "event-plain headers")
        if body_start + length != len(raw):
            raise ProtocolError(
                f"event-plain inner Content-Length {length} does not match the "
                f"{len(raw) - body_start} body bytes that follow its headers"
            )
        self.body = raw[body_start:].decode("utf-8", "replace")

    def _read_name(self) -> None:
        name = self.get("Event-Name")
        if not name:
            raise ProtocolError(
                f"event without an Event-Name header: {_shown(self._raw or repr(self._json))}"
            )
        self.name = name
        if name == "CUSTOM":
            self.subclass = self.get("Event-Subclass")

    def get(self, header: str, default: str | None = None) -> str | None:
        """Return the decoded value of ``header``, or ``default`` when absent."""
        if self._json is not None:
            return self._json.get(header, default)
        raw = self._raw
        keys = _HEADER_KEYS.get(header)
        if keys is None:
            keys = _header_keys(header)
        line_key, key = keys
        if raw.startswith(line_key):
            start = len(line_key)
        else:
            found = raw.find(key, 0, self._header_end + len(key))
            if found < 0:
                return default
            start = found + len(key)
        value = raw[start : raw.index(b"\n", start)]
        if b"%" in value:
            return unquote_to_bytes(value).decode("utf-8", "replace")
        return value.decode("utf-8", "replace")

    @property
    def headers(self) -> dict[str, str]:
        """All headers, decoded. Of repeated names the first wins, as in :meth:`get`."""
        if self._headers is None:
            if self._json is not None:
                self._headers = dict(self._json)
            else:
                self._headers = {}
                for name, value in self.header_pairs:
                    self._headers.setdefault(name, value)
        return self._headers

    @property
    def header_pairs(self) -> list[tuple[str, str]]:
        """All headers, decoded, in wire order and with repeated names kept.

        FreeSWITCH 1.10.12 sends ``Hangup-Cause`` twice in every recorded
        CHANNEL_HANGUP_COMPLETE, so a dict cannot re-encode an event exactly.
        """
        if self._pairs is None:
            self._pairs = self._decode_plain_pairs()
        return self._pairs

    def _decode_plain_pairs(self) -> list[tuple[str, str]]:
        pairs = []
        for line in self._raw[: self._header_end].split(b"\n"):
            name, separator, value = line.partition(b": ")
            if not separator:
                raise ProtocolError(
                    f"malformed event header line {_shown(line)}: expected 'Name: value'"
                )
            pairs.append((name.decode("utf-8", "replace"), _decode_value(value)))
        return pairs

    @property
    def uuid(self) -> str | None:
        """The channel UUID (``Unique-ID``), or None for events without a channel."""
        return self.get("Unique-ID")

    def __repr__(self) -> str:
        return f"Event(name={self.name!r}, subclass={self.subclass!r}, uuid={self.uuid!r})"


def parse_event(frame: Frame) -> Event:
    """Decode the event in ``frame``, or raise ProtocolError if it carries none."""
    content_type = frame.content_type
    if content_type == "text/event-plain":
        return Event.from_plain(frame.body)
    if content_type == "text/event-json":
        return Event.from_json(frame.body)
    raise ProtocolError(
        f"frame with Content-Type {content_type!r} is not an event: "
        "expected text/event-plain or text/event-json"
    )


def encode_command(command: str, headers: Mapping[str, str] | None = None) -> bytes:
    """Encode a client command such as ``api status`` or ``bgapi originate ...``.

    ``headers`` become extra lines after the command, e.g. ``Job-UUID`` for
    bgapi. A line break inside the command or a header would end the frame
    early and let the rest run as another command, so it is rejected.
    """
    lines = [command]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    for line in lines:
        if "\n" in line or "\r" in line:
            raise ProtocolError(
                f"ESL command line {_shown(line)} contains a line break: "
                "send one command per call and remove CR/LF from its values"
            )
    if not command.strip():
        raise ProtocolError(f"empty ESL command {command!r}: expected e.g. 'api status'")
    return ("\n".join(lines) + "\n\n").encode()


def encode_frame(headers: Sequence[tuple[str, str]], body: bytes = b"") -> bytes:
    """Encode one outer frame, keeping the header order.

    Content-Length is appended when ``body`` is not empty and ``headers``
    lack it. A Content-Length in ``headers`` must match ``len(body)``.
    """
    lines = []
    has_length = False
    for name, value in headers:
        if "\n" in name or "\n" in value:
            raise ProtocolError(
                f"ESL header {name!r}: {_shown(value)} contains a line break, "
                "which would end the frame early"
            )
        if name == "Content-Length":
            has_length = True
            if value != str(len(body)):
                raise ProtocolError(
                    f"Content-Length {value!r} does not match the body length {len(body)}"
                )
        lines.append(f"{name}: {value}\n")
    if body and not has_length:
        lines.append(f"Content-Length: {len(body)}\n")
    return "".join(lines).encode() + b"\n" + body


def encode_plain_value(value: str) -> str:
    """Percent-encode one event header value with FreeSWITCH's safe set."""
    return quote(value, safe=_PLAIN_SAFE)


def encode_event_plain(headers: Sequence[tuple[str, str]], body: str | None = None) -> bytes:
    """Encode a full ``text/event-plain`` frame, as FreeSWITCH sends it.

    A Content-Length in ``headers`` is ignored: the inner one is computed from
    ``body`` and written last, followed by an empty line and the body.
    """
    lines = [
        f"{name}: {encode_plain_value(value)}\n" for name, value in headers if name != "Content-Length"
    ]
    inner = "".join(lines).encode()
    if body is None:
        inner += b"\n"
    else:
        body_bytes = body.encode()
        inner += f"Content-Length: {len(body_bytes)}\n\n".encode() + body_bytes
    return _event_frame(inner, "text/event-plain")


def encode_event_json(headers: Sequence[tuple[str, str]], body: str | None = None) -> bytes:
    """Encode a full ``text/event-json`` frame, as FreeSWITCH sends it.

    Values are plain UTF-8 JSON strings. A body goes under ``_body`` with its
    byte length under ``Content-Length``, both after the other headers.
    """
    pairs = [(name, value) for name, value in headers if name not in ("Content-Length", "_body")]
    if body is not None:
        pairs.append(("Content-Length", str(len(body.encode()))))
        pairs.append(("_body", body))
    # Written pair by pair because a dict would drop FreeSWITCH's repeated keys.
    members = [
        json.dumps(name, ensure_ascii=False) + ":" + json.dumps(value, ensure_ascii=False)
        for name, value in pairs
    ]
    inner = ("{" + ",".join(members) + "}").encode()
    return _event_frame(inner, "text/event-json")


def _event_frame(inner: bytes, content_type: str) -> bytes:
    return f"Content-Length: {len(inner)}\nContent-Type: {content_type}\n\n".encode() + inner
