"""Exceptions shared by every tier.

    DialerError
    ├── ConfigError          a setting is missing or malformed
    ├── ValidationError      user input (a CSV row, a phone number, a form) is invalid
    ├── ProtocolError        a peer sent bytes that break its protocol (ESL, CDR)
    └── DatabaseUnavailable  PostgreSQL cannot be reached

Each message names the value that failed and what to do about it.
"""


class DialerError(Exception):
    """Base class of the project's own errors."""


class ConfigError(DialerError):
    """A setting is missing or malformed."""


class ValidationError(DialerError):
    """User input is invalid; the message names the value and the fix."""


class ProtocolError(DialerError):
    """A peer sent bytes that break its protocol."""


class DatabaseUnavailable(DialerError):
    """No connection to PostgreSQL could be opened or borrowed."""


def first_line(exc: BaseException) -> str:
    """Return the first line of ``exc``'s message (psycopg2 adds hint lines), or its type name when empty."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
