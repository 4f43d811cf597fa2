"""Phone numbers: normalisation to E.164, masking for logs, time zones.

Input is what people type into Excel or Google Sheets: ``(305) 555-0123``,
``305.555.0123``, ``1-305-555-0123``, ``+52 55 1234 5678``, or a number that
Excel stored as a float (``3055550123.0``). Parsing and validation use the
``phonenumbers`` library (Google's libphonenumber metadata).

Fictional numbers: the North American 555-0100 to 555-0199 range is reserved
for fiction, and the demo data uses it. phonenumbers 9.0.43 does not single
it out, so ``+1 305 555 0123`` is valid like any number in an assigned area
code, while an unassigned area code (``999 555 0123``) is still rejected.
:func:`is_fictional` identifies these numbers for callers that must not dial
them on a real carrier.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult
from phonenumbers import timezone as phone_timezone

from dialer_common.errors import ValidationError


def N_(message: str) -> str:
    """Mark a message for translation without translating it (gettext's ``N_``)."""
    return message


# Reasons a number is rejected. Each template takes ``value``.
EMPTY = N_("missing phone number; write the number with its area code, e.g. +1 305 555 0123")
SCIENTIFIC = N_(
    "invalid phone number '{value}': Excel converted it to scientific notation and dropped digits, "
    "so it cannot be recovered; format the column as Text in Excel and export the file again"
)
EXTENSION = N_(
    "invalid phone number '{value}': extensions cannot be dialed; remove the extension "
    "and keep only the main number"
)
LETTERS = N_(
    "invalid phone number '{value}': it contains letters; write it with digits only, e.g. +1 305 555 0123"
)
CHARACTERS = N_(
    "invalid phone number '{value}': it contains '{character}'; use only digits, spaces, '+', '-', '.' "
    "and parentheses"
)
NOT_A_NUMBER = N_(
    "invalid phone number '{value}': it is not a phone number; write it with the area code, "
    "e.g. +1 305 555 0123, or with the country code, e.g. +52 55 1234 5678"
)
TOO_SHORT = N_(
    "invalid phone number '{value}': too short; write it with the area code, e.g. +1 305 555 0123, "
    "or with the country code, e.g. +52 55 1234 5678"
)
TOO_LONG = N_("invalid phone number '{value}': too long; check for extra digits or two numbers in one cell")
COUNTRY_CODE = N_(
    "invalid phone number '{value}': unknown country code; write it as + and the country code, "
    "e.g. +57 301 234 5678"
)
NOT_VALID = N_(
    "invalid phone number '{value}': no such number in its country (wrong area code or length); "
    "check the digits"
)

_SCIENTIFIC = re.compile(r"^[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+$")
_EXCEL_FLOAT = re.compile(r"^\+?\d+[.,]0+$")
_EXTENSION = re.compile(
    r"(?:\bext\b\.?|\bextension\b|\bextensi[oó]n\b|\banexo\b|\bx|#)\s*\d+\s*$", re.IGNORECASE
)
_ALLOWED = re.compile(r"[0-9+\-.() /\u00a0]")


class TranslatableValidationError(ValidationError):
    """A ValidationError whose message can be rendered in the user's language.

    ``template`` is the untranslated message, marked with :func:`N_`, and
    ``params`` fills its ``{name}`` fields. ``str(error)`` is the English
    message.
    """

    def __init__(self, template: str, **params: object) -> None:
        self.template = template
        self.params = params
        super().__init__(self.render())

    def render(self, gettext=lambda message: message) -> str:
        """Format the message, translated by ``gettext`` when given."""
        return gettext(self.template).format(**self.params)


class InvalidPhoneNumber(TranslatableValidationError):
    """A phone number cannot be normalised to E.164; ``value`` is the number as typed."""

    def __init__(self, value: str, template: str, **params: object) -> None:
        self.value = value
        super().__init__(template, value=value, **params)


def _clean(raw: str) -> str:
    """Undo what spreadsheets do to numbers and reject what cannot be undone."""
    text = raw.strip().replace("\u00a0", " ")
    if not text:
        raise InvalidPhoneNumber(raw, EMPTY)
    if _SCIENTIFIC.match(text):
        raise InvalidPhoneNumber(raw, SCIENTIFIC)
    if _EXCEL_FLOAT.match(text):
        text = re.split(r"[.,]", text)[0]
    if _EXTENSION.search(text):
        raise InvalidPhoneNumber(raw, EXTENSION)
    for character in text:
        if character.isalpha():
            raise InvalidPhoneNumber(raw, LETTERS)
        if not _ALLOWED.match(character):
            raise InvalidPhoneNumber(raw, CHARACTERS, character=character)
    # Outside North America "00" is the international prefix, and NANP
    # numbers never start with 0, so "0052 55 ..." means "+52 55 ...".
    if text.startswith("00"):
        text = "+" + text[2:]
    return text


def _parse(raw: str, text: str, default_region: str) -> phonenumbers.PhoneNumber:
    try:
        number = phonenumbers.parse(text, default_region)
    except NumberParseException as error:
        if error.error_type == NumberParseException.INVALID_COUNTRY_CODE:
            raise InvalidPhoneNumber(raw, COUNTRY_CODE) from None
        if error.error_type in (NumberParseException.TOO_SHORT_NSN, NumberParseException.TOO_SHORT_AFTER_IDD):
            raise InvalidPhoneNumber(raw, TOO_SHORT) from None
        if error.error_type == NumberParseException.TOO_LONG:
            raise InvalidPhoneNumber(raw, TOO_LONG) from None
        raise InvalidPhoneNumber(raw, NOT_A_NUMBER) from None
    if number.extension:
        raise InvalidPhoneNumber(raw, EXTENSION)

    # Mexico dropped the "1" after +52 for mobiles in 2019, but old contact
    # lists still carry it: +52 1 55 1234 5678 is +52 55 1234 5678.
    national = str(number.national_number)
    if number.country_code == 52 and len(national) == 11 and national.startswith("1"):
        number = phonenumbers.parse(f"+52{national[1:]}", None)
    return number


def to_e164(raw: str, default_region: str = "US") -> str:
    """Normalise a typed phone number to E.164 (``+13055550123``).

    Numbers without a ``+`` country code are read in ``default_region``.
    Raises :class:`InvalidPhoneNumber` (a ValidationError) naming the value
    and the fix.
    """
    text = _clean(raw)
    number = _parse(raw, text, default_region)

    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason == ValidationResult.TOO_SHORT:
        raise InvalidPhoneNumber(raw, TOO_SHORT)
    if reason == ValidationResult.TOO_LONG:
        raise InvalidPhoneNumber(raw, TOO_LONG)
    if reason == ValidationResult.INVALID_COUNTRY_CODE:
        raise InvalidPhoneNumber(raw, COUNTRY_CODE)
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber(raw, NOT_VALID)
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def mask(number: str | None) -> str:
    """Hide all but the last 4 digits, for logs: ``+13055550123`` -> ``***0123``."""
    if not number:
        return "***"
    digits = re.sub(r"\D", "", number)
    return "***" + digits[-4:]


def timezones_for(e164: str) -> list[str]:
    """Return the IANA time zones of a number's area, in phonenumbers' order.

    Returns an empty list when the number is unparsable or its area is
    unknown (phonenumbers' ``Etc/Unknown``).
    """
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return []
    zones = phone_timezone.time_zones_for_number(number)
    return [zone for zone in zones if zone != "Etc/Unknown"]


def is_fictional(e164: str) -> bool:
    """Tell whether a number is in the North American fictional range 555-0100..555-0199."""
    return bool(re.fullmatch(r"\+1\d{3}55501\d\d", e164))
