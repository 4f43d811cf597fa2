"""Load fs_scripts the way mod_python3 does: script directory on sys.path, fake ``freeswitch``."""

import importlib
import sys
from pathlib import Path

import pytest

from tests.fs_scripts import fake_freeswitch

SCRIPT_DIR = Path(__file__).resolve().parents[2] / "fs_scripts"


@pytest.fixture
def freeswitch(monkeypatch):
    """Install the fake ``freeswitch`` module with no channels."""
    fake_freeswitch.reset()
    monkeypatch.setitem(sys.modules, "freeswitch", fake_freeswitch)
    yield fake_freeswitch
    fake_freeswitch.reset()


@pytest.fixture
def dialer_answer(freeswitch, monkeypatch):
    """Import dialer_answer from the script directory, reloaded as mod_python3 does on each call."""
    monkeypatch.syspath_prepend(str(SCRIPT_DIR))
    module = importlib.import_module("dialer_answer")
    return importlib.reload(module)
