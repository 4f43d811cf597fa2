"""The CDR receiver as a real process on a real port, storing into the test database."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.web.cdr_samples import HTTP_FILES, cdr_count, for_tenant, read_request, set_variable, stored_rows

ROOT = Path(__file__).resolve().parents[2]
AUTH = "Basic " + base64.b64encode(b"cdr:cdr-secret").decode()
RAW = HTTP_FILES[0].parent.parent / "raw"
RETRY = HTTP_FILES[0].parent.parent / "retry"
IDS = [f"{path.parent.name}/{path.stem}" for path in HTTP_FILES]


class Receiver:
    """A running ``python -m cdr_receiver``; its log lines are read after it stops."""

    def __init__(self, database_url: str, workers: int = 1, idle_timeout_s: float = 30.0, **env_changes: str) -> None:
        self.port = free_port()
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"cdr-receiver-{uuid.uuid4().hex}.log"
        env = dict(os.environ, DIALER_DATABASE_URL=database_url, DIALER_CDR_USER="cdr",
                   DIALER_CDR_PASSWORD="cdr-secret", DIALER_DEFAULT_LOCALE="es", DIALER_LOG_LEVEL="INFO")
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        env.update(env_changes)
        self.log_file = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cdr_receiver", "--port", str(self.port), "--workers", str(workers),
             "--idle-timeout", str(idle_timeout_s)],
            cwd=ROOT, env=env, stdout=self.log_file, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log()
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"the receiver did not listen within 20 s:\n{self.log()}")

    def log(self) -> str:
        if not self.log_file.closed:
            self.log_file.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=20)
        self.log_file.close()
        return code

    def exchange(self, request: bytes, sock: socket.socket | None = None) -> tuple[int, dict, bytes]:
        """Send ``request`` on a new connection (or ``sock``) and read one response."""
        own = sock is None
        if own:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        try:
            sock.sendall(request)
            return read_response(sock)
        finally:
            if own:
                sock.close()


def read_response(sock: socket.socket) -> tuple[int, dict, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed after {data!r}")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {name.lower(): value for name, _, value in (line.partition(": ") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, headers, rest[:length]


def post(body: bytes, content_type: str = "application/json", call_uuid: str = "", auth: str = AUTH,
         extra: str = "", path: str = "/api/cdr") -> bytes:
    target = f"{path}?uuid={call_uuid}" if call_uuid else path
    head = (f"POST {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: freeswitch-json/1.0\r\nAccept: */*\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n")
    if auth:
        head += f"Authorization: {auth}\r\n"
    return (head + extra + "\r\n").encode() + body


@pytest.fixture
def receiver(config):
    running = Receiver(config.database_url)
    yield running
    assert running.stop() == 0, running.log()




def _recorded(path: Path, tenant_id: int, **variables: str) -> tuple[bytes, str, str]:
    request = read_request(path)
    call_uuid = str(uuid.uuid4())
    body = for_tenant(request, tenant_id, uuid=call_uuid, **variables)
    return body, request.headers["Content-Type"], call_uuid


@pytest.mark.parametrize("path", HTTP_FILES, ids=IDS)
def test_recorded_post_stored_with_every_field(receiver, conn, tenant, path):
    request = read_request(path)
    attempt_id = str(uuid.uuid4())
    body, content_type, call_uuid = _recorded(path, tenant["id"], dialer_attempt_id=attempt_id,
                                              dialer_trunk_id="carrier-a", dialer_did="+13055550150")
    expected = request.expected_json()
    variables = expected["variables"]

    status, _, answer = receiver.exchange(post(body, content_type, call_uuid))

    assert status == 200, answer
    assert json.loads(answer) == {"status": "stored", "call_uuid": call_uuid,
                                  "leg": "b" if "originator" in expected["callflow"][0]["caller_profile"] else "a"}
    [row] = stored_rows(conn, call_uuid)
    assert row["tenant_id"] == tenant["id"]
    assert row["started_at"] == datetime.fromtimestamp(int(variables["start_uepoch"]) / 1e6, UTC)
    assert row["billsec"] == int(variables["billsec"])
    assert row["hangup_cause"] == variables["hangup_cause"]
    assert str(row["attempt_id"]) == attempt_id
    assert (row["trunk"], row["did"]) == ("carrier-a", "+13055550150")
    raw = json.loads(row["raw"])
    raw["variables"] = {k: v for k, v in raw["variables"].items() if not k.startswith("dialer_") and k != "uuid"}
    expected["variables"] = {k: v for k, v in variables.items() if not k.startswith("dialer_") and k != "uuid"}
    assert raw == expected
    if not request.encoded:
        # A raw JSON post is kept byte for byte.
        assert row["raw"].encode() == body


def test_utf8_names_intact(receiver, conn, tenant):
    body, content_type, call_uuid = _recorded(RAW / "originate_busy.http", tenant["id"])
    body = body.replace(b'"variables":{', '"variables":{"dialer_note":"Peña\\tJosé \\\\ Ñandú",'.encode(), 1)

    status, _, answer = receiver.exchange(post(body, content_type, call_uuid))

    assert status == 200, answer
    [row] = stored_rows(conn, call_uuid)
    assert json.loads(row["raw"])["variables"]["dialer_note"] == "Peña\tJosé \\ Ñandú"
    assert row["raw"].encode() == body


def test_pretty_printed_body_kept_byte_for_byte(receiver, conn, tenant):
    """Tabs, CR/LF and backslashes outside strings survive the COPY the batch is stored with."""
    body, content_type, call_uuid = _recorded(RAW / "originate_busy.http", tenant["id"])
    pretty = json.dumps(json.loads(body), indent="\t", ensure_ascii=False).replace("\n", "\r\n").encode()

    status, _, answer = receiver.exchange(post(pretty, content_type, call_uuid))

    assert status == 200, answer
    [row] = stored_rows(conn, call_uuid)
    assert row["raw"].encode() == pretty.strip()
    assert b"\t" in pretty
    assert b"\r\n" in pretty
    assert b"\\" in pretty


def test_retried_post_stored_once(receiver, conn, tenant):
    [path] = sorted(RETRY.glob("*.http"))
    body, content_type, call_uuid = _recorded(path, tenant["id"])

    answers = [receiver.exchange(post(body, content_type, call_uuid)) for _ in range(3)]

    assert [json.loads(answer)["status"] for _, _, answer in answers] == ["stored", "duplicate", "duplicate"]
    assert len(stored_rows(conn, call_uuid)) == 1


def test_duplicates_among_new_posts_in_one_batch(receiver, conn, tenant):
    """Posts in flight together share a commit; a stored CDR among them does not keep the others out."""
    stored_body, content_type, stored_uuid = _recorded(RAW / "originate_busy.http", tenant["id"])
    assert receiver.exchange(post(stored_body, content_type, stored_uuid))[0] == 200
    fresh = [_recorded(RAW / "originate_answer_hangup.http", tenant["id"]) for _ in range(6)]
    requests = [post(body, kind, call_uuid) for body, kind, call_uuid in fresh]
    requests.insert(3, post(stored_body, content_type, stored_uuid))

    sockets = [socket.create_connection(("127.0.0.1", receiver.port), timeout=10) for _ in requests]
    for sock, request in zip(sockets, requests):
        sock.sendall(request)
    answers = [json.loads(read_response(sock)[2]) for sock in sockets]
    for sock in sockets:
        sock.close()

    assert [answer["status"] for answer in answers] == ["stored"] * 3 + ["duplicate"] + ["stored"] * 3
    assert all(len(stored_rows(conn, call_uuid)) == 1 for _, _, call_uuid in fresh)


def test_keep_alive_and_pipelined_posts(receiver, conn, tenant):
    posts = [_recorded(RAW / "originate_busy.http", tenant["id"]) for _ in range(3)]
    with socket.create_connection(("127.0.0.1", receiver.port), timeout=10) as sock:
        first = receiver.exchange(post(*posts[0]), sock)
        # Two requests in one write get their responses in order on the same connection.
        sock.sendall(post(*posts[1]) + post(*posts[2]))
        second, third = read_response(sock), read_response(sock)

    assert [first[0], second[0], third[0]] == [200, 200, 200]
    assert [json.loads(answer[2])["call_uuid"] for answer in (first, second, third)] == [p[2] for p in posts]


def test_expect_100_continue(receiver, conn, tenant):
    body, content_type, call_uuid = _recorded(RAW / "originate_busy.http", tenant["id"])
    request = post(body, content_type, call_uuid, extra="Expect: 100-continue\r\n")
    head, _, _ = request.partition(b"\r\n\r\n")
    with socket.create_connection(("127.0.0.1", receiver.port), timeout=10) as sock:
        sock.sendall(head + b"\r\n\r\n")
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        status, _, _ = read_response(sock)

    assert status == 200
    assert len(stored_rows(conn, call_uuid)) == 1


@pytest.mark.parametrize("auth", ["", "Basic " + base64.b64encode(b"cdr:wrong").decode(), "Bearer abc",
                                  "Basic !!!"])
def test_wrong_credentials_401_nothing_stored(receiver, conn, tenant, auth):
    body, content_type, call_uuid = _recorded(RAW / "originate_busy.http", tenant["id"])
    before = cdr_count(conn)

    status, headers, answer = receiver.exchange(post(body, content_type, call_uuid, auth=auth))

    assert status == 401
    assert headers["www-authenticate"] == 'Basic realm="dialer-cdr"'
    error = json.loads(answer)["error"]
    assert error["code"] == "unauthorized"
    assert error["message"].startswith("Usuario o contraseña de CDR incorrectos")
    assert cdr_count(conn) == before
    assert f"cdr.unauthorized call_uuid={call_uuid}" in receiver.log()


def test_error_messages_follow_lang_and_accept_language(receiver):
    status, _, answer = receiver.exchange(post(b"{}", auth="", path="/api/cdr?lang=en"))
    assert status == 401
    assert json.loads(answer)["error"]["message"].startswith("Wrong CDR user or password")

    status, _, answer = receiver.exchange(post(b"{}", auth="", extra="Accept-Language: en-US,en;q=0.8\r\n"))
    assert json.loads(answer)["error"]["message"].startswith("Wrong CDR user or password")


@pytest.mark.parametrize(
    "change, status, code",
    [
        (lambda body: body[: len(body) // 2], 400, "malformed"),
        (lambda body: b"", 400, "empty_body"),
        (lambda body: body.replace(b'"variables":{', b'"variable5":{', 1), 422, "missing_variables"),
        (lambda body: set_variable(body, False, "dialer_tenant_id", "999999999"), 422, "unknown_tenant"),
        (lambda body: set_variable(body, False, "dialer_attempt_id", "not-a-uuid"), 422, "invalid_variable"),
        (lambda body: body.replace(b'"dialer_tenant_id"', b'"dialer_tenant_xx"', 1), 422, "missing_variable"),
    ],
    ids=["truncated", "empty", "no-variables", "unknown-tenant", "bad-attempt", "no-tenant"],
)
def test_bad_cdr_rejected_with_reason_and_logged(receiver, conn, tenant, change, status, code):
    body, content_type, call_uuid = _recorded(RAW / "originate_busy.http", tenant["id"])
    before = cdr_count(conn)

    got, _, answer = receiver.exchange(post(change(body), content_type, call_uuid))

    assert got == status, answer
    error = json.loads(answer)["error"]
    assert error["code"] == code
    assert error["detail"]
    assert cdr_count(conn) == before
    # Without variables the uuid comes from the caller profile, the recorded call's.
    logged = re.search(rf"reason={code} call_uuid=(\S+)", receiver.log())
    assert logged and uuid.UUID(logged.group(1))
    if code != "missing_variables":
        assert logged.group(1) == call_uuid


@pytest.mark.parametrize(
    "request_bytes, status, code",
    [
        (b"GARBAGE\r\n\r\n", 400, "bad_request"),
        (b"POST /api/cdr HTTP/2.0\r\nContent-Length: 0\r\n\r\n", 505, "http_version"),
        (b"POST /api/cdr HTTP/1.1\r\nbroken header\r\n\r\n", 400, "bad_header"),
        (b"POST /api/cdr HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 411,
         "length_required"),
        (b"POST /api/cdr HTTP/1.1\r\nHost: x\r\n\r\n", 411, "length_required"),
        (b"POST /api/cdr HTTP/1.1\r\nContent-Length: ten\r\n\r\n", 400, "bad_length"),
        (b"POST /api/cdr HTTP/1.1\r\nContent-Length: \xb2\r\n\r\n", 400, "bad_length"),
        (b"POST /api/cdr HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", 413, "payload_too_large"),
        (b"POST /api/cdr HTTP/1.1\r\nContent-Length: 1" + b"0" * 5000 + b"\r\n\r\n", 413, "payload_too_large"),
        (b"POST /api/cdr HTTP/1.1\r\nContent-Length: " + b"0" * 5000 + b"5\r\n\r\nhello", 401, "unauthorized"),
        (b"POST /api/cdr HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400, "bad_length"),
        (b"POST /api/cdr HTTP/1.1\nContent-Length: 5\n\nhello", 400, "bad_request"),
        (b"POST /api/cdr HTTP/1.1\r\nX-Filler: " + b"a" * 20000 + b"\r\n\r\n", 431, "header_too_large"),
        (b"GET /api/cdr HTTP/1.1\r\n\r\n", 405, "method_not_allowed"),
        (b"GET /nowhere HTTP/1.1\r\n\r\n", 404, "not_found"),
    ],
    ids=["request-line", "version", "header", "chunked", "no-length", "bad-length", "superscript-length", "too-large",
         "length-5000-digits", "length-leading-zeros", "two-lengths", "bare-lf",
         "header-too-large", "method", "path"],
)
def test_broken_http_answered_with_reason(receiver, request_bytes, status, code):
    got, headers, answer = receiver.exchange(request_bytes)

    assert got == status
    error = json.loads(answer)["error"]
    assert error["code"] == code
    assert error["message"]
    # The receiver keeps serving.
    assert receiver.exchange(b"GET /health HTTP/1.1\r\n\r\n")[0] == 200


def test_health_and_metrics(receiver, tenant):
    body, content_type, call_uuid = _recorded(RAW / "originate_busy.http", tenant["id"])
    assert receiver.exchange(post(body, content_type, call_uuid))[0] == 200
    receiver.exchange(post(body[:10], content_type, str(uuid.uuid4())))

    status, _, answer = receiver.exchange(b"GET /health HTTP/1.1\r\n\r\n")
    assert (status, json.loads(answer)) == (200, {"status": "ok", "database": "ok"})
    status, headers, metrics = receiver.exchange(b"GET /metrics HTTP/1.1\r\n\r\n")
    assert status == 200
    assert headers["content-type"].startswith("text/plain")
    assert "dialer_cdr_ingested_total 1.0" in metrics.decode()
    assert 'dialer_cdr_rejected_total{reason="malformed"} 1.0' in metrics.decode()


def test_database_down_503_then_health_503(config, tenant):
    down = Receiver(f"postgresql://dialer:dialer@127.0.0.1:{free_port()}/dialer")
    try:
        body, content_type, call_uuid = _recorded(RAW / "originate_busy.http", tenant["id"])
        status, headers, answer = down.exchange(post(body, content_type, call_uuid))
        health = down.exchange(b"GET /health HTTP/1.1\r\n\r\n")
    finally:
        assert down.stop() == 0

    assert status == 503
    assert headers["retry-after"] == "5"
    assert json.loads(answer)["error"]["code"] == "database_unavailable"
    assert health[0] == 503
    assert json.loads(health[2])["database"] == "unavailable"
    assert f"code=database_unavailable call_uuid={call_uuid}" in down.log()


def test_stalled_connection_closed(config):
    slow = Receiver(config.database_url, idle_timeout_s=1.0)
    try:
        with socket.create_connection(("127.0.0.1", slow.port), timeout=10) as sock:
            sock.sendall(b"POST /api/cdr HTTP/1.1\r\nContent-Length: 100\r\n\r\nonly part of the body")
            started = time.monotonic()
            assert sock.recv(100) == b""
            assert time.monotonic() - started < 5
    finally:
        assert slow.stop() == 0


def test_two_workers_share_the_port_and_stop_together(config, conn, tenant):
    pair = Receiver(config.database_url, workers=2)
    try:
        posts = [_recorded(RAW / "originate_busy.http", tenant["id"]) for _ in range(20)]
        statuses = [pair.exchange(post(*item))[0] for item in posts]
        children = subprocess.run(["pgrep", "-P", str(pair.process.pid)], capture_output=True, text=True)
    finally:
        code = pair.stop()

    assert statuses == [200] * 20
    assert all(len(stored_rows(conn, call_uuid)) == 1 for _, _, call_uuid in posts)
    assert len(children.stdout.split()) == 2
    assert code == 0
    for pid in children.stdout.split():
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


def test_sigterm_stops_after_storing(config, conn, tenant):
    running = Receiver(config.database_url)
    body, content_type, call_uuid = _recorded(RAW / "originate_busy.http", tenant["id"])
    with socket.create_connection(("127.0.0.1", running.port), timeout=10) as sock:
        sock.sendall(post(body, content_type, call_uuid))
        status, _, _ = read_response(sock)
    assert running.stop() == 0

    assert status == 200
    assert len(stored_rows(conn, call_uuid)) == 1
    assert "cdr_receiver.stopped" in running.log()


def test_http_errors_follow_lang(receiver):
    status, _, answer = receiver.exchange(b"POST /api/cdr?lang=en HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n")
    assert status == 413
    assert json.loads(answer)["error"]["message"] == "The CDR body is larger than 1 MiB."

    status, _, answer = receiver.exchange(b"POST /api/cdr HTTP/1.1\r\nAccept-Language: en\r\n\r\n")
    assert status == 411
    assert json.loads(answer)["error"]["message"].startswith("Send the CDR with a Content-Length header")


def test_accept_language_q_values_as_web_tier(receiver):
    status, _, answer = receiver.exchange(post(b"{}", auth="", extra="Accept-Language: fr, en;q=0.1, es;q=0.9\r\n"))

    assert status == 401
    assert json.loads(answer)["error"]["message"].startswith("Usuario o contraseña de CDR incorrectos")


def test_422_status_line_has_reason(receiver, tenant):
    body, content_type, call_uuid = _recorded(RAW / "originate_busy.http", tenant["id"])
    body = set_variable(body, False, "dialer_tenant_id", "999999999")
    with socket.create_connection(("127.0.0.1", receiver.port), timeout=10) as sock:
        sock.sendall(post(body, content_type, call_uuid))
        first_line = sock.recv(100).split(b"\r\n", 1)[0]

    assert first_line == b"HTTP/1.1 422 Unprocessable Content"


def test_expect_continue_with_wrong_password_gets_401_first(receiver, conn, tenant):
    body, content_type, call_uuid = _recorded(RAW / "originate_busy.http", tenant["id"])
    request = post(body, content_type, call_uuid, auth="Basic " + base64.b64encode(b"cdr:wrong").decode(),
                   extra="Expect: 100-continue\r\n")
    head = request.partition(b"\r\n\r\n")[0] + b"\r\n\r\n"
    with socket.create_connection(("127.0.0.1", receiver.port), timeout=10) as sock:
        sock.sendall(head)
        status, headers, _ = read_response(sock)
        closed = sock.recv(100) == b""

    assert status == 401
    assert headers["connection"] == "close"
    assert closed
    assert stored_rows(conn, call_uuid) == []


@pytest.mark.parametrize("integer", ["1_000", " 7", "\u0661", "1e3"])
def test_loose_integers_rejected(receiver, conn, tenant, integer):
    body, content_type, call_uuid = _recorded(RAW / "originate_busy.http", tenant["id"])
    body = set_variable(body, False, "billsec", integer)

    status, _, answer = receiver.exchange(post(body, content_type, call_uuid))

    assert status == 422
    assert json.loads(answer)["error"]["code"] == "invalid_variable"
    assert stored_rows(conn, call_uuid) == []


def test_post_dial_delay_out_of_range_is_422(receiver, conn, tenant):
    body, content_type, call_uuid = _recorded(RAW / "originate_busy.http", tenant["id"])
    start = int(json.loads(body)["variables"]["start_uepoch"])
    body = set_variable(body, False, "progress_uepoch", str(start + 3_000_000_000_000))

    status, _, answer = receiver.exchange(post(body, content_type, call_uuid))

    assert status == 422
    assert "post-dial delay" in json.loads(answer)["error"]["detail"]
    assert stored_rows(conn, call_uuid) == []


def test_stuck_database_answers_503_and_recovers(receiver, conn, config, tenant):
    """A commit PostgreSQL does not finish gets a 503 after 5 s; /health and new posts are not held up."""
    import psycopg2

    blocker = psycopg2.connect(config.database_url)
    first_body, content_type, first_uuid = _recorded(RAW / "originate_busy.http", tenant["id"])
    with blocker.cursor() as cur:
        cur.execute("LOCK TABLE cdr IN ACCESS EXCLUSIVE MODE")
    try:
        with socket.create_connection(("127.0.0.1", receiver.port), timeout=20) as sock:
            sock.sendall(post(first_body, content_type, first_uuid))
            time.sleep(0.5)
            health_status = receiver.exchange(b"GET /nowhere HTTP/1.1\r\n\r\n")[0]
            started = time.monotonic()
            status, headers, answer = read_response(sock)
            waited = time.monotonic() - started
        second = _recorded(RAW / "originate_busy.http", tenant["id"])
        fast_status, _, fast_answer = receiver.exchange(post(*second))
    finally:
        blocker.rollback()
        blocker.close()

    assert health_status == 404
    assert status == 503
    assert headers["retry-after"] == "5"
    assert json.loads(answer)["error"]["code"] == "database_unavailable"
    assert waited < 10
    assert fast_status == 503
    assert "has not completed a commit" in json.loads(fast_answer)["error"]["detail"]
    # Once the lock is gone the stuck commit finishes; the retry is a duplicate.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "database_back" not in receiver.log():
        time.sleep(0.1)
    retry = receiver.exchange(post(first_body, content_type, first_uuid))
    assert json.loads(retry[2])["status"] == "duplicate"
    assert len(stored_rows(conn, first_uuid)) == 1


def test_port_in_use_fails_with_message(config):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        env = dict(os.environ, DIALER_DATABASE_URL=config.database_url)
        result = subprocess.run([sys.executable, "-m", "cdr_receiver", "--port", str(port), "--workers", "2"],
                                cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)

    assert result.returncode == 1
    assert f"no se puede escuchar en 127.0.0.1:{port}" in result.stderr


def test_default_password_refused_without_dev_flag(config):
    env = {key: value for key, value in os.environ.items() if key != "DIALER_ALLOW_DEV_SECRETS"}
    env.update(DIALER_DATABASE_URL=config.database_url, DIALER_CDR_PASSWORD="cdr-secret")

    result = subprocess.run([sys.executable, "-m", "cdr_receiver", "--port", str(free_port())], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=30)

    assert result.returncode == 2
    assert "DIALER_CDR_PASSWORD" in result.stderr


def test_killed_worker_stops_the_receiver(config):
    pair = Receiver(config.database_url, workers=2)
    children = subprocess.run(["pgrep", "-P", str(pair.process.pid)], capture_output=True, text=True).stdout.split()
    os.kill(int(children[0]), signal.SIGKILL)
    code = pair.process.wait(timeout=20)

    assert code == 1
    assert f"cdr_receiver.worker_exited pid={children[0]} exit_code=-9" in pair.log()
    assert not Path(f"/proc/{children[1]}").exists() or "zombie" in Path(f"/proc/{children[1]}/status").read_text()
    pair.stop()


def test_two_workers_sum_their_counters(config, tenant):
    pair = Receiver(config.database_url, workers=2)
    try:
        posts = [_recorded(RAW / "originate_busy.http", tenant["id"]) for _ in range(12)]
        assert [pair.exchange(post(*item))[0] for item in posts] == [200] * 12
        scrapes = [pair.exchange(b"GET /metrics HTTP/1.1\r\n\r\n")[2].decode() for _ in range(6)]
    finally:
        assert pair.stop() == 0

    assert all("dialer_cdr_ingested_total 12.0" in text for text in scrapes)


def test_client_uuid_cannot_forge_log_lines(receiver):
    forged = "abc%0A2026-12-04%2000:00:00,000%20CRITICAL%20forged%20line"

    receiver.exchange(post(b"{}", auth="", path=f"/api/cdr?uuid={forged}&x=1"))
    receiver.stop()

    lines = receiver.log().splitlines()
    assert not any(line.startswith("2026-12-04 00:00:00,000 CRITICAL") for line in lines)
    assert any("cdr.unauthorized call_uuid='abc\\n2026-12-04" in line for line in lines)


def test_sigterm_while_database_stuck_exits(config, tenant):
    import psycopg2

    running = Receiver(config.database_url)
    blocker = psycopg2.connect(config.database_url)
    try:
        with blocker.cursor() as cur:
            cur.execute("LOCK TABLE cdr IN ACCESS EXCLUSIVE MODE")
        status = running.exchange(post(*_recorded(RAW / "originate_busy.http", tenant["id"])))[0]
        started = time.monotonic()
        running.process.send_signal(signal.SIGTERM)
        code = running.process.wait(timeout=20)
        waited = time.monotonic() - started
    finally:
        blocker.rollback()
        blocker.close()
        running.stop()

    assert status == 503
    assert code == 0
    assert waited < 5


def test_workers_exit_when_parent_is_killed(config):
    pair = Receiver(config.database_url, workers=2)
    time.sleep(1)
    children = subprocess.run(["pgrep", "-P", str(pair.process.pid)], capture_output=True, text=True).stdout.split()
    pair.process.kill()
    pair.process.wait(timeout=10)

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in children):
        time.sleep(0.1)
    assert len(children) == 2
    assert not any(Path(f"/proc/{pid}").exists() for pid in children)
    pair.stop()
