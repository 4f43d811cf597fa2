"""Partition retention against real PostgreSQL: archive files, drops, default-partition rows, the CLI.

The tests run in a database of their own, because retention drops tables.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg2
import pytest

from dialer_common import db, partitions
from dialer_common.partitions import ArchiveError

ROOT = Path(__file__).resolve().parents[2]
FIRST_DAY = dt.date(2001, 3, 1)
# With 400 days kept, FIRST_DAY + 3 is the first day that stays.
TODAY = FIRST_DAY + dt.timedelta(days=403)
# A value that CSV must quote: comma, quotes, a newline and non-ASCII text.
AWKWARD_RAW = json.dumps({"variables": {"caller_id_name": 'Peña, "Test"\nline two'}}, ensure_ascii=False)


@pytest.fixture(scope="module")
def retention_url(base_config):
    name = f"dialer_retention_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    base = base_config.database_url.rpartition("/")[0]
    admin = psycopg2.connect(f"{base}/postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    url = f"{base}/{name}"
    db.apply_migrations(url)
    yield url
    with admin.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.close()


@pytest.fixture
def rconn(retention_url):
    connection = db.connect(retention_url)
    yield connection
    _drop_test_partitions(connection)
    connection.close()


def _drop_test_partitions(conn) -> None:
    for table in partitions.TABLES:
        for name, day in partitions.daily_partitions(conn, table):
            if day < partitions.utc_today() - dt.timedelta(days=100):
                with db.transaction(conn) as cur:
                    cur.execute(f'DROP TABLE "{name}"')
        key_column = "started_at" if table == "cdr" else "created_at"
        with db.transaction(conn) as cur:
            cur.execute(f"DELETE FROM {table}_default WHERE {key_column} < '2010-01-01'")


def _at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)


def _insert_cdr(conn, day: dt.date, raw: str = "{}") -> str:
    call_uuid = str(uuid.uuid4())
    with db.transaction(conn) as cur:
        cur.execute("INSERT INTO cdr (tenant_id, call_uuid, leg, started_at, raw)"
                    " VALUES (1, %s, 'a', %s, %s)", (call_uuid, _at(day), raw))
    return call_uuid


def _insert_attempt(conn, day: dt.date) -> str:
    attempt_id = str(uuid.uuid4())
    with db.transaction(conn) as cur:
        cur.execute("INSERT INTO attempts (id, tenant_id, campaign_id, lead_id, phone_e164, created_at)"
                    " VALUES (%s, 1, 1, 1, '+13055550100', %s)", (attempt_id, _at(day)))
    return attempt_id


def _days(count: int) -> list[dt.date]:
    return [FIRST_DAY + dt.timedelta(days=offset) for offset in range(count)]


def _exists(conn, name: str) -> bool:
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass(%s) IS NOT NULL AS present", (name,))
        present = cur.fetchone()["present"]
    conn.rollback()
    return present


def _archive_rows(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as archive:
        return list(csv.DictReader(archive))


def _prepare_five_days(conn) -> dict[dt.date, str]:
    call_uuids = {}
    for table in partitions.TABLES:
        assert partitions.ensure_daily_partitions(conn, table, FIRST_DAY, 5) == 5
    for day in _days(5):
        call_uuids[day] = _insert_cdr(conn, day, AWKWARD_RAW)
        _insert_attempt(conn, day)
    return call_uuids


def test_retention_archives_old_partitions(rconn, tmp_path):
    call_uuids = _prepare_five_days(rconn)

    retired = partitions.apply_retention(rconn, 400, tmp_path, today=TODAY)

    assert [(item.table, item.day) for item in retired] == [
        (table, day) for table in partitions.TABLES for day in _days(3)
    ]
    assert all(item.rows == 1 and item.dropped for item in retired)
    for day in _days(3):
        name = f"cdr_{day:%Y%m%d}"
        assert not _exists(rconn, name)
        [row] = _archive_rows(tmp_path / f"{name}.csv.gz")
        assert row["call_uuid"] == call_uuids[day]
        assert row["raw"] == AWKWARD_RAW
        assert len(_archive_rows(tmp_path / f"attempts_{day:%Y%m%d}.csv.gz")) == 1
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        f"{table}_{day:%Y%m%d}.csv.gz" for table in partitions.TABLES for day in _days(3)
    )


def test_retention_keeps_recent_partitions(rconn, tmp_path):
    call_uuids = _prepare_five_days(rconn)

    partitions.apply_retention(rconn, 400, tmp_path, today=TODAY)

    for day in _days(5)[3:]:
        assert _exists(rconn, f"cdr_{day:%Y%m%d}")
        assert _exists(rconn, f"attempts_{day:%Y%m%d}")
        with rconn.cursor() as cur:
            cur.execute("SELECT count(*) AS n FROM cdr WHERE call_uuid = %s", (call_uuids[day],))
            assert cur.fetchone()["n"] == 1
        rconn.rollback()


def test_retention_moves_default_rows(rconn, tmp_path):
    old_day = FIRST_DAY - dt.timedelta(days=30)
    recent_day = TODAY - dt.timedelta(days=10)
    old_uuid = _insert_cdr(rconn, old_day)
    recent_uuid = _insert_cdr(rconn, recent_day)

    retired = partitions.apply_retention(rconn, 400, tmp_path, today=TODAY, tables=("cdr",))

    assert [(item.partition, item.rows) for item in retired] == [(f"cdr_{old_day:%Y%m%d}", 1)]
    [row] = _archive_rows(tmp_path / f"cdr_{old_day:%Y%m%d}.csv.gz")
    assert row["call_uuid"] == old_uuid
    with rconn.cursor() as cur:
        cur.execute("SELECT call_uuid::text AS call_uuid FROM cdr_default WHERE started_at < '2010-01-01'")
        assert [found["call_uuid"] for found in cur.fetchall()] == [recent_uuid]
    rconn.rollback()


def test_retention_dry_run_changes_nothing(rconn, tmp_path):
    _prepare_five_days(rconn)
    old_day = FIRST_DAY - dt.timedelta(days=30)
    _insert_cdr(rconn, old_day)

    planned = partitions.apply_retention(rconn, 400, tmp_path / "archive", dry_run=True, today=TODAY)

    assert [(item.partition, item.rows) for item in planned if item.table == "cdr"] == [
        ("cdr_default", 1), *((f"cdr_{day:%Y%m%d}", 1) for day in _days(3))
    ]
    assert not any(item.dropped for item in planned)
    assert not (tmp_path / "archive").exists()
    assert all(_exists(rconn, f"cdr_{day:%Y%m%d}") for day in _days(5))


def test_retention_without_archive_drops(rconn, tmp_path):
    _prepare_five_days(rconn)

    retired = partitions.apply_retention(rconn, 400, None, today=TODAY)

    assert len(retired) == 6
    assert all(item.archive is None and item.dropped for item in retired)
    assert not _exists(rconn, f"cdr_{FIRST_DAY:%Y%m%d}")
    assert list(tmp_path.iterdir()) == []


def test_retention_write_failure_keeps_partition(rconn, tmp_path):
    _prepare_five_days(rconn)
    name = f"cdr_{FIRST_DAY:%Y%m%d}"
    # A folder where the temporary archive file should go makes the write fail.
    (tmp_path / f"{name}.csv.gz.part").mkdir()

    with pytest.raises(IsADirectoryError):
        partitions.retire_partition(rconn, "cdr", name, FIRST_DAY, tmp_path)

    assert _exists(rconn, name)
    assert not (tmp_path / f"{name}.csv.gz").exists()
    with rconn.cursor() as cur:
        cur.execute(f"SELECT count(*) AS n FROM {name}")
        assert cur.fetchone()["n"] == 1
    rconn.rollback()


def test_archive_truncated_file_rejected(tmp_path):
    path = tmp_path / "cdr_20010301.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as archive:
        archive.write("id,raw\n" + "".join(f"{index},x\n" for index in range(1000)))
    path.write_bytes(path.read_bytes()[:-20])

    with pytest.raises(ArchiveError, match="unreadable"):
        partitions.count_archive_rows(path)


def test_archive_counts_quoted_newlines(tmp_path):
    path = tmp_path / "cdr_20010301.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8", newline="") as archive:
        csv.writer(archive).writerows([["id", "raw"], [1, "a\nb"], [2, 'c,"d"']])

    assert partitions.count_archive_rows(path) == 2


def _run_cli(url: str, *args: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("DIALER_")}
    environment.update(DIALER_DATABASE_URL=url, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "dialer_common.cli", *args], capture_output=True, text=True,
                          env=environment, cwd=ROOT, timeout=60)


def test_cli_retention_lists_and_drops(retention_url, rconn, tmp_path):
    old_day = partitions.utc_today() - dt.timedelta(days=500)
    partitions.ensure_daily_partitions(rconn, "cdr", old_day, 1)
    _insert_cdr(rconn, old_day)
    name = f"cdr_{old_day:%Y%m%d}"

    listed = _run_cli(retention_url, "--lang", "en", "db", "retention", "--dry-run", "--archive-dir",
                      str(tmp_path))
    dropped = _run_cli(retention_url, "--lang", "en", "db", "retention", "--archive-dir", str(tmp_path))
    again = _run_cli(retention_url, "--lang", "es", "db", "retention", "--archive-dir", str(tmp_path))

    assert listed.returncode == 0, listed.stderr
    assert f"cdr: {name} ({old_day}, 1 rows) would be archived and dropped" in listed.stdout
    assert dropped.returncode == 0, dropped.stderr
    archive = tmp_path / f"{name}.csv.gz"
    assert f"cdr: {name} ({old_day}, 1 rows) archived to {archive} and dropped" in dropped.stdout
    assert again.returncode == 0, again.stderr
    assert "Nada que eliminar" in again.stdout
    assert not _exists(rconn, name)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--keep-days", "30"], "invalid --keep-days 30; keep at least 31 days"),
        (["--archive-dir", "x", "--no-archive"], "--archive-dir and --no-archive exclude each other"),
    ],
    ids=["too few days", "archive conflict"],
)
def test_cli_retention_bad_options(retention_url, args, message):
    result = _run_cli(retention_url, "--lang", "en", "db", "retention", *args)

    assert result.returncode == 1
    assert message in result.stderr
