"""Rule pack loading, validation errors with file and line, reload and overrides."""

from __future__ import annotations

import shutil

import pytest

from dialer_common.compliance.packs import PACKS_DIR, PackError, PackSet, parse_pack

VALID = """id = "test-pack"
version = "1"
title = "Test pack"
country = "US"
purposes = ["telemarketing"]
timezones = ["America/New_York"]

[[windows]]
days = "mon-fri"
start = "09:00"
end = "17:00"

[[caps]]
scope = "number"
limit = 3
window = "24h"
"""


def test_shipped_packs_all_load():
    packs = PackSet.load()
    assert "us-federal" in packs.ids()
    assert "co-ley-2300" in packs.ids()
    assert len(packs) == len(list(PACKS_DIR.glob("*.toml")))


def test_shipped_florida_pack_content():
    florida = PackSet.load().get("us-fl")
    assert florida.states == frozenset({"FL"})
    assert florida.windows[0].start == 8 * 60
    assert florida.windows[0].end == 20 * 60
    assert florida.caps[0].limit == 3
    assert florida.caps[0].window_s == 86400


@pytest.mark.parametrize(
    ("old", "new", "line", "reason"),
    [
        ('timezones = ["America/New_York"]', 'timezones = ["America/Nueva_York"]', 6, "unknown time zone"),
        ('start = "09:00"', 'start = "18:00"', 10, "inverted window"),
        ('end = "17:00"', 'end = "25:00"', 11, "invalid end time"),
        ('days = "mon-fri"', 'days = "mon-fry"', 9, "invalid days"),
        ('window = "24h"', 'window = "1 day"', 16, "invalid window"),
        ('purposes = ["telemarketing"]', 'purposes = ["sales"]', 5, "invalid purposes"),
    ],
)
def test_bad_pack_names_line_and_reason(old, new, line, reason):
    with pytest.raises(PackError) as caught:
        parse_pack(VALID.replace(old, new), "bad.toml")
    assert caught.value.source == "bad.toml"
    assert caught.value.line == line
    assert reason in caught.value.reason


def test_overlapping_windows_rejected():
    text = VALID.replace(
        "[[caps]]", '[[windows]]\ndays = "fri-sat"\nstart = "16:00"\nend = "18:00"\n\n[[caps]]'
    )
    with pytest.raises(PackError) as caught:
        parse_pack(text, "overlap.toml")
    assert caught.value.line == 14
    assert "overlaps window 1" in caught.value.reason


def test_bad_closed_date_rejected():
    text = VALID.replace(
        'timezones = ["America/New_York"]', 'timezones = ["America/New_York"]\nclosed_dates = ["2026-02-30"]'
    )
    with pytest.raises(PackError) as caught:
        parse_pack(text, "date.toml")
    assert caught.value.line == 7
    assert "2026-02-30" in caught.value.reason


def test_toml_syntax_error_has_line():
    with pytest.raises(PackError) as caught:
        parse_pack(VALID.replace('version = "1"', 'version = "1'), "syntax.toml")
    assert caught.value.line == 2
    assert "syntax.toml:2" in str(caught.value)


def test_reload_keeps_previous_packs_on_error(tmp_path):
    for name in ("us-federal.toml", "us-fl.toml"):
        shutil.copy(PACKS_DIR / name, tmp_path / name)
    packs = PackSet.load(tmp_path)
    (tmp_path / "zz-bad.toml").write_text(VALID.replace('start = "09:00"', 'start = "18:00"'))
    (tmp_path / "us-fl.toml").write_text((PACKS_DIR / "us-fl.toml").read_text().replace('"20:00"', '"19:00"'))

    with pytest.raises(PackError) as caught:
        packs.reload(tmp_path)

    assert "zz-bad.toml:10" in str(caught.value)
    assert packs.ids() == ["us-federal", "us-fl"]
    assert packs.get("us-fl").windows[0].end == 20 * 60


def test_reload_applies_valid_change(tmp_path):
    shutil.copy(PACKS_DIR / "us-fl.toml", tmp_path / "us-fl.toml")
    packs = PackSet.load(tmp_path)
    (tmp_path / "us-fl.toml").write_text((PACKS_DIR / "us-fl.toml").read_text().replace('"20:00"', '"19:00"'))
    packs.reload(tmp_path)
    assert packs.get("us-fl").windows[0].end == 19 * 60


def _florida_override(body: str) -> str:
    return (
        f'id = "us-fl"\nversion = "acme-1"\ntitle = "Florida, stricter"\ncountry = "US"\n'
        f'purposes = ["telemarketing"]\n{body}'
    )


def test_override_may_narrow():
    packs = PackSet.load()
    override = parse_pack(
        _florida_override(
            '[[windows]]\ndays = "mon-fri"\nstart = "09:00"\nend = "19:00"\n\n'
            '[[caps]]\nscope = "number"\nlimit = 2\nwindow = "48h"\n'
        ),
        "acme.toml",
    )
    narrowed = packs.with_override(override).get("us-fl")
    assert narrowed.windows[0].start == 9 * 60
    assert narrowed.caps[0].limit == 2
    assert narrowed.version == "2026.1+tenant.acme-1"
    assert narrowed.states == frozenset({"FL"})


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            '[[windows]]\ndays = "mon-sun"\nstart = "07:30"\nend = "20:00"\n'
            '[[caps]]\nscope = "number"\nlimit = 3\nwindow = "24h"\n',
            "wider",
        ),
        (
            '[[windows]]\ndays = "mon-sun"\nstart = "08:00"\nend = "20:00"\n'
            '[[caps]]\nscope = "number"\nlimit = 4\nwindow = "24h"\n',
            "cap number",
        ),
        ('[[windows]]\ndays = "mon-sun"\nstart = "08:00"\nend = "20:00"\n', "cap number"),
        ('[[caps]]\nscope = "number"\nlimit = 3\nwindow = "24h"\n', "removes every window"),
    ],
)
def test_override_rejected_when_wider(body, reason):
    packs = PackSet.load()
    with pytest.raises(PackError) as caught:
        packs.with_override(parse_pack(_florida_override(body), "acme.toml"))
    assert reason in str(caught.value)
    assert packs.get("us-fl").windows[0].start == 8 * 60
