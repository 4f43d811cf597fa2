"""Fixtures for the data tests: lead CSV files written byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def write_csv(tmp_path: Path):
    """Return a function that writes text to a CSV file in a given encoding and returns its path."""

    def write(text: str, name: str = "leads.csv", encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        return path

    return write
