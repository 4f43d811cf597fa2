"""The CDR receiver: a small HTTP/1.1 server for mod_json_cdr posts only.

Why not the web tier: gunicorn and Flask spend about 1.1 ms of CPU on one
CDR post, so the web workers of a 2-core machine store about 1,150 CDR/s.
This server handles the same ``POST /api/cdr`` (same credentials, statuses,
messages and storage rule) on an asyncio event loop. It commits the posts
that arrive together with one COPY (``CdrCommitter.store_now``) and
responds to each only after the commit.

HTTP support: HTTP/1.1 and 1.0 requests with a ``Content-Length`` body
(what libcurl sends for mod_json_cdr), keep-alive, ``Expect: 100-continue``.
A chunked body gets 411, a body over ``MAX_BODY`` 413, a header block over
``MAX_HEADER`` 431 and a malformed request line 400, each with a JSON error
and the fix. A connection is closed when it stays silent for the idle
timeout (15 s by default), and refused when ``MAX_CONNECTIONS`` are open.

Other paths: ``GET /health`` (200 when PostgreSQL responds, else 503) and
``GET /metrics`` (Prometheus text of the CDR counters).
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import binascii
import hmac
import json
import logging
import os
import queue
import resource
import socket
import threading
import time
from collections.abc import Callable
from urllib.parse import parse_qs

import psycopg2
from babel.support import NullTranslations
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from cdr_receiver import IDLE_TIMEOUT_S, LISTEN_BACKLOG
from dialer_common.cdr import messages
from dialer_common.cdr.committer import (
    APPLICATION_NAME,
    DUPLICATE,
    STORED,
    BatchFailed,
    CdrCommitter,
    QueueFull,
    Ticket,
)
from dialer_common.cdr.metrics import CDR_DUPLICATE, CDR_INGESTED, CDR_REJECTED, counter_registry
from dialer_common.cdr.parse import CdrError
from dialer_common.cdr.store import parse_cdr
from dialer_common.cli import load_translations
from dialer_common.config import LOCALES, Config
from dialer_common.errors import DatabaseUnavailable, first_line

log = logging.getLogger(__name__)

CDR_PATH = "/api/cdr"
# A mod_json_cdr post is 4-14 KB; a call with a long app_log stays far below this.
MAX_BODY = 1024 * 1024
MAX_HEADER = 16 * 1024
HEALTH_CACHE_S = 1.0
MAX_CONNECTIONS = 2048
# Open files kept for the database connection, logs and the listening socket.
FILES_RESERVED = 64
# Rows per transaction, and posts parsed but not yet committed.
MAX_BATCH = 200
LINGER_S = 0.003
# mod_json_cdr posts without a timeout of its own, so the call's thread waits
# as long as the receiver does. A commit that takes longer gets a 503.
STORE_TIMEOUT_S = 5.0
MAX_PENDING = 2000

REASONS = {
    100: "Continue", 200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
    405: "Method Not Allowed", 411: "Length Required", 413: "Content Too Large", 422: "Unprocessable Content",
    431: "Request Header Fields Too Large", 500: "Internal Server Error", 503: "Service Unavailable",
    505: "HTTP Version Not Supported",
}

# Messages of the HTTP layer; the CDR responses are in dialer_common.cdr.messages.
N_ = messages.N_
BAD_REQUEST_LINE = N_("Malformed HTTP request line: send 'POST /api/cdr HTTP/1.1'.")
BAD_HEADER = N_("Malformed HTTP header line: each header is 'Name: value'.")
LENGTH_REQUIRED = N_("Send the CDR with a Content-Length header. Chunked bodies are not accepted.")
BAD_LINE_ENDINGS = N_("HTTP header lines must end with CR LF.")
DUPLICATE_LENGTH = N_("The request has two different Content-Length headers.")
BAD_LENGTH = N_("The Content-Length header is not a number.")
BODY_TOO_LARGE = N_("The CDR body is larger than 1 MiB.")
HEADER_TOO_LARGE = N_("The HTTP headers are larger than 16 KiB.")
NOT_FOUND = N_("Unknown path: mod_json_cdr posts to /api/cdr.")
METHOD_NOT_ALLOWED = N_("This path does not accept that method: use the one in the Allow header.")
BAD_VERSION = N_("Only HTTP/1.0 and HTTP/1.1 are supported.")


class Translator:
    """gettext per locale, from dialer_common/locale (English is the source)."""

    def __init__(self, default_locale: str) -> None:
        self.default_locale = default_locale
        self._catalogs: dict[str, NullTranslations] = {locale: load_translations(locale) for locale in LOCALES}

    def locale(self, query: dict[str, list[str]], accept_language: str) -> str:
        """``?lang=`` first, then Accept-Language by its q-values, then the default, as in the web tier."""
        requested = query.get("lang", [""])[0]
        if requested in LOCALES:
            return requested
        if accept_language:
            best = parse_accept_header(accept_language, LanguageAccept).best_match(LOCALES)
            if best:
                return best
        return self.default_locale

    def locale_of(self, request: Request | None) -> str:
        if request is None:
            return self.default_locale
        return self.locale(request.query, request.headers.get("accept-language", ""))

    def gettext(self, locale: str, message: str) -> str:
        return self._catalogs[locale].gettext(message)


class Request:
    __slots__ = ("method", "path", "query_string", "_query", "version", "headers", "body", "keep_alive")

    def __init__(self, method: str, path: str, query_string: str, version: str, headers: dict[str, str]) -> None:
        self.method = method
        self.path = path
        self.query_string = query_string
        self._query: dict[str, list[str]] | None = None
        self.version = version
        self.headers = headers
        self.body = b""
        connection = headers.get("connection", "").lower()
        if version == "HTTP/1.0":
            self.keep_alive = "keep-alive" in connection
        else:
            self.keep_alive = "close" not in connection

    @property
    def query(self) -> dict[str, list[str]]:
        if self._query is None:
            self._query = parse_qs(self.query_string)
        return self._query

    @property
    def call_uuid(self) -> str:
        # mod_json_cdr's query string is exactly uuid=<channel uuid>.
        if self.query_string.startswith("uuid=") and "&" not in self.query_string:
            return self.query_string[5:]
        return self.query.get("uuid", [""])[0]


class HttpError(Exception):
    """A request rejected without reading further; the connection is closed after the response."""

    def __init__(self, status: int, code: str, message: str, request: Request | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        # The request, when its headers could be read: its locale picks the message's language.
        self.request = request


Answer = tuple[int, dict, bytes]


class StoreThread:
    """A daemon thread that runs one call at a time and settles an asyncio future with its result.

    Not a ThreadPoolExecutor: Python joins those threads at exit, so a
    commit that PostgreSQL never completes would keep a stopped receiver
    alive. A daemon thread ends with the process.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._calls: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._run, name="cdr-store", daemon=True).start()

    def submit(self, function: Callable, *args) -> asyncio.Future:
        future = self._loop.create_future()
        self._calls.put((future, function, args))
        return future

    def stop(self) -> None:
        self._calls.put(None)

    def _run(self) -> None:
        while (call := self._calls.get()) is not None:
            future, function, args = call
            result = error = None
            try:
                result = function(*args)
            except Exception as exc:
                error = exc
            try:
                self._loop.call_soon_threadsafe(_settle, future, result, error)
            except RuntimeError:
                # The loop is closed: the process is exiting.
                return


def _settle(future: asyncio.Future, result, error: Exception | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class Receiver:
    """State shared by the connections of one process: config, committer, translations.

    A CDR post gets its response through callbacks rather than a task per
    request: :meth:`dispatch` parses it and queues the row, :meth:`flush`
    hands a batch of rows to the store thread, and :meth:`_stored`
    responds to each post once the batch is committed.
    """

    def __init__(self, config: Config, committer: CdrCommitter, loop: asyncio.AbstractEventLoop) -> None:
        self.config = config
        self.committer = committer
        self.loop = loop
        self.translator = Translator(config.default_locale)
        self.connections: set[HttpConnection] = set()
        self.max_connections = _connection_limit()
        self._refused = 0
        self._refused_logged_at = 0.0
        self._user = config.cdr_user.encode()
        self._password = config.cdr_password.encode()
        # Parsed posts waiting for the next commit: (row, request, respond).
        self.pending: list[tuple] = []
        self._flush_timer: asyncio.TimerHandle | None = None
        # One thread runs the committer's COPY and COMMIT, so a PostgreSQL
        # that stops responding blocks it and not the event loop.
        self._store_thread = StoreThread(loop)
        # (batch, timeout handle) while the store thread commits a batch.
        self.storing: tuple | None = None
        # Start of a commit that PostgreSQL has not completed within STORE_TIMEOUT_S.
        self._stuck_since: float | None = None
        # (monotonic time, response) of the last /health probe.
        self._health_answer: tuple[float, Answer] | None = None

    def _outcome(self, ticket: Ticket, request: Request) -> Answer:
        row = ticket.row
        try:
            # Raises the ticket's error.
            outcome = ticket.wait(0)
        except (DatabaseUnavailable, psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
            return self._unavailable(request, "database_unavailable", exc, row["call_uuid"])
        except (BatchFailed, TimeoutError) as exc:
            return self._unavailable(request, "database_error", exc, row["call_uuid"])
        except CdrError as exc:
            return self._rejected(request, exc)
        if outcome == STORED:
            CDR_INGESTED.inc()
        else:
            CDR_DUPLICATE.inc()
        log.debug("cdr.stored call_uuid=%s leg=%s tenant_id=%s duplicate=%s", row["call_uuid"], row["leg"],
                  row["tenant_id"], outcome == DUPLICATE)
        return 200, {}, b'{"status":"%s","call_uuid":"%s","leg":"%s"}' % (
            outcome.encode(), row["call_uuid"].encode(), row["leg"].encode())

    # ------------------------------------------------------------ requests

    def credentials_ok(self, header: str) -> bool:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, sep, password = base64.b64decode(token.strip(), validate=True).partition(b":")
        except (binascii.Error, ValueError):
            return False
        user_ok = hmac.compare_digest(user, self._user)
        password_ok = hmac.compare_digest(password, self._password)
        return bool(sep) and user_ok and password_ok

    def refused_connection(self) -> None:
        """Count a connection refused at the limit; log the count at most every 10 s."""
        self._refused += 1
        now = time.monotonic()
        if now - self._refused_logged_at >= 10:
            log.warning("cdr_receiver.connections_refused count=%s open=%s limit=%s", self._refused,
                        len(self.connections), self.max_connections)
            self._refused = 0
            self._refused_logged_at = now

    def rejects_before_body(self, request: Request) -> bool:
        """Tell whether a CDR post is refused by its headers alone (wrong credentials)."""
        return (request.method == "POST" and request.path == CDR_PATH
                and not self.credentials_ok(request.headers.get("authorization", "")))

    def error(self, request: Request | None, status: int, code: str, message: str, detail: str | None = None,
              headers: dict | None = None) -> Answer:
        """Build a JSON error in the request's locale (``?lang=``, Accept-Language, then the default)."""
        locale = self.translator.locale_of(request)
        body = {"code": code, "message": self.translator.gettext(locale, message)}
        if detail is not None:
            body["detail"] = detail
        return status, headers or {}, json.dumps({"error": body}, ensure_ascii=False).encode()

    def dispatch(self, request: Request, respond: Callable[[Answer], None]) -> None:
        """Respond to one complete request through ``respond``, now or once its CDR is committed."""
        allowed = {CDR_PATH: "POST", "/health": "GET", "/metrics": "GET"}.get(request.path)
        if allowed is None:
            respond(self.error(request, 404, "not_found", NOT_FOUND))
        elif request.method != allowed:
            respond(self.error(request, 405, "method_not_allowed", METHOD_NOT_ALLOWED, headers={"Allow": allowed}))
        elif request.path == CDR_PATH:
            self._ingest(request, respond)
        elif request.path == "/health":
            task = self.loop.create_task(self._health())
            task.add_done_callback(lambda done: respond(done.result()))
        else:
            body = generate_latest(counter_registry(self.config.prometheus_multiproc_dir))
            respond((200, {"Content-Type": CONTENT_TYPE_LATEST}, body))

    def _ingest(self, request: Request, respond: Callable[[Answer], None]) -> None:
        if not self.credentials_ok(request.headers.get("authorization", "")):
            CDR_REJECTED.labels("unauthorized").inc()
            log.warning("cdr.unauthorized call_uuid=%s", messages.loggable(request.call_uuid))
            respond(self.error(request, 401, "unauthorized", messages.UNAUTHORIZED,
                               headers={"WWW-Authenticate": f'Basic realm="{messages.REALM}"'}))
            return
        try:
            row = parse_cdr(request.body, request.headers.get("content-type", ""), request.call_uuid or None)
        except CdrError as exc:
            respond(self._rejected(request, exc))
            return
        if self._stuck_since is not None:
            # The store thread still waits for PostgreSQL: fail fast, so
            # FreeSWITCH retries instead of holding the call's thread.
            waited = time.monotonic() - self._stuck_since
            respond(self._unavailable(request, "database_unavailable", DatabaseUnavailable(
                f"PostgreSQL has not completed a commit for {waited:.0f} s"), row["call_uuid"]))
            return
        if len(self.pending) >= MAX_PENDING:
            respond(self._unavailable(request, "ingest_busy", QueueFull(
                f"{MAX_PENDING} CDRs are already waiting for a commit"), row["call_uuid"]))
            return
        self.pending.append((row, request, respond))
        self._schedule()

    def _schedule(self) -> None:
        if self.storing is not None:
            # The next batch starts when the store thread is done.
            return
        if len(self.pending) >= MAX_BATCH:
            self.flush()
        elif self.pending and self._flush_timer is None:
            # Linger, so the posts arriving meanwhile share the commit.
            self._flush_timer = self.loop.call_later(LINGER_S, self.flush)

    def flush(self) -> None:
        """Hand up to MAX_BATCH pending posts to the store thread, which commits them in one transaction.

        The store thread runs one batch at a time, on the committer's one
        connection; posts arriving meanwhile make up the next batch. If
        PostgreSQL does not complete the commit within STORE_TIMEOUT_S, the
        batch and every post until it does get a 503 at once.
        """
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        if self.storing is not None or not self.pending:
            return
        batch = self.pending[:MAX_BATCH]
        del self.pending[:MAX_BATCH]
        future = self._store_thread.submit(self.committer.store_now, [row for row, _, _ in batch])
        timer = self.loop.call_later(STORE_TIMEOUT_S, self._store_timed_out)
        self.storing = (batch, timer)
        future.add_done_callback(self._stored)

    def _stored(self, future: asyncio.Future) -> None:
        batch, timer = self.storing
        self.storing = None
        timer.cancel()
        if self._stuck_since is not None:
            # The batch got its 503 already, so FreeSWITCH's retry of a row
            # committed meanwhile gets "duplicate".
            log.warning("cdr_receiver.database_back waited_s=%.1f rows=%s",
                        time.monotonic() - self._stuck_since, len(batch))
            self._stuck_since = None
        elif future.exception() is not None:
            # A defect, not a database error (those resolve the tickets).
            # Respond 503 so that FreeSWITCH posts again, and keep serving.
            exc = future.exception()
            log.error("cdr_receiver.flush_failed rows=%s error=%r", len(batch), exc, exc_info=exc)
            for row, request, respond in batch:
                respond(self._unavailable(request, "database_error", exc, row["call_uuid"]))
        else:
            for ticket, (_, request, respond) in zip(future.result(), batch, strict=True):
                respond(self._outcome(ticket, request))
        self._schedule()

    def _store_timed_out(self) -> None:
        batch, _ = self.storing
        self._stuck_since = time.monotonic() - STORE_TIMEOUT_S
        waiting = batch + self.pending
        self.pending = []
        log.error("cdr_receiver.database_not_responding waited_s=%s rows=%s", STORE_TIMEOUT_S, len(waiting))
        error = DatabaseUnavailable(f"PostgreSQL did not complete a commit within {STORE_TIMEOUT_S:.0f} s")
        for row, request, respond in waiting:
            respond(self._unavailable(request, "database_unavailable", error, row["call_uuid"]))

    def _rejected(self, request: Request, exc: CdrError) -> Answer:
        CDR_REJECTED.labels(exc.reason).inc()
        log.warning("cdr.rejected reason=%s call_uuid=%s detail=%s", exc.reason,
                    exc.call_uuid or messages.loggable(request.call_uuid), exc)
        return self.error(request, messages.rejected_status(exc.reason), exc.reason, messages.REJECTED[exc.reason],
                          detail=str(exc))

    def _unavailable(self, request: Request, code: str, exc: Exception, call_uuid: str) -> Answer:
        # Every 503 makes FreeSWITCH post the CDR again after its `delay`.
        CDR_REJECTED.labels(code).inc()
        detail = first_line(exc)
        log.error("cdr.not_stored code=%s call_uuid=%s error=%s", code, call_uuid, detail)
        return self.error(request, 503, code, messages.unavailable_message(code), detail=detail,
                          headers={"Retry-After": messages.RETRY_AFTER_S})

    @property
    def stuck(self) -> bool:
        """True while a commit has waited longer than STORE_TIMEOUT_S for PostgreSQL."""
        return self._stuck_since is not None

    def close(self) -> None:
        """Stop the store thread and close the database connection, unless a commit still hangs in it."""
        self._store_thread.stop()
        if self.storing is None:
            self.committer.close()
        else:
            # Closing the connection would wait for the commit that hangs
            # in it, and the committer closes it at exit otherwise.
            atexit.unregister(self.committer.close)

    async def _health(self) -> Answer:
        # One probe per HEALTH_CACHE_S at most: each opens a PostgreSQL
        # connection, and /health needs no credentials.
        now = time.monotonic()
        if self._health_answer is not None and now - self._health_answer[0] < HEALTH_CACHE_S:
            return self._health_answer[1]
        answer = await self._probe_health()
        self._health_answer = (time.monotonic(), answer)
        return answer

    async def _probe_health(self) -> Answer:
        def probe() -> str | None:
            try:
                conn = psycopg2.connect(self.config.database_url, connect_timeout=2)
            except psycopg2.Error as exc:
                return first_line(exc)
            try:
                with conn.cursor() as cur:
                    cur.execute("SELECT 1")
            finally:
                conn.close()
            return None

        problem = await self.loop.run_in_executor(None, probe)
        if problem is None:
            return 200, {}, json.dumps({"status": "ok", "database": "ok"}).encode()
        return 503, {"Retry-After": messages.RETRY_AFTER_S}, json.dumps(
            {"status": "error", "database": "unavailable", "detail": problem}).encode()


def _connection_limit() -> int:
    """MAX_CONNECTIONS, or fewer when the open-files limit is lower; raise the soft limit to the hard one first."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = MAX_CONNECTIONS + FILES_RESERVED if hard == resource.RLIM_INFINITY else hard
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, target), hard))
            soft = max(soft, target)
        except (ValueError, OSError):
            pass
    return max(1, min(MAX_CONNECTIONS, soft - FILES_RESERVED))


class HttpConnection(asyncio.Protocol):
    """One client connection: reads requests in order and responds to each before reading the next."""

    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.request: Request | None = None
        self.body_length = 0
        self.busy = False
        self._current: Request | None = None
        self._advancing = False
        self.closed = False
        self.paused = False
        self.last_activity = time.monotonic()
        # When the first byte of the request being read arrived (0: none yet).
        self.request_started = 0.0

    def connection_made(self, transport) -> None:
        self.transport = transport
        if len(self.receiver.connections) >= self.receiver.max_connections:
            self.receiver.refused_connection()
            transport.abort()
            self.closed = True
            return
        self.receiver.connections.add(self)

    def connection_lost(self, exc) -> None:
        self.closed = True
        self.receiver.connections.discard(self)

    def data_received(self, data: bytes) -> None:
        self.last_activity = time.monotonic()
        if not self.buffer and self.request is None:
            self.request_started = self.last_activity
        self.buffer += data
        if not self.busy:
            self._advance()
        elif len(self.buffer) > MAX_HEADER + MAX_BODY and not self.paused:
            # A client pipelining more than one request's worth while the
            # current one waits for its commit: stop reading until then.
            self.transport.pause_reading()
            self.paused = True

    def _advance(self) -> None:
        """Parse as far as the buffer allows; start handling a request once its body is complete."""
        self._advancing = True
        try:
            self._advance_loop()
        finally:
            self._advancing = False

    def _advance_loop(self) -> None:
        # A response given at once (a 401, a 404) lets this loop go on to the
        # next pipelined request instead of recursing through _answer.
        while not self.busy and not self.closed:
            if self.request is None:
                end = self.buffer.find(b"\r\n\r\n")
                if end < 0:
                    if b"\n\n" in self.buffer:
                        self._fail(HttpError(400, "bad_request", BAD_LINE_ENDINGS))
                    elif len(self.buffer) > MAX_HEADER:
                        self._fail(HttpError(431, "header_too_large", HEADER_TOO_LARGE))
                    return
                if end > MAX_HEADER:
                    self._fail(HttpError(431, "header_too_large", HEADER_TOO_LARGE))
                    return
                head = bytes(self.buffer[:end])
                del self.buffer[:end + 4]
                try:
                    self.request, self.body_length = _parse_head(head)
                except HttpError as exc:
                    self._fail(exc)
                    return
                if self.request.headers.get("expect", "").lower() == "100-continue":
                    if self.receiver.rejects_before_body(self.request):
                        # Respond 401 now instead of inviting a body that would be rejected.
                        request, self.request = self.request, None
                        request.keep_alive = False
                        self._handle(request)
                        return
                    self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            if len(self.buffer) < self.body_length:
                return
            request, self.request = self.request, None
            request.body = bytes(self.buffer[:self.body_length])
            del self.buffer[:self.body_length]
            self._handle(request)

    def _handle(self, request: Request) -> None:
        """Pass ``request`` to the receiver; no other request is read until :meth:`_answer` runs."""
        self.busy = True
        self._current = request
        try:
            self.receiver.dispatch(request, self._answer)
        except Exception:
            log.exception("cdr_receiver.unexpected_error call_uuid=%s", messages.loggable(request.call_uuid))
            body = json.dumps({"error": {"code": "internal_error", "message": messages.DATABASE_ERROR}})
            self._answer((503, {"Retry-After": messages.RETRY_AFTER_S}, body.encode()))

    def _answer(self, answer: Answer) -> None:
        request = self._current
        self._current = None
        if self.closed or request is None:
            return
        status, headers, body = answer
        self._write(status, headers, body, request.keep_alive)
        self.busy = False
        self.last_activity = time.monotonic()
        self.request_started = self.last_activity if self.buffer else 0.0
        if self.paused:
            self.transport.resume_reading()
            self.paused = False
        if not request.keep_alive:
            self.transport.close()
            self.closed = True
            return
        if self.buffer and not self._advancing:
            self._advance()

    def _fail(self, error: HttpError) -> None:
        locale = self.receiver.translator.locale_of(error.request)
        message = self.receiver.translator.gettext(locale, error.message)
        call_uuid = messages.loggable(error.request.call_uuid) if error.request is not None else ""
        log.warning("cdr_receiver.bad_request status=%s code=%s call_uuid=%s", error.status, error.code, call_uuid)
        if error.code in ("header_too_large", "payload_too_large", "length_required"):
            CDR_REJECTED.labels(error.code).inc()
        body = json.dumps({"error": {"code": error.code, "message": message}}, ensure_ascii=False).encode()
        self._write(error.status, {}, body, keep_alive=False)
        self.transport.close()
        self.closed = True

    def _write(self, status: int, headers: dict, body: bytes, keep_alive: bool) -> None:
        lines = [f"HTTP/1.1 {status} {REASONS.get(status, '')}"]
        if "Content-Type" not in headers:
            lines.append("Content-Type: application/json")
        lines.extend(f"{name}: {value}" for name, value in headers.items())
        lines.append(f"Content-Length: {len(body)}")
        if not keep_alive:
            lines.append("Connection: close")
        self.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

    def idle_for(self, now: float) -> float:
        """Seconds without progress: since the last byte, or since a request that never completes began."""
        if self.busy:
            return 0.0
        if self.request_started:
            return now - min(self.last_activity, self.request_started)
        return now - self.last_activity


def _parse_head(head: bytes) -> tuple[Request, int]:
    """Parse the request line and headers; return the request and its body length."""
    # latin-1 maps every byte to one character, so decoding cannot fail.
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[1].startswith("/"):
        raise HttpError(400, "bad_request", BAD_REQUEST_LINE)
    method, target, version = parts
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise HttpError(505, "http_version", BAD_VERSION)

    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise HttpError(400, "bad_header", BAD_HEADER)
        name = name.lower()
        if name == "content-length" and headers.get(name, value.strip()) != value.strip():
            raise HttpError(400, "bad_length", DUPLICATE_LENGTH)
        headers[name] = value.strip()
    path, _, query_string = target.partition("?")
    request = Request(method, path, query_string, version, headers)

    if "chunked" in headers.get("transfer-encoding", "").lower():
        raise HttpError(411, "length_required", LENGTH_REQUIRED, request)
    length_text = headers.get("content-length")
    if length_text is None:
        if method == "POST":
            raise HttpError(411, "length_required", LENGTH_REQUIRED, request)
        return request, 0
    # isascii() too: str.isdigit() accepts digits such as "²" that int() rejects.
    if not (length_text.isascii() and length_text.isdigit()):
        raise HttpError(400, "bad_length", BAD_LENGTH, request)
    # Leading zeros go first, and the digit count is checked before int(),
    # which refuses more than 4,300 digits.
    digits = length_text.lstrip("0") or "0"
    if len(digits) > len(str(MAX_BODY)) or int(digits) > MAX_BODY:
        raise HttpError(413, "payload_too_large", BODY_TOO_LARGE, request)
    return request, int(digits)


def _connect(database_url: str):
    # Keepalives and tcp_user_timeout fail the store thread's commit when the
    # server's host is gone. A server that is alive but stuck is caught by
    # STORE_TIMEOUT_S instead, because its kernel still acknowledges packets.
    return psycopg2.connect(database_url, connect_timeout=3, application_name=APPLICATION_NAME,
                            keepalives=1, keepalives_idle=5, keepalives_interval=2, keepalives_count=3,
                            tcp_user_timeout=10000)


async def _reap_idle(receiver: Receiver, idle_timeout_s: float) -> None:
    while True:
        await asyncio.sleep(idle_timeout_s / 3)
        now = time.monotonic()
        closed = 0
        for connection in list(receiver.connections):
            if connection.idle_for(now) > idle_timeout_s and connection.transport is not None:
                connection.transport.close()
                closed += 1
        if closed:
            log.info("cdr_receiver.idle_closed count=%s idle_timeout_s=%.0f", closed, idle_timeout_s)


async def serve(config: Config, sock: socket.socket, ready: Callable[[int], None] | None = None,
                idle_timeout_s: float = IDLE_TIMEOUT_S) -> None:
    """Serve on the listening socket ``sock`` until cancelled; ``ready`` gets the port once it serves."""
    loop = asyncio.get_running_loop()
    committer = CdrCommitter(lambda: _connect(config.database_url))
    receiver = Receiver(config, committer, loop)
    # backlog here too: uvloop calls listen() again with it (default 100).
    server = await loop.create_server(lambda: HttpConnection(receiver), sock=sock, backlog=LISTEN_BACKLOG)
    bound = sock.getsockname()[1]
    log.info("cdr_receiver.listening port=%s pid=%s", bound, os.getpid())
    if ready is not None:
        ready(bound)
    reaper = loop.create_task(_reap_idle(receiver, idle_timeout_s))
    try:
        async with server:
            await server.serve_forever()
    finally:
        reaper.cancel()
        server.close()
        # Commit and respond to the posts already read, for up to 10 s,
        # unless PostgreSQL already stopped answering.
        deadline = time.monotonic() + 10
        while (receiver.pending or receiver.storing) and not receiver.stuck and time.monotonic() < deadline:
            receiver.flush()
            await asyncio.sleep(0.01)
        receiver.close()
        log.info("cdr_receiver.stopped pid=%s", os.getpid())
