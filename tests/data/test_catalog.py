"""The Spanish catalog translates every message of the data modules and the CLI."""

from pathlib import Path

from babel.messages.extract import extract_from_file

from dialer_common.cli import load_translations

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "dialer_common" / name for name in ("phone.py", "leads.py", "cli.py", "demo.py", "cdr/messages.py", "cdr/loader.py")]
SOURCES += [ROOT / "cdr_receiver" / "server.py", ROOT / "cdr_receiver" / "__main__.py"]


def extracted_messages():
    messages = set()
    for path in SOURCES:
        for _, message, _, _ in extract_from_file("python", path, keywords={"N_": None, "_": None}):
            messages.add(message)
    return messages


def test_catalog_translates_every_message():
    spanish = load_translations("es")
    messages = extracted_messages()
    assert len(messages) > 50
    untranslated = sorted(message for message in messages if spanish.gettext(message) == message)
    # "error: " reads the same in both languages.
    assert untranslated == ["%(prog)s: error: %(message)s\n", "error: "]


def test_translations_keep_placeholders():
    spanish = load_translations("es")
    for message in extracted_messages():
        for placeholder in ("{value}", "{row}", "{path}", "{count}", "{email}"):
            if placeholder in message:
                assert placeholder in spanish.gettext(message), message


def test_english_needs_no_catalog():
    assert load_translations("en").gettext("rows") == "rows"
