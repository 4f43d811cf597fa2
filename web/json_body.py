"""Request JSON parsing and field type checks shared by every JSON view.

Views call :func:`json_object` once and read fields with :func:`field`, so
a body of the wrong shape (a list, a string where a number belongs, JSON
nested too deeply for the parser) becomes a 400 with a translated message
naming the field, never an exception deep in a view.
"""

from __future__ import annotations

import json
from typing import Any

from flask import g, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from web.errors import ApiError

# JSON type name -> (Python types, the phrase messages use for it).
_KINDS = {
    "string": ((str,), lazy_gettext("a string")),
    "number": ((int, float), lazy_gettext("a number")),
    "integer": ((int,), lazy_gettext("a whole number")),
    "list": ((list,), lazy_gettext("a list")),
    "object": ((dict,), lazy_gettext("a JSON object")),
}
_MISSING = object()
_CACHE_KEY = "json_body"


def parse_json() -> Any:
    """Parse the request body as JSON once per request; raise ApiError (400) if it is not valid JSON.

    json.loads raises RecursionError on deeply nested arrays or objects
    (some thousand levels, depending on the interpreter's recursion limit),
    so such a body is rejected like any other malformed one.
    """
    if _CACHE_KEY in g:
        return g.get(_CACHE_KEY)
    if not request.is_json:
        raise ApiError("invalid_json", _("Send the body as JSON with Content-Type: application/json."))
    data = request.get_data(cache=True)
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise ApiError("invalid_json", _("The request body is not valid JSON.")) from None
    except RecursionError:
        raise ApiError("invalid_json", _("The request body is nested too deeply: send flat JSON.")) from None
    setattr(g, _CACHE_KEY, value)
    return value


def try_parse_json() -> Any:
    """Return the parsed JSON body, or None when it is missing or malformed."""
    try:
        return parse_json()
    except ApiError:
        return None


def json_object(example: str) -> dict:
    """Return the body as a JSON object; raise ApiError (400) quoting ``example`` otherwise."""
    body = try_parse_json() if not request.is_json else parse_json()
    if not isinstance(body, dict):
        raise ApiError("invalid_body", _("Send a JSON object such as %(example)s.", example=example))
    return body


def field(body: dict, name: str, kind: str, default: Any = _MISSING) -> Any:
    """Return ``body[name]`` if it is of JSON type ``kind``; raise ApiError (400) naming the field otherwise.

    A missing field returns ``default`` when one is given. JSON true and
    false are never numbers, although Python's bool is an int.
    """
    if name not in body:
        if default is _MISSING:
            raise ApiError("missing_field", _("The field %(name)s is missing.", name=name), field=name)
        return default
    value = body[name]
    if not is_kind(value, kind):
        raise ApiError(
            "invalid_field",
            _("The field %(name)s must be %(kind)s, not %(value)s.",
              name=name, kind=_KINDS[kind][1], value=_short_json(value)),
            field=name,
        )
    return value


def string_items(values: list, name: str) -> list[str]:
    """Check that every item of the list field ``name`` is a string; return the list."""
    for index, value in enumerate(values):
        if not isinstance(value, str):
            raise ApiError(
                "invalid_field",
                _("Each item of %(name)s must be a string in quotes; item %(index)s is %(value)s.",
                  name=name, index=index + 1, value=_short_json(value)),
                field=name,
            )
    return values


def is_kind(value: Any, kind: str) -> bool:
    """Tell whether ``value`` is of JSON type ``kind`` (bool is never a number)."""
    types, _label = _KINDS[kind]
    if isinstance(value, bool) and kind in ("number", "integer"):
        return False
    return isinstance(value, types)


def _short_json(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False)
    except RecursionError:
        return "[...]"
    return text if len(text) <= 40 else text[:37] + "..."
