"""``dialer cdr load DIR``: store the CDRs mod_json_cdr left in its err-log-dir.

When every post of a CDR fails, FreeSWITCH writes the body (plus a newline)
to ``<err-log-dir>/<uuid>.cdr.json`` and never sends it again. This command
stores each such file like ``POST /api/cdr`` would, moves it to
``DIR/loaded/`` (stored or already stored) or to ``DIR/rejected/`` with a
``<name>.reason.txt`` beside it, and prints the counts.

Exit status: 0 when every file was loaded, 2 when some were rejected, 1 when
the folder or the database is unusable (files already moved stay moved and
the rest stay in place, so a rerun continues).
"""

from __future__ import annotations

import argparse
import logging
import shutil
from pathlib import Path

import psycopg2

from dialer_common import db
from dialer_common.cdr.parse import CdrError
from dialer_common.cdr.store import insert_cdr, parse_cdr
from dialer_common.config import Config

log = logging.getLogger(__name__)


def load_file(conn, path: Path) -> str:
    """Store one CDR file; return 'stored' or 'duplicate'. Raises CdrError when it is unusable."""
    row = parse_cdr(path.read_bytes(), "", path.name.split(".", 1)[0])
    return "stored" if insert_cdr(conn, row) else "duplicate"


def _move(path: Path, folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    target = folder / path.name
    shutil.move(str(path), target)
    return target


def load_directory(conn, directory: Path) -> dict[str, int]:
    """Load every ``*.cdr.json`` in ``directory``; return counts by outcome."""
    counts = {"stored": 0, "duplicate": 0, "rejected": 0}
    for path in sorted(directory.glob("*.cdr.json")):
        try:
            outcome = load_file(conn, path)
        except CdrError as error:
            conn.rollback()
            target = _move(path, directory / "rejected")
            reason = f"{error.reason}: {error}\n"
            target.with_name(target.name + ".reason.txt").write_text(reason, encoding="utf-8")
            log.warning("cdr_load.rejected file=%s call_uuid=%s reason=%s", path.name, error.call_uuid,
                        error.reason)
            counts["rejected"] += 1
            continue
        _move(path, directory / "loaded")
        counts[outcome] += 1
    return counts


def main(argv: list[str] | None = None) -> int:
    """Run ``dialer cdr load DIR``; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="dialer cdr load",
        description="Store the *.cdr.json files that mod_json_cdr wrote to its err-log-dir.",
    )
    parser.add_argument("directory", type=Path, help="the err-log-dir folder holding *.cdr.json files")
    args = parser.parse_args(argv)

    if not args.directory.is_dir():
        print(f"error: {args.directory} is not a folder: pass mod_json_cdr's err-log-dir")
        return 1
    config = Config.from_env()
    try:
        conn = db.connect(config.database_url, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        print(f"error: cannot connect to the database ({str(exc).strip()}): check DIALER_DATABASE_URL")
        return 1

    try:
        counts = load_directory(conn, args.directory)
    except psycopg2.Error as exc:
        print(f"error: database failure ({str(exc).strip()}): fix it and run the command again")
        return 1
    finally:
        conn.close()

    print(f"stored={counts['stored']} duplicate={counts['duplicate']} rejected={counts['rejected']}")
    if counts["rejected"]:
        print(f"rejected files and their reasons are in {args.directory / 'rejected'}")
        return 2
    return 0
