"""Phone number normalisation, masking and time zones."""

import pytest

from dialer_common.errors import ValidationError
from dialer_common.phone import InvalidPhoneNumber, is_fictional, mask, timezones_for, to_e164

ACCEPTED = [
    ("(305) 555-0123", "+13055550123"),
    ("305.555.0123", "+13055550123"),
    ("+1 305 555 0123", "+13055550123"),
    ("1-305-555-0123", "+13055550123"),
    ("3055550123", "+13055550123"),
    ("13055550123", "+13055550123"),
    ("305/555-0123", "+13055550123"),
    ("  305 555 0123\u00a0", "+13055550123"),
    ("3055550123.0", "+13055550123"),
    ("3055550123,0", "+13055550123"),
    ("+52 55 1234 5678", "+525512345678"),
    ("+52 1 55 1234 5678", "+525512345678"),
    ("0052 55 1234 5678", "+525512345678"),
    ("011 52 55 1234 5678", "+525512345678"),
    ("+57 301 234 5678", "+573012345678"),
    ("+56 9 6123 4567", "+56961234567"),
    ("+54 9 11 2345 6789", "+5491123456789"),
    ("(907) 555-0100", "+19075550100"),
]


@pytest.mark.parametrize(("raw", "expected"), ACCEPTED)
def test_to_e164_accepts_typed_formats(raw, expected):
    assert to_e164(raw) == expected


def test_to_e164_default_region():
    assert to_e164("55 1234 5678", default_region="MX") == "+525512345678"


REJECTED = [
    ("555-01", "too short"),
    ("", "missing phone number"),
    ("   ", "missing phone number"),
    ("abc", "contains letters"),
    ("305-555-012a", "contains letters"),
    ("3.05556E+9", "scientific notation"),
    ("3,05556E+09", "scientific notation"),
    ("305 555 0123 ext. 45", "extensions cannot be dialed"),
    ("+1 305 555 0123 x12", "extensions cannot be dialed"),
    ("305 555 0123 #12", "extensions cannot be dialed"),
    ("305_555_0123", "contains '_'"),
    ("999 555 0123", "no such number"),
    ("+999 123 4567", "unknown country code"),
    ("305555012345678", "too long"),
]


@pytest.mark.parametrize(("raw", "reason"), REJECTED)
def test_to_e164_rejects_with_reason(raw, reason):
    with pytest.raises(InvalidPhoneNumber) as caught:
        to_e164(raw)
    message = str(caught.value)
    assert reason in message
    if raw.strip():
        assert f"'{raw}'" in message


def test_invalid_number_is_validation_error():
    with pytest.raises(ValidationError, match="e.g. \\+1 305 555 0123"):
        to_e164("555-01")


def test_invalid_number_renders_translated():
    with pytest.raises(InvalidPhoneNumber) as caught:
        to_e164("555-01")
    rendered = caught.value.render(lambda template: template.replace("too short", "demasiado corto"))
    assert rendered.startswith("invalid phone number '555-01': demasiado corto")


def test_fictional_range_is_valid():
    assert to_e164("212 555 0199") == "+12125550199"
    assert is_fictional("+12125550199")
    assert not is_fictional("+12125550200")
    assert not is_fictional("+525550100000")


def test_mask_keeps_last_four():
    assert mask("+13055550123") == "***0123"
    assert mask("(305) 555-0123") == "***0123"
    assert mask("") == "***"
    assert mask(None) == "***"


def test_timezones_for_numbers():
    assert timezones_for("+13055550123") == ["America/New_York"]
    assert timezones_for("+16025550100") == ["America/Phoenix"]
    assert timezones_for("+18085550100") == ["Pacific/Honolulu"]
    assert "America/Anchorage" in timezones_for("+19075550100")
    assert timezones_for("+525512345678") == ["America/Mexico_City"]
    assert timezones_for("not a number") == []
