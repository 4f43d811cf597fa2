"""Group commit for CDR posts.

Request threads parse a CDR and hand the row to :meth:`CdrCommitter.submit`,
then wait on the returned :class:`Ticket`. The committer thread takes what
has arrived (up to ``max_batch`` rows, waiting at most ``linger_s`` for more),
writes it with one COPY and one COMMIT, and only then resolves each ticket,
so a request returns 2xx only after the commit. An event loop that batches
rows itself (the CDR receiver) calls :meth:`CdrCommitter.store_now` instead,
with the same rules.

When a row of the batch is stored already, the COPY fails with a unique
violation and the batch is written again with ``INSERT ... ON CONFLICT DO
NOTHING RETURNING``, so each request still learns whether its row was new
or a duplicate.

Failures, per ticket:

- the database cannot be reached or the connection breaks: every ticket of
  the batch gets :class:`DatabaseUnavailable` (503, FreeSWITCH retries);
- any other database error rolls the batch back, and its rows are tried
  again one per transaction, so one row the database rejects cannot keep the
  others out; a row that fails alone gets :class:`BatchFailed`;
- an unknown tenant gets a ``CdrError`` (422) and the rest of the batch is
  stored;
- a full queue raises :class:`QueueFull` from ``submit`` (503).
"""

from __future__ import annotations

import atexit
import io
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime

import psycopg2
import psycopg2.errors
import psycopg2.extras

from dialer_common.cdr.store import COLUMNS, TenantCache, sql_params, unknown_tenant_error
from dialer_common.errors import DatabaseUnavailable, first_line

log = logging.getLogger(__name__)

MAX_BATCH = 200
LINGER_S = 0.003
MAX_PENDING = 1000
# The committer thread ends (and closes its connection) after this long
# without a CDR, and starts again on the next one.
IDLE_EXIT_S = 30.0
# How often an idle committer thread checks whether it was closed.
POLL_S = 0.1

INSERT_BATCH_SQL = (
    f"INSERT INTO cdr ({', '.join(COLUMNS)}) VALUES %s"
    " ON CONFLICT DO NOTHING RETURNING call_uuid::text, leg, started_at"
)
# A COPY line ends with raw, which _copy_line escapes as bytes.
COLUMNS_BEFORE_RAW = tuple(name for name in COLUMNS if name != "raw")
COPY_SQL = f"COPY cdr ({', '.join(COLUMNS_BEFORE_RAW)}, raw) FROM STDIN"
# Shown in pg_stat_activity, so an operator can tell the committers' sessions apart.
APPLICATION_NAME = "dialer-cdr-committer"
STORED = "stored"
DUPLICATE = "duplicate"


class QueueFull(Exception):
    """The committer queue already contains ``max_pending`` CDRs, so the request should return 503."""


class BatchFailed(Exception):
    """The database rejected this CDR's row for a reason other than a lost connection."""


class Ticket:
    """One submitted CDR row; :meth:`wait` returns ``"stored"`` or ``"duplicate"`` after the commit."""

    __slots__ = ("row", "_done", "_outcome", "_error")

    def __init__(self, row: dict) -> None:
        self.row = row
        self._done = threading.Event()
        self._outcome: str | None = None
        self._error: Exception | None = None

    @property
    def key(self) -> tuple:
        return (self.row["call_uuid"], self.row["leg"], self.row["started_at"])

    def wait(self, timeout_s: float) -> str:
        """Block until the row's batch is committed or failed; raise the failure.

        Raises TimeoutError when nothing is decided within ``timeout_s``; the
        row may still be committed later, and FreeSWITCH's retry of it then
        returns ``"duplicate"``.
        """
        if not self._done.wait(timeout_s):
            raise TimeoutError(f"CDR {self.row['call_uuid']} was not committed within {timeout_s} s")
        if self._error is not None:
            raise self._error
        return self._outcome

    @property
    def error(self) -> Exception | None:
        return self._error

    def resolve(self, outcome: str | None = None, error: Exception | None = None) -> None:
        self._outcome = outcome
        self._error = error
        self._done.set()


class CdrCommitter:
    """Batch the CDR rows of one process into shared transactions (see the module docstring)."""

    def __init__(self, connect: Callable[[], object], max_batch: int = MAX_BATCH, linger_s: float = LINGER_S,
                 max_pending: int = MAX_PENDING, idle_exit_s: float = IDLE_EXIT_S) -> None:
        self._connect = connect
        self.max_batch = max_batch
        self.linger_s = linger_s
        self.idle_exit_s = idle_exit_s
        self._queue: queue.Queue[Ticket] = queue.Queue(max_pending)
        self._max_pending = max_pending
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._paused = False
        self._closed = False
        self._conn = None
        self._tenants = TenantCache()
        # Committed transactions and the rows they carried, for tests and logs.
        self.batches_committed = 0
        self.rows_committed = 0
        atexit.register(self.close)

    @classmethod
    def for_database(cls, database_url: str, **options) -> CdrCommitter:
        def connect():
            return psycopg2.connect(database_url, connect_timeout=3, application_name=APPLICATION_NAME)

        return cls(connect, **options)

    # ------------------------------------------------------------ request side

    def submit(self, row: dict) -> Ticket:
        """Queue ``row`` for the next batch; raise QueueFull when ``max_pending`` rows are waiting."""
        ticket = Ticket(row)
        with self._lock:
            if self._closed:
                raise QueueFull("the CDR committer is shut down: the worker is exiting")
            self._reset_after_fork()
            try:
                self._queue.put_nowait(ticket)
            except queue.Full:
                raise QueueFull(f"{self._max_pending} CDRs are already waiting for a commit") from None
            if self._thread is None and not self._paused:
                self._start_thread()
        return ticket

    def store_now(self, rows: list[dict]) -> list[Ticket]:
        """Store ``rows`` in one transaction on the calling thread and return their resolved tickets.

        The CDR receiver's event loop batches rows itself and calls this,
        because a committer thread would compete with it for the GIL. The
        failure rules are those of the thread. Do not mix it with
        :meth:`submit` on one committer.
        """
        tickets = [Ticket(row) for row in rows]
        self._store(tickets)
        return tickets

    def pause(self, timeout_s: float = 10.0) -> None:
        """Hold submitted rows in the queue until :meth:`resume` (tests use it to build one batch).

        Waits until the committer thread has stored what was queued and ended.
        """
        with self._lock:
            self._paused = True
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)

    def resume(self) -> None:
        with self._lock:
            self._paused = False
            if self._thread is None and not self._queue.empty():
                self._start_thread()

    def close(self, timeout_s: float = 10.0) -> None:
        """Commit what is queued, stop the thread and close the connection."""
        with self._lock:
            self._closed = True
            self._paused = False
            thread = self._thread
            if thread is None and not self._queue.empty():
                thread = self._start_thread()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)
        elif thread is None:
            # Only store_now() used the connection.
            self._close_connection()
        atexit.unregister(self.close)

    def _reset_after_fork(self) -> None:
        # A committer created before gunicorn forks must not reuse the
        # parent's thread or socket in the child.
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._thread = None
            self._conn = None
            self._queue = queue.Queue(self._max_pending)

    def _start_thread(self) -> threading.Thread:
        self._thread = threading.Thread(target=self._run, name="cdr-committer", daemon=True)
        self._thread.start()
        return self._thread

    # ------------------------------------------------------------ committer thread

    def _run(self) -> None:
        log.info("cdr_committer.started pid=%s max_batch=%s linger_ms=%.1f", os.getpid(), self.max_batch,
                 self.linger_s * 1000)
        while True:
            batch = self._collect()
            if batch is None:
                break
            self._store(batch)
        log.info("cdr_committer.stopped pid=%s", os.getpid())

    def _collect(self) -> list[Ticket] | None:
        """Wait for the first row, then take more until the batch is full or ``linger_s`` has passed.

        Returns None when the thread should end: closed, paused, or idle for ``idle_exit_s``.
        """
        idle_since = time.monotonic()
        while True:
            try:
                first = self._queue.get(timeout=POLL_S)
                break
            except queue.Empty:
                pass
            with self._lock:
                idle_too_long = time.monotonic() - idle_since >= self.idle_exit_s
                if self._queue.empty() and (self._closed or self._paused or idle_too_long):
                    # Under the lock, so a thread that submit() starts next
                    # never sees this thread close its new connection.
                    self._close_connection()
                    self._thread = None
                    return None

        batch = [first]
        deadline = time.monotonic() + self.linger_s
        while len(batch) < self.max_batch:
            try:
                batch.append(self._queue.get_nowait())
                continue
            except queue.Empty:
                pass
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(self._queue.get(timeout=remaining))
            except queue.Empty:
                break
        return batch

    def _store(self, batch: list[Ticket]) -> None:
        firsts: dict[tuple, Ticket] = {}
        repeats: list[tuple[Ticket, Ticket]] = []
        for ticket in batch:
            first = firsts.setdefault(ticket.key, ticket)
            if first is not ticket:
                repeats.append((ticket, first))
        unique = list(firsts.values())

        try:
            try:
                self._insert_batch(unique)
            except psycopg2.errors.UniqueViolation:
                # A CDR of the batch is stored already (FreeSWITCH posted it
                # again), and INSERT ... ON CONFLICT reports which rows are new.
                self._rollback()
                self._insert_batch(unique, copy=False)
        except (DatabaseUnavailable, psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
            self._close_connection()
            error = exc if isinstance(exc, DatabaseUnavailable) else DatabaseUnavailable(first_line(exc))
            log.error("cdr_committer.database_unavailable rows=%s error=%s", len(unique), error)
            for ticket in unique:
                ticket.resolve(error=error)
        except psycopg2.Error as exc:
            self._rollback()
            log.warning("cdr_committer.batch_failed rows=%s error=%s retrying=one_per_transaction",
                        len(unique), first_line(exc))
            for ticket in unique:
                self._insert_alone(ticket)

        # A repeat inside the batch is a duplicate of a committed row, or
        # fails with its first copy.
        for ticket, first in repeats:
            if first.error is not None:
                ticket.resolve(error=first.error)
            else:
                ticket.resolve(DUPLICATE)

    def _insert_batch(self, tickets: list[Ticket], copy: bool = True) -> None:
        """Insert ``tickets``' rows and commit once, then resolve each ticket.

        With ``copy`` the rows go in with one COPY, which fails with a unique
        violation when one of them is stored already. Without it they go in
        with ``INSERT ... ON CONFLICT DO NOTHING``.
        """
        conn = self._connection()
        with conn.cursor() as cur:
            unknown = self._tenants.unknown(cur, {ticket.row["tenant_id"] for ticket in tickets})
            insertable = [ticket for ticket in tickets if ticket.row["tenant_id"] not in unknown]
            stored_keys = set()
            if insertable and copy:
                stored_keys = _copy_rows(cur, insertable)
            elif insertable:
                values = [tuple(sql_params(ticket.row)[name] for name in COLUMNS) for ticket in insertable]
                returned = psycopg2.extras.execute_values(cur, INSERT_BATCH_SQL, values,
                                                          page_size=len(values), fetch=True)
                stored_keys = {tuple(row) for row in returned}
        conn.commit()
        self.batches_committed += 1
        self.rows_committed += len(tickets)

        for ticket in tickets:
            if ticket.row["tenant_id"] in unknown:
                ticket.resolve(error=unknown_tenant_error(ticket.row))
            else:
                ticket.resolve(STORED if ticket.key in stored_keys else DUPLICATE)

    def _insert_alone(self, ticket: Ticket) -> None:
        try:
            # INSERT ... ON CONFLICT, so a copy of this CDR that another
            # process committed meanwhile makes it a duplicate, not an error.
            self._insert_batch([ticket], copy=False)
        except (DatabaseUnavailable, psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
            self._close_connection()
            ticket.resolve(error=exc if isinstance(exc, DatabaseUnavailable)
                           else DatabaseUnavailable(first_line(exc)))
        except psycopg2.Error as exc:
            self._rollback()
            row = ticket.row
            log.error("cdr_committer.row_failed call_uuid=%s tenant_id=%s error=%s", row["call_uuid"],
                      row["tenant_id"], first_line(exc))
            ticket.resolve(error=BatchFailed(f"the database rejected CDR {row['call_uuid']}: "
                                             f"{first_line(exc)}"))

    def _connection(self):
        if self._conn is None or self._conn.closed:
            try:
                self._conn = self._connect()
            except psycopg2.OperationalError as exc:
                raise DatabaseUnavailable(first_line(exc)) from exc
        return self._conn

    def _rollback(self) -> None:
        try:
            self._conn.rollback()
        except psycopg2.Error:
            self._close_connection()

    def _close_connection(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except psycopg2.Error:
                pass
            self._conn = None


def _copy_rows(cur, tickets: list[Ticket]) -> set[tuple]:
    """Store the rows of ``tickets`` with one COPY and return their keys.

    COPY costs PostgreSQL less than a multi-row INSERT of the same rows (no
    11 KB literals to lex per row), and building its text here costs less
    than psycopg2 quoting every value. COPY has no ON CONFLICT: when a row's
    key is stored already it fails with a unique violation, and the caller
    stores the batch again with ``INSERT ... ON CONFLICT``. FreeSWITCH posts
    a CDR again only after a failed post, so that is rare.
    """
    data = b"".join([_copy_line(ticket.row) for ticket in tickets])
    cur.copy_expert(COPY_SQL, io.BytesIO(data), size=len(data) + 1)
    return {ticket.key for ticket in tickets}


def _copy_line(row: dict) -> bytes:
    """Build the line of COPY's text format for ``row``: COLUMNS_BEFORE_RAW, then ``raw`` (bytes)."""
    raw = row["raw"]
    # Only these four bytes need escaping in COPY's text format.
    if b"\\" in raw:
        raw = raw.replace(b"\\", b"\\\\")
    if b"\n" in raw:
        raw = raw.replace(b"\n", b"\\n")
    if b"\r" in raw:
        raw = raw.replace(b"\r", b"\\r")
    if b"\t" in raw:
        raw = raw.replace(b"\t", b"\\t")
    head = "\t".join([_copy_value(row[name]) for name in COLUMNS_BEFORE_RAW])
    return b"%s\t%s\n" % (head.encode("utf-8"), raw)


def _copy_value(value) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        # Only these four characters need escaping in COPY's text format.
        if "\\" in value:
            value = value.replace("\\", "\\\\")
        if "\n" in value:
            value = value.replace("\n", "\\n")
        if "\r" in value:
            value = value.replace("\r", "\\r")
        if "\t" in value:
            value = value.replace("\t", "\\t")
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
