"""Daily partitions of ``attempts`` and ``cdr``: create them ahead of time, archive and drop old ones.

Both tables are partitioned by range on a timestamptz column, one partition
per UTC day named ``<table>_YYYYMMDD``, plus ``<table>_default`` for rows of
days without a partition. ``dialer_ensure_daily_partitions`` (sql/0001)
creates day partitions and moves the default partition's rows of those days
into them.

Retention of one expired partition, in one transaction:

1. ``LOCK ... IN SHARE MODE`` on the partition, so no row can be added or
   changed while it is archived, then count its rows;
2. ``COPY`` it as CSV with a header into ``<dir>/<partition>.csv.gz.part``;
3. read the file back (gzip checks its CRC) and compare the number of CSV
   records with the count, then rename it to ``<partition>.csv.gz``;
4. ``DETACH PARTITION`` and ``DROP TABLE``, with ``lock_timeout`` so a long
   query on the parent makes the step fail instead of blocking every insert
   behind it; COMMIT.

A failure at any step rolls the transaction back, so the partition and its
rows stay where they were, and the command can simply run again.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from dialer_common.errors import DialerError

log = logging.getLogger(__name__)

TABLES = ("attempts", "cdr")
# A DETACH waits at most this long for its lock on the parent table, because
# every insert queues behind a waiting ACCESS EXCLUSIVE request.
DETACH_LOCK_TIMEOUT = "5s"


class ArchiveError(DialerError):
    """An archive file could not be written or does not match the partition's rows."""


@dataclass(frozen=True)
class RetiredPartition:
    """One expired day partition and what retention did with it."""

    table: str
    partition: str
    day: dt.date
    rows: int
    archive: Path | None
    dropped: bool


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def ensure_daily_partitions(conn, table: str, first_day: dt.date, days: int) -> int:
    """Create the day partitions of ``table`` for ``days`` days from ``first_day``; return how many were new.

    Rows of those days in the default partition move into the new partitions.
    Commits.
    """
    with conn.cursor() as cur:
        cur.execute("SELECT dialer_ensure_daily_partitions(%s::regclass, %s, %s)", (table, first_day, days))
        created = cur.fetchone()
    conn.commit()
    return _first_value(created)


def daily_partitions(conn, table: str) -> list[tuple[str, dt.date]]:
    """Return ``(partition name, day)`` of each day partition attached to ``table``, oldest first."""
    pattern = re.compile(rf"^{re.escape(table)}_(\d{{8}})$")
    with conn.cursor() as cur:
        cur.execute("SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = %s::regclass",
                    (table,))
        names = [_first_value(row) for row in cur.fetchall()]
    conn.rollback()
    found = []
    for name in names:
        match = pattern.match(name)
        if match:
            found.append((name, dt.datetime.strptime(match.group(1), "%Y%m%d").date()))
    return sorted(found, key=lambda item: item[1])


def move_default_rows(conn, table: str, before: dt.date) -> int:
    """Give every day before ``before`` that has rows in ``<table>_default`` its own partition.

    Returns the number of partitions created. Commits.
    """
    key_column = _partition_key(conn, table)
    with conn.cursor() as cur:
        cur.execute(
            f'SELECT DISTINCT ("{key_column}" AT TIME ZONE \'UTC\')::date FROM "{table}_default"'
            f' WHERE "{key_column}" < %s::date::timestamp AT TIME ZONE \'UTC\'',
            (before,),
        )
        days = sorted(_first_value(row) for row in cur.fetchall())
    conn.rollback()
    return sum(ensure_daily_partitions(conn, table, day, 1) for day in days)


def apply_retention(conn, keep_days: int, archive_dir: Path | None, dry_run: bool = False,
                    today: dt.date | None = None, tables: tuple[str, ...] = TABLES) -> list[RetiredPartition]:
    """Archive (unless ``archive_dir`` is None) and drop the day partitions older than ``keep_days`` days.

    The cutoff is ``today - keep_days`` (UTC): a partition whose day is
    before it expires. With ``dry_run`` nothing changes, and the result lists
    what would be archived and dropped, default-partition rows included.
    """
    if keep_days < 1:
        raise ValueError(f"invalid keep_days {keep_days}: expected at least 1")
    cutoff = (today or utc_today()) - dt.timedelta(days=keep_days)
    if archive_dir is not None and not dry_run:
        archive_dir.mkdir(parents=True, exist_ok=True)

    retired = []
    for table in tables:
        if dry_run:
            retired += _planned(conn, table, cutoff)
            continue
        moved = move_default_rows(conn, table, cutoff)
        if moved:
            log.info("retention.default_rows_moved table=%s partitions=%s", table, moved)
        for partition, day in daily_partitions(conn, table):
            if day < cutoff:
                retired.append(retire_partition(conn, table, partition, day, archive_dir))
    return retired


def retire_partition(conn, table: str, partition: str, day: dt.date,
                     archive_dir: Path | None) -> RetiredPartition:
    """Archive ``partition`` into ``archive_dir`` (when given), verify the file, then detach and drop it.

    Raises ArchiveError (nothing dropped) when the file does not match the
    partition's rows; database errors propagate, and in both cases the
    transaction is rolled back.
    """
    archive = None
    try:
        with conn.cursor() as cur:
            cur.execute(f'LOCK TABLE "{partition}" IN SHARE MODE')
            cur.execute(f'SELECT count(*) FROM "{partition}"')
            rows = _first_value(cur.fetchone())
            if archive_dir is not None:
                archive = _write_archive(cur, partition, rows, archive_dir)
            cur.execute(f"SET LOCAL lock_timeout = '{DETACH_LOCK_TIMEOUT}'")
            cur.execute(f'ALTER TABLE "{table}" DETACH PARTITION "{partition}"')
            cur.execute(f'DROP TABLE "{partition}"')
        conn.commit()
    except Exception:
        if not conn.closed:
            conn.rollback()
        raise
    log.info("retention.partition_dropped table=%s partition=%s rows=%s archive=%s", table, partition, rows,
             archive or "none")
    return RetiredPartition(table, partition, day, rows, archive, True)


def _write_archive(cur, partition: str, rows: int, archive_dir: Path) -> Path:
    target = archive_dir / f"{partition}.csv.gz"
    temporary = target.with_name(target.name + ".part")
    with gzip.open(temporary, "wb") as compressed:
        text = io.TextIOWrapper(compressed, encoding="utf-8", newline="")
        cur.copy_expert(f'COPY "{partition}" TO STDOUT WITH (FORMAT csv, HEADER true)', text)
        text.flush()
        text.detach()
    with temporary.open("rb") as written:
        os.fsync(written.fileno())

    archived = count_archive_rows(temporary)
    if archived != rows:
        temporary.unlink()
        raise ArchiveError(f"archive of {partition} has {archived} rows but the partition has {rows}: "
                           f"nothing was dropped; check the free space in {archive_dir} and run again")
    temporary.replace(target)
    return target


def count_archive_rows(path: Path) -> int:
    """Return the number of CSV records after the header in a gzip CSV archive; reading it checks the CRC."""
    try:
        with gzip.open(path, "rt", encoding="utf-8", newline="") as archive:
            records = sum(1 for _ in csv.reader(archive))
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        raise ArchiveError(f"archive {path} is unreadable ({exc}): nothing was dropped; run again") from exc
    return max(records - 1, 0)


def _planned(conn, table: str, cutoff: dt.date) -> list[RetiredPartition]:
    """List what retention would drop: the expired day partitions and, per day, expired default rows."""
    planned = []
    with conn.cursor() as cur:
        for partition, day in daily_partitions(conn, table):
            if day < cutoff:
                cur.execute(f'SELECT count(*) FROM "{partition}"')
                rows = _first_value(cur.fetchone())
                planned.append(RetiredPartition(table, partition, day, rows, None, False))
        key_column = _partition_key(conn, table)
        cur.execute(
            f'SELECT ("{key_column}" AT TIME ZONE \'UTC\')::date AS day, count(*) AS rows'
            f' FROM "{table}_default"'
            f' WHERE "{key_column}" < %s::date::timestamp AT TIME ZONE \'UTC\' GROUP BY 1 ORDER BY 1',
            (cutoff,),
        )
        for row in cur.fetchall():
            day, rows = (row["day"], row["rows"]) if isinstance(row, dict) else row
            planned.append(RetiredPartition(table, f"{table}_default", day, rows, None, False))
    conn.rollback()
    return sorted(planned, key=lambda item: item.day)


def _partition_key(conn, table: str) -> str:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT a.attname FROM pg_partitioned_table p"
            " JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]"
            " WHERE p.partrelid = %s::regclass",
            (table,),
        )
        row = cur.fetchone()
    if row is None:
        raise ValueError(f"table {table} is not partitioned: expected one of {', '.join(TABLES)}")
    return _first_value(row)


def _first_value(row):
    # The project's connections return dict rows, plain psycopg2 ones tuples.
    return next(iter(row.values())) if isinstance(row, dict) else row[0]
