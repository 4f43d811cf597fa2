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
import sys
from collections.abc import Callable
from pathlib import Path

import psycopg2

from dialer_common import db
from dialer_common.cdr.parse import CdrError
from dialer_common.cdr.store import insert_cdr, parse_cdr
from dialer_common.config import Config
from dialer_common.errors import first_line
from dialer_common.phone import N_

log = logging.getLogger(__name__)

NOT_A_FOLDER = N_("{path} is not a folder: pass mod_json_cdr's err-log-dir")
CANNOT_CONNECT = N_("cannot connect to the database ({error}): check DIALER_DATABASE_URL")
CONNECTION_LOST = N_("the database connection failed while loading {file} ({error}): fix it and run the command "
                     "again; the files not loaded yet stay in place")
SUMMARY = N_("stored={stored} duplicate={duplicate} rejected={rejected}")
REJECTED_WHERE = N_("rejected files and their reasons are in {path}")


class ConnectionLost(Exception):
    """The database connection failed while loading ``file``."""

    def __init__(self, file: Path, error: psycopg2.Error) -> None:
        super().__init__(str(error).strip())
        self.file = file


def load_file(conn, path: Path) -> str:
    """Store one CDR file; return 'stored' or 'duplicate'. Raises CdrError when it is unusable.

    With ``encode=true`` or ``base64``, mod_json_cdr writes the encoded text
    without its ``cdr=`` prefix, so such a file is decoded as the form body
    it would have posted.
    """
    data = path.read_bytes().strip()
    content_type = ""
    if data.startswith((b"%7B", b"%7b", b"eyJ")):
        data = b"cdr=" + data
        content_type = "application/x-www-form-urlencoded"
    row = parse_cdr(data, content_type, path.name.split(".", 1)[0])
    return "stored" if insert_cdr(conn, row) else "duplicate"


def _move(path: Path, folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    target = folder / path.name
    shutil.move(str(path), target)
    return target


def _reject_if_present(directory: Path, path: Path, reason: str, message: str, call_uuid: str | None) -> None:
    try:
        target = _move(path, directory / "rejected")
    except FileNotFoundError:
        return
    target.with_name(target.name + ".reason.txt").write_text(f"{reason}: {message}\n", encoding="utf-8")
    log.warning("cdr_load.rejected file=%s call_uuid=%s reason=%s", path.name, call_uuid, reason)


def load_directory(conn, directory: Path) -> dict[str, int]:
    """Load every ``*.cdr.json`` file in ``directory``; return counts by outcome.

    Raises ConnectionLost, naming the file, when the database connection fails.
    """
    counts = {"stored": 0, "duplicate": 0, "rejected": 0}
    for path in sorted(directory.glob("*.cdr.json")):
        if not path.is_file():
            log.warning("cdr_load.skipped file=%s reason=not_a_file", path.name)
            continue
        try:
            outcome = load_file(conn, path)
            _move(path, directory / "loaded")
        except FileNotFoundError:
            # Another run of the command took the file meanwhile.
            conn.rollback()
            log.warning("cdr_load.skipped file=%s reason=taken_by_another_run", path.name)
            continue
        except CdrError as error:
            conn.rollback()
            _reject_if_present(directory, path, error.reason, str(error), error.call_uuid)
            counts["rejected"] += 1
            continue
        except (psycopg2.OperationalError, psycopg2.InterfaceError) as error:
            raise ConnectionLost(path, error) from error
        except psycopg2.Error as error:
            # The database rejected this row (a value out of range, a
            # constraint): set it aside and go on with the other files.
            conn.rollback()
            _reject_if_present(directory, path, "database_rejected", first_line(error), None)
            counts["rejected"] += 1
            continue
        counts[outcome] += 1
    return counts


def main(argv: list[str] | None = None, gettext: Callable[[str], str] = str) -> int:
    """Run ``dialer cdr load DIR``; return the exit status. ``gettext`` translates the messages."""
    parser = argparse.ArgumentParser(
        prog="dialer cdr load",
        description="Store the *.cdr.json files that mod_json_cdr wrote to its err-log-dir.",
    )
    parser.add_argument("directory", type=Path, help="the err-log-dir folder holding *.cdr.json files")
    args = parser.parse_args(argv)

    if not args.directory.is_dir():
        _error(gettext, NOT_A_FOLDER, path=args.directory)
        return 1
    config = Config.from_env()
    try:
        conn = db.connect(config.database_url, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        _error(gettext, CANNOT_CONNECT, error=str(exc).strip())
        return 1

    try:
        counts = load_directory(conn, args.directory)
    except ConnectionLost as exc:
        _error(gettext, CONNECTION_LOST, file=exc.file, error=exc)
        return 1
    finally:
        conn.close()

    print(gettext(SUMMARY).format(**counts))
    if counts["rejected"]:
        print(gettext(REJECTED_WHERE).format(path=args.directory / "rejected"))
        return 2
    return 0


def _error(gettext: Callable[[str], str], template: str, **values) -> None:
    print("dialer: " + gettext("error: ") + gettext(template).format(**values), file=sys.stderr)
