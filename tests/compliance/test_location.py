"""Resolving a lead's state and time zones from its ZIP code and state."""

from dialer_common.compliance.location import resolve


def test_hawaii_state_has_one_zone():
    location = resolve("+18085550100", state_code="HI")

    assert location.zones == ("Pacific/Honolulu",)


def test_american_samoa_zip_is_pago_pago():
    location = resolve("+18085550100", postal_code="96799")

    assert location.state == "AS"
    assert location.zones == ("Pacific/Pago_Pago",)


def test_other_hawaii_zip_is_honolulu():
    location = resolve("+18085550100", postal_code="96813")

    assert location.state == "HI"
    assert location.zones == ("Pacific/Honolulu",)
