"""Decode mod_json_cdr posts and derive the cdr table's columns. No I/O.

mod_json_cdr (FreeSWITCH 1.10) sends one of four bodies:

- ``encode=false``: raw ``application/json``;
- ``encode=true``, ``encode-values=false``: form body ``cdr=<urlencoded json>``;
- ``encode=base64``: form body ``cdr=<base64 json>``;
- ``encode=true``, ``encode-values=true`` (the stock settings): the values of
  ``variables`` are percent-encoded first, then the whole JSON is encoded
  again, leaving existing ``%XX`` sequences alone. One form-decode gives
  invalid JSON whenever a value contains ``"``, CR/LF or ``\\``, so this module
  tokenises the encoded text before decoding it (``decode_double_encoded``).
"""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import unquote

import orjson

from dialer_common.errors import ProtocolError

# A string of the double-encoded form ends at the first %22 that a structure
# token follows: %3A (:), a comma, %7D (}), %5D (]) or the end of the body.
_STRING_END = re.compile(r"%22(?=%3A|,|%7D|%5D|$)", re.IGNORECASE)
_STRUCTURE = re.compile(r"%7B|%7D|%5B|%5D|%22", re.IGNORECASE)
# One member of the double-encoded variables object, with the comma or %7D after it.
_VARIABLE = re.compile(r"%22(.*?)%22%3A%22(.*?)%22(,|%7D)", re.IGNORECASE | re.DOTALL)


class CdrError(ProtocolError):
    """A CDR body that cannot be decoded or lacks a required value.

    ``reason`` is a short machine-readable code (``malformed``,
    ``missing_variable``, ...); the message names the value and the fix.
    """

    def __init__(self, reason: str, message: str, call_uuid: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.call_uuid = call_uuid


def decode_body(body: bytes, content_type: str = "") -> dict:
    """Decode a mod_json_cdr request body into the CDR document."""
    return decode_text(body_text(body), content_type)


def decode_json_bytes(data: bytes) -> dict:
    """Decode a plain JSON body (already stripped) without making a str of it first."""
    if not data:
        raise CdrError("empty_body", "empty CDR body: send the CDR JSON or a cdr= form field")
    try:
        return _loads(data)
    except CdrError:
        # Name the byte when the JSON is invalid because the body is not UTF-8.
        _utf8(data)
        raise


def body_text(body: bytes) -> str:
    """Return the request body as UTF-8 text without surrounding white space."""
    return _utf8(body).strip()


def decode_text(text: str, content_type: str = "") -> dict:
    """Decode a body that :func:`body_text` returned into the CDR document."""
    if not text:
        raise CdrError("empty_body", "empty CDR body: send the CDR JSON or a cdr= form field")

    if not is_form_body(text, content_type):
        return _loads(text)

    value = _form_field(text, "cdr")
    if value.startswith(("%7B", "%7b", "{")):
        try:
            return _loads(_percent_decode(value.replace("+", " ")))
        except CdrError:
            # NOTE: the double-encoded form is recognised by plain decoding
            # failing. Every stock CDR carries a quoted caller_id, so this
            # is true in practice, but a double-encoded CDR without any ", CR,
            # LF or backslash decodes here and keeps a literal \ escape.
            return decode_double_encoded(value)
    return _decode_base64(value)


def is_form_body(text: str, content_type: str) -> bool:
    """Tell a ``cdr=`` form body from a plain JSON body (``text`` is the stripped body)."""
    return "x-www-form-urlencoded" in content_type or text.startswith("cdr=")


def _utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CdrError("malformed", f"CDR body is not UTF-8 at byte {exc.start}: send UTF-8") from None


def _form_field(text: str, name: str) -> str:
    for pair in text.split("&"):
        key, sep, value = pair.partition("=")
        if sep and key == name:
            return value.strip()
    raise CdrError("malformed", f"form body has no {name}= field: send cdr=<json>")


def _loads(text: str | bytes) -> dict:
    # orjson parses an 11 KB CDR in about a third of json.loads's time, and
    # rejects what PostgreSQL's text type could not store either (a lone
    # UTF-16 surrogate, NaN).
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        if "depth" in exc.msg:
            raise CdrError("malformed", "CDR JSON is nested too deeply: a mod_json_cdr document is a few levels "
                                        "deep") from None
        raise CdrError("malformed", f"CDR JSON is invalid or truncated: {exc.msg} at char {exc.pos}") from None
    if not isinstance(document, dict):
        raise CdrError("malformed", "CDR JSON must be an object with a variables object")
    return document


def _decode_base64(value: str) -> dict:
    # Form decoding turns a base64 '+' into a space, so put it back.
    data = unquote(value).replace(" ", "+")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise CdrError("malformed", "cdr= field is neither JSON nor valid base64") from None
    return _loads(_utf8(raw))


def decode_double_encoded(text: str) -> dict:
    """Decode the ``encode=true`` + ``encode-values=true`` JSON (the cdr= value, still encoded).

    Structure arrives as %7B %7D %5B %5D %3A %22 with raw commas. The values
    of the top-level ``variables`` object were percent-encoded before the
    whole JSON was, and the second pass left their %XX alone, so each value
    is the text between its delimiters, percent-decoded once. Everything else
    is JSON after one percent-decode, so it goes through ``json.loads`` in one
    piece with ``null`` in place of ``variables``.
    """
    start = _find_top_level_variables(text)
    if start is None:
        return _loads(_percent_decode(text))
    variables, end = _parse_variables(text, start)
    document = _loads(_percent_decode(text[:start]) + "null" + _percent_decode(text[end:]))
    if "variables" not in document:
        raise CdrError("malformed", "CDR JSON is invalid: the variables object is not a top-level member")
    document["variables"] = variables
    return document


def _find_top_level_variables(text: str) -> int | None:
    """Return the offset of the top-level ``variables`` object's %7B, or None when there is none."""
    depth = 0
    pos = 0
    while True:
        match = _STRUCTURE.search(text, pos)
        if match is None:
            return None
        token = match.group().upper()
        if token in ("%7B", "%5B"):
            depth += 1
        elif token in ("%7D", "%5D"):
            depth -= 1
        else:
            end = _string_end(text, match.end())
            key = text[match.end():end.start()]
            if depth == 1 and key == "variables" and text[end.end():end.end() + 6].upper() == "%3A%7B":
                return end.end() + 3
            pos = end.end()
            continue
        pos = match.end()


def _parse_variables(text: str, pos: int) -> tuple[dict[str, str], int]:
    """Parse the flat ``variables`` object at ``pos``; return it and the offset after its %7D.

    One regular expression match per variable: a name ends at the first
    ``%22%3A%22`` and a value at the first %22 that a comma or %7D follows.
    """
    variables: dict[str, str] = {}
    pos += 3
    if text[pos:pos + 3].upper() == "%7D":
        return variables, pos + 3
    match_variable = _VARIABLE.match
    decode = _percent_decode
    while True:
        match = match_variable(text, pos)
        if match is None:
            raise CdrError("malformed", "CDR JSON is invalid or truncated: expected a \"name\":\"value\" "
                                        f"variable at offset {pos}")
        name, value, separator = match.groups()
        variables[decode(name)] = decode(value)
        pos = match.end()
        if separator != ",":
            return variables, pos


def _string_end(text: str, pos: int) -> re.Match:
    match = _STRING_END.search(text, pos)
    if match is None:
        raise CdrError("malformed", f"CDR JSON is truncated: the string at offset {pos} never ends")
    return match


def _percent_decode(text: str) -> str:
    if "%" not in text:
        return text
    # Fast path, in C: %XX becomes \xXX for the unicode_escape codec (with
    # literal backslashes doubled first), which yields one code point per
    # byte, so latin-1 turns it back into the bytes to decode as UTF-8.
    # timeit on Python 3.11 put it about 7 times faster than unquote, which
    # loops in Python.
    try:
        escaped = text.replace("\\", "\\\\").replace("%", "\\x").encode("ascii")
        data = escaped.decode("unicode_escape").encode("latin-1")
    except (UnicodeEncodeError, UnicodeDecodeError):
        # Non-ASCII text or a % without two hex digits, which unquote keeps as is.
        return _percent_decode_slow(text)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise CdrError("malformed", f"percent-encoded text is not UTF-8: {text[:40]!r}") from None


def _percent_decode_slow(text: str) -> str:
    try:
        return unquote(text, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise CdrError("malformed", f"percent-encoded text is not UTF-8: {text[:40]!r}") from None
