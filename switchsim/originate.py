"""Parse ``originate`` arguments the way FreeSWITCH 1.10 does (no I/O)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field


class OriginateError(ValueError):
    """An originate FreeSWITCH would reject; ``cause`` is the -ERR cause it returns."""

    def __init__(self, cause: str, detail: str) -> None:
        super().__init__(detail)
        self.cause = cause


@dataclass
class OriginateRequest:
    """One parsed originate: channel variables, dial string and what runs on answer."""

    variables: list[tuple[str, str]]
    dial_string: str
    application: str
    application_arg: str
    dialplan: str = "XML"
    context: str = "default"
    profile: str = "external"
    number: str = ""
    target: str = ""
    extension: str = ""
    gateway: str = ""
    variable_map: dict[str, str] = field(default_factory=dict)


_DIAL = re.compile(
    r"^sofia/(?:gateway/(?P<gateway>[^/]+)/(?P<gw_number>[^@/]+)(?:@\S*)?"
    r"|(?P<profile>[^/]+)/(?P<number>[^@/]+)(?P<host>@\S+)?)$"
)


def split_variables(block: str) -> list[tuple[str, str]]:
    """Split ``a=1,b='x, y'`` on commas outside single quotes; strip the quotes."""
    items, current, quoted = [], [], False
    for char in block:
        if char == "'":
            quoted = not quoted
        if char == "," and not quoted:
            items.append("".join(current))
            current = []
            continue
        current.append(char)
    items.append("".join(current))
    variables = []
    for item in filter(None, items):
        name, separator, value = item.partition("=")
        if not separator or not name:
            continue
        if len(value) >= 2 and value[0] == value[-1] == "'":
            value = value[1:-1]
        variables.append((name.strip(), value))
    return variables


def _split_arguments(text: str) -> list[str]:
    """Split on spaces outside single quotes and outside the ``{}`` block's quotes."""
    arguments, current, quoted = [], [], False
    for char in text:
        if char == "'":
            quoted = not quoted
        if char == " " and not quoted:
            if current:
                arguments.append("".join(current))
            current = []
            continue
        current.append(char)
    if current:
        arguments.append("".join(current))
    return arguments


def parse_originate(argument: str) -> OriginateRequest:
    """Parse ``{vars}<dial string> <&app(arg)|exten> [dialplan] [context]``.

    Raise OriginateError with the cause FreeSWITCH reports; an unquoted space
    inside ``{}`` splits the block, so the dial string starts with a stray
    word and FreeSWITCH 1.10.12 fails with DESTINATION_OUT_OF_ORDER.
    """
    arguments = _split_arguments(argument.strip())
    if len(arguments) < 2:
        raise OriginateError(
            "USAGE",
            "-USAGE: <call url> <exten>|&<application_name>(<app_args>) [<dialplan>] [<context>] [<cid_name>] [<cid_num>] [<timeout_sec>]",  # noqa: E501
        )
    url, destination = arguments[0], arguments[1]
    variables: list[tuple[str, str]] = []
    if url.startswith("{"):
        end = url.find("}")
        if end < 0:
            raise OriginateError("DESTINATION_OUT_OF_ORDER", f"unterminated variable block in {url!r}")
        variables = split_variables(url[1:end])
        url = url[end + 1 :]
    match = _DIAL.match(url)
    if not match:
        raise OriginateError("DESTINATION_OUT_OF_ORDER", f"unsupported dial string {url!r}")
    request = OriginateRequest(variables=variables, dial_string=url, application="", application_arg="")
    request.variable_map = dict(variables)
    if match["gateway"]:
        request.gateway, request.number = match["gateway"], match["gw_number"]
        request.target = f"{request.number}@{request.gateway}"
    else:
        request.profile, request.number = match["profile"], match["number"]
        request.target = request.number + (match["host"] or "")
    _parse_destination(request, destination, arguments[2:])
    return request


def _parse_destination(request: OriginateRequest, destination: str, rest: list[str]) -> None:
    if destination.startswith("&"):
        name, _, argument = destination[1:].partition("(")
        request.application = name
        request.application_arg = argument[:-1] if argument.endswith(")") else argument
        return
    request.extension = destination
    if rest:
        request.dialplan = rest[0]
    if len(rest) > 1:
        request.context = rest[1]
