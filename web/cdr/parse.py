"""Decode mod_json_cdr posts and derive the cdr table's columns. No I/O.

mod_json_cdr (FreeSWITCH 1.10) sends one of four bodies:

- ``encode=false``: raw ``application/json``;
- ``encode=true``, ``encode-values=false``: form body ``cdr=<urlencoded json>``;
- ``encode=base64``: form body ``cdr=<base64 json>``;
- ``encode=true``, ``encode-values=true`` (the stock settings): the values of
  ``variables`` are percent-encoded first, then the whole JSON is encoded
  again, leaving existing ``%XX`` sequences alone. One form-decode gives
  invalid JSON whenever a value holds ``"``, CR/LF or ``\\``, so this module
  tokenises the encoded text before decoding it (``decode_double_encoded``).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from urllib.parse import unquote, unquote_plus

from dialer_common.errors import ProtocolError

# A string of the double-encoded form ends at the first %22 that a structure
# token follows: %3A (:), a comma, %7D (}), %5D (]) or the end of the body.
_STRING_END = re.compile(r"%22(?=%3A|,|%7D|%5D|$)", re.IGNORECASE)
_LITERAL_END = re.compile(r",|%7D|%5D", re.IGNORECASE)
_NOT_A_LITERAL = object()


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
    text = _utf8(body).strip()
    if not text:
        raise CdrError("empty_body", "empty CDR body: send the CDR JSON or a cdr= form field")

    is_form = "x-www-form-urlencoded" in content_type or text.startswith("cdr=")
    if not is_form:
        return _loads(text)

    value = _form_field(text, "cdr")
    if value.startswith(("%7B", "%7b", "{")):
        try:
            return _loads(unquote_plus(value))
        except CdrError:
            # NOTE: the double-encoded form is recognised by plain decoding
            # failing. Every stock CDR carries a quoted caller_id, so this
            # is true in practice, but a double-encoded CDR without any ", CR,
            # LF or backslash decodes here and keeps a literal \ escape.
            return decode_double_encoded(value)
    return _decode_base64(value)


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


def _loads(text: str) -> dict:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
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
    """Decode the ``encode=true`` + ``encode-values=true`` JSON (the cdr= value, still encoded)."""
    parser = _EncodedJsonParser(text)
    document = parser.parse_value(depth=0, raw_strings=False)
    if parser.pos != len(text):
        raise CdrError("malformed", f"unexpected text after the CDR JSON at offset {parser.pos}")
    if not isinstance(document, dict):
        raise CdrError("malformed", "CDR JSON must be an object with a variables object")
    return document


class _EncodedJsonParser:
    """Recursive-descent parser over the percent-encoded JSON text.

    Structure arrives as %7B %7D %5B %5D %3A %22 with raw commas. A value
    directly inside the top-level ``variables`` object is its text
    percent-decoded once; any other string is percent-decoded, then
    JSON-unescaped.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def _peek(self, token: str) -> bool:
        return self.text[self.pos:self.pos + len(token)].upper() == token

    def _expect(self, token: str, what: str) -> None:
        if not self._peek(token):
            found = self.text[self.pos:self.pos + 12] or "the end of the body"
            raise CdrError("malformed", f"CDR JSON is invalid or truncated: expected {what} at offset "
                                        f"{self.pos}, found {found!r}")
        self.pos += len(token)

    def parse_value(self, depth: int, raw_strings: bool, raw_members: bool = False):
        if self._peek("%7B"):
            return self._parse_object(depth, raw_members)
        if self._peek("%5B"):
            return self._parse_array(depth)
        if self._peek("%22"):
            return self._parse_string(raw_strings)
        return self._parse_literal()

    def _parse_object(self, depth: int, raw_members: bool) -> dict:
        self._expect("%7B", "{")
        result: dict = {}
        if self._peek("%7D"):
            self.pos += 3
            return result
        while True:
            key = self._parse_string(raw=False)
            self._expect("%3A", ":")
            is_variables = depth == 0 and key == "variables"
            result[key] = self.parse_value(depth + 1, raw_strings=raw_members, raw_members=is_variables)
            if self._peek(","):
                self.pos += 1
                continue
            self._expect("%7D", "',' or }")
            return result

    def _parse_array(self, depth: int) -> list:
        self._expect("%5B", "[")
        result: list = []
        if self._peek("%5D"):
            self.pos += 3
            return result
        while True:
            result.append(self.parse_value(depth + 1, raw_strings=False))
            if self._peek(","):
                self.pos += 1
                continue
            self._expect("%5D", "',' or ]")
            return result

    def _parse_string(self, raw: bool) -> str:
        self._expect("%22", 'a string (")')
        match = _STRING_END.search(self.text, self.pos)
        if match is None:
            raise CdrError("malformed", f"CDR JSON is truncated: the string at offset {self.pos} never ends")
        encoded = self.text[self.pos:match.start()]
        self.pos = match.end()
        decoded = _percent_decode(encoded)
        # Most strings hold no escape, and json.loads is the slowest step here.
        if raw or "\\" not in decoded:
            return decoded
        try:
            return json.loads(f'"{decoded}"', strict=False)
        except json.JSONDecodeError:
            raise CdrError("malformed", f"invalid JSON escape in the string {decoded[:40]!r}") from None

    def _parse_literal(self):
        match = _LITERAL_END.search(self.text, self.pos)
        end = match.start() if match else len(self.text)
        literal = _percent_decode(self.text[self.pos:end])
        try:
            value = json.loads(literal)
        except json.JSONDecodeError:
            value = _NOT_A_LITERAL
        if value is _NOT_A_LITERAL or isinstance(value, (dict, list, str)):
            raise CdrError("malformed", f"CDR JSON is invalid or truncated: unexpected {literal[:20]!r} "
                                        f"at offset {self.pos}")
        self.pos = end
        return value


def _percent_decode(text: str) -> str:
    if "%" not in text:
        return text
    try:
        return unquote(text, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise CdrError("malformed", f"percent-encoded text is not UTF-8: {text[:40]!r}") from None
