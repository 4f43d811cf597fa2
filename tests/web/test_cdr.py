"""CDR ingest: every recorded mod_json_cdr post, both encodings, errors, idempotence."""

from __future__ import annotations

import base64
import dataclasses
import json
import socket
import uuid
from datetime import UTC, datetime
from urllib.parse import quote, unquote, unquote_plus

import pytest

from dialer_common.cdr.parse import CdrError, _percent_decode, decode_body, decode_double_encoded
from tests.conftest import free_port
from tests.web.cdr_samples import HTTP_FILES, cdr_count, for_tenant, read_request, set_variable, stored_rows
from web import create_app
from web.cdr.views import get_committer
from web.db import close_pool

AUTH = "Basic " + base64.b64encode(b"cdr:cdr-secret").decode()
IDS = [f"{path.parent.name}/{path.stem}" for path in HTTP_FILES]


@pytest.fixture(autouse=True)
def _close_committer(request):
    """Stop the committer thread of the test's app, so no thread or connection outlives the test."""
    app = request.getfixturevalue("app") if "app" in request.fixturenames else None
    yield
    if app is not None:
        get_committer(app).close()


def _post(client, body: bytes, content_type: str, call_uuid: str = "", auth: str = AUTH):
    return client.post(
        f"/api/cdr?uuid={call_uuid}",
        data=body,
        headers={"Content-Type": content_type, "Authorization": auth},
    )




@pytest.mark.parametrize("path", HTTP_FILES, ids=IDS)
def test_decode_matches_recorded_json(path):
    request = read_request(path)

    document = decode_body(request.body, request.headers["Content-Type"])

    assert document == request.expected_json()


@pytest.mark.parametrize("path", [p for p in HTTP_FILES if p.parent.name == "encoded"],
                         ids=[i for i in IDS if i.startswith("encoded/")])
def test_double_encoded_needs_tokeniser(path):
    request = read_request(path)
    value = request.body.decode()[len("cdr="):]

    with pytest.raises(json.JSONDecodeError):
        json.loads(unquote_plus(value))
    assert decode_double_encoded(value) == request.expected_json()


def test_decode_names_stay_utf8():
    names = set()
    for path in HTTP_FILES:
        request = read_request(path)
        document = decode_body(request.body, request.headers["Content-Type"])
        names.add(document["variables"].get("origination_caller_id_name"))

    assert "Peña Test" in names
    assert "José Prueba" in names


def test_decode_single_encoded_form():
    request = read_request(HTTP_FILES[0].parent.parent / "raw" / "originate_answer_hangup.http")
    body = b"cdr=" + quote(request.body.decode("utf-8"), safe="").encode()

    assert decode_body(body, "application/x-www-form-urlencoded") == request.expected_json()


def test_decode_base64_form():
    request = read_request(HTTP_FILES[0].parent.parent / "raw" / "callcenter_flow.member_leg.http")
    body = b"cdr=" + base64.b64encode(request.body)

    assert decode_body(body, "application/x-www-form-urlencoded") == request.expected_json()


@pytest.mark.parametrize("cut", [0.3, 0.5, 0.99])
@pytest.mark.parametrize("variant", ["encoded", "raw"])
def test_decode_truncated_body_rejected(variant, cut):
    request = read_request(HTTP_FILES[0].parent.parent / variant / "originate_busy.http")
    body = request.body[: int(len(request.body) * cut)]

    with pytest.raises(CdrError) as error:
        decode_body(body, request.headers["Content-Type"])

    assert error.value.reason == "malformed"


@pytest.mark.parametrize("path", HTTP_FILES, ids=IDS)
def test_ingest_stores_every_field(client, conn, tenant, path):
    request = read_request(path)
    attempt_id = str(uuid.uuid4())
    call_uuid = str(uuid.uuid4())
    body = for_tenant(request, tenant["id"], uuid=call_uuid, dialer_attempt_id=attempt_id,
                      dialer_trunk_id="carrier-a", dialer_did="+13055550150")
    expected = request.expected_json()
    variables = expected["variables"]
    variables["uuid"] = call_uuid

    response = _post(client, body, request.headers["Content-Type"], call_uuid)

    assert response.status_code == 200, response.json
    assert response.json["status"] == "stored"
    [row] = stored_rows(conn, call_uuid)
    is_b_leg = "originator" in expected["callflow"][0]["caller_profile"]
    assert row["leg"] == ("b" if is_b_leg else "a")
    assert row["started_at"] == datetime.fromtimestamp(int(variables["start_uepoch"]) / 1e6, UTC)
    assert row["answered"] == (int(variables["answer_epoch"]) > 0 or int(variables["billsec"]) > 0)
    assert row["billsec"] == int(variables["billsec"])
    assert row["duration"] == int(variables["duration"])
    assert row["hangup_cause"] == variables["hangup_cause"]
    sip = variables.get("sip_term_status") or variables.get("sip_invite_failure_status")
    assert row["sip_status"] == (int(sip) if sip else None)
    assert row["attempt_id"] == attempt_id
    assert row["campaign_id"] == (int(variables["dialer_campaign_id"]) if "dialer_campaign_id" in variables
                                  else None)
    assert row["trunk"] == "carrier-a"
    assert row["did"] == "+13055550150"
    assert row["switchname"] == "media-node-1"
    raw = json.loads(row["raw"])
    raw["variables"] = {k: v for k, v in raw["variables"].items() if not k.startswith("dialer_")}
    expected["variables"] = {k: v for k, v in variables.items() if not k.startswith("dialer_")}
    assert raw == expected


@pytest.mark.parametrize(
    "name, leg, answered, billsec, sip_status, hangup_cause, pdd_ms",
    [
        ("encoded/originate_answer_hangup", "a", True, 3, 200, "NORMAL_CLEARING", 0),
        ("encoded/originate_busy", "a", False, 0, 486, "USER_BUSY", None),
        ("encoded/originate_no_answer", "a", False, 0, 487, "NO_ANSWER", 0),
        ("encoded/originate_unavailable", "a", False, 0, 503, "NORMAL_TEMPORARY_FAILURE", None),
        ("encoded/callcenter_on_break", "a", True, 8, 200, "NORMAL_CLEARING", 19),
        ("encoded/callcenter_flow.agent_leg", "b", True, 5, 200, "NORMAL_CLEARING", 0),
        ("raw/callcenter_flow.agent_leg", "b", True, 5, 200, "NORMAL_CLEARING", 0),
        ("raw/originate_busy", "a", False, 0, 486, "USER_BUSY", None),
    ],
)
def test_ingest_known_call_facts(client, conn, tenant, name, leg, answered, billsec, sip_status,
                                 hangup_cause, pdd_ms):
    request = read_request(next(p for p in HTTP_FILES if f"{p.parent.name}/{p.stem}" == name))
    call_uuid = str(uuid.uuid4())
    body = for_tenant(request, tenant["id"], uuid=call_uuid)
    response = _post(client, body, request.headers["Content-Type"], call_uuid)
    assert response.status_code == 200

    [row] = stored_rows(conn, call_uuid)

    assert row["leg"] == leg
    assert row["answered"] is answered
    assert row["billsec"] == billsec
    assert row["sip_status"] == sip_status
    assert row["hangup_cause"] == hangup_cause
    assert row["pdd_ms"] == pdd_ms


def test_ingest_dialer_variables(client, conn, tenant):
    request = read_request(HTTP_FILES[0].parent.parent / "encoded" / "callcenter_flow.member_leg.http")
    call_uuid = str(uuid.uuid4())
    body = for_tenant(request, tenant["id"], uuid=call_uuid, dialer_live="true", dialer_abandoned="false",
                      dialer_amd_result="person", dialer_agent="1001@default",
                      dialer_safe_harbor_ms="1796414146000", dialer_lead_id="77")

    response = _post(client, body, request.headers["Content-Type"], call_uuid)

    assert response.status_code == 200, response.json
    [row] = stored_rows(conn, call_uuid)
    assert row["live"] is True
    assert row["abandoned"] is False
    assert row["amd_result"] == "person"
    assert row["agent_name"] == "1001@default"
    assert row["safe_harbor_played"] is True
    assert row["safe_harbor_at"] == datetime.fromtimestamp(1796414146, UTC)
    assert row["lead_id"] == 77
    assert row["caller_id_number"] == "15550151"
    assert row["destination_number"] == "15550101"


def test_ingest_retried_post_stored_once(client, conn, tenant):
    request = read_request(HTTP_FILES[0].parent.parent / "retry" / "originate_cdr_http500.attempt2.http")
    call_uuid = str(uuid.uuid4())
    body = for_tenant(request, tenant["id"], uuid=call_uuid)

    answers = [_post(client, body, "application/json", call_uuid) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert [answer.json["status"] for answer in answers] == ["stored", "duplicate", "duplicate"]
    assert len(stored_rows(conn, call_uuid)) == 1


def test_ingest_both_legs_stored(client, conn, tenant):
    call_uuid = str(uuid.uuid4())
    for name in ("callcenter_flow.member_leg", "callcenter_flow.agent_leg"):
        request = read_request(HTTP_FILES[0].parent.parent / "raw" / f"{name}.http")
        body = for_tenant(request, tenant["id"], uuid=call_uuid)
        assert _post(client, body, "application/json", call_uuid).status_code == 200

    assert [row["leg"] for row in stored_rows(conn, call_uuid)] == ["a", "b"]


def test_ingest_missing_tenant_variable_rejected(client, conn):
    request = read_request(HTTP_FILES[0].parent.parent / "encoded" / "originate_busy.http")
    before = cdr_count(conn)

    response = _post(client, request.body, request.headers["Content-Type"])

    assert response.status_code == 422
    assert response.json["error"]["code"] == "missing_variable"
    assert "dialer_tenant_id" in response.json["error"]["detail"]
    assert cdr_count(conn) == before


def test_ingest_unknown_tenant_rejected(client, conn):
    request = read_request(HTTP_FILES[0].parent.parent / "raw" / "originate_busy.http")
    before = cdr_count(conn)

    response = _post(client, for_tenant(request, 987654321), "application/json")

    assert response.status_code == 422
    assert response.json["error"]["code"] == "unknown_tenant"
    assert "987654321" in response.json["error"]["detail"]
    assert cdr_count(conn) == before


def test_ingest_invalid_attempt_id_rejected(client, tenant):
    request = read_request(HTTP_FILES[0].parent.parent / "raw" / "originate_busy.http")
    body = for_tenant(request, tenant["id"], dialer_attempt_id="not-a-uuid")

    response = _post(client, body, "application/json")

    assert response.status_code == 422
    assert response.json["error"]["code"] == "invalid_variable"
    assert "not-a-uuid" in response.json["error"]["detail"]


@pytest.mark.parametrize("body", [b"", b"{", b"cdr=%7B%22variables%22%3A%7B", b"[1, 2]", b"cdr=!!notbase64"],
                         ids=["empty", "cut json", "cut form", "array", "bad base64"])
def test_ingest_malformed_body_rejected(client, conn, body):
    before = cdr_count(conn)

    response = _post(client, body, "application/x-www-form-urlencoded" if body.startswith(b"cdr") else
                     "application/json")

    assert response.status_code == 400
    assert response.json["error"]["code"] in ("malformed", "empty_body")
    assert response.json["error"]["message"]
    assert cdr_count(conn) == before


def test_ingest_truncated_recorded_body_rejected(client, conn, tenant):
    request = read_request(HTTP_FILES[0].parent.parent / "encoded" / "originate_answer_hangup.http")
    body = for_tenant(request, tenant["id"])
    before = cdr_count(conn)

    response = _post(client, body[: len(body) // 2], request.headers["Content-Type"])

    assert response.status_code == 400
    assert response.json["error"]["code"] == "malformed"
    assert cdr_count(conn) == before


@pytest.mark.parametrize("auth", ["Basic " + base64.b64encode(b"cdr:wrong").decode(), ""],
                         ids=["wrong password", "no credentials"])
def test_ingest_wrong_credentials_401(client, conn, tenant, auth):
    request = read_request(HTTP_FILES[0].parent.parent / "raw" / "originate_busy.http")
    before = cdr_count(conn)

    response = _post(client, for_tenant(request, tenant["id"]), "application/json", auth=auth)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert cdr_count(conn) == before


def test_ingest_database_down_503(config, tenant):
    down = dataclasses.replace(config, database_url=f"postgresql://dialer:dialer@127.0.0.1:{free_port()}/dialer")
    app = create_app(down, {"TESTING": True})
    request = read_request(HTTP_FILES[0].parent.parent / "raw" / "originate_busy.http")

    response = _post(app.test_client(), for_tenant(request, tenant["id"]), "application/json")
    get_committer(app).close()
    close_pool(app)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json["error"]["code"] == "database_unavailable"


def _send_raw(base_url: str, request_bytes: bytes) -> tuple[int, bytes]:
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request_bytes)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    response = b"".join(chunks)
    status = int(response.split(b" ", 2)[1])
    return status, response.partition(b"\r\n\r\n")[2]


def test_ingest_recorded_requests_over_http(live_server, conn, tenant):
    for path in HTTP_FILES:
        request = read_request(path)
        call_uuid = str(uuid.uuid4())
        body = set_variable(for_tenant(request, tenant["id"]), request.encoded, "uuid", call_uuid)
        method, target, version = request.request_line.split(" ")
        headers = dict(request.headers, **{"Content-Length": str(len(body)), "Authorization": AUTH,
                                            "Connection": "close"})
        head = f"{method} /api/cdr?uuid={call_uuid} {version}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"

        status, answer = _send_raw(live_server, head.encode("ascii") + body)

        assert status == 200, (path.name, answer)
        assert json.loads(answer)["status"] == "stored"
        assert len(stored_rows(conn, call_uuid)) == 1


@pytest.mark.parametrize("text", ["Pe%C3%B1a%20Test", "a\\b%41", "\\x41%41", "100%", "%zz%41", "%5C%78%34%31",
                                  "sin%20escapes", "ma%C3%B1ana%22%2C%0D%0A"])
def test_percent_decode_matches_unquote(text):
    assert _percent_decode(text) == unquote(text, errors="strict")


def test_percent_decode_invalid_utf8_rejected():
    with pytest.raises(CdrError) as error:
        _percent_decode("%C3%28")

    assert error.value.reason == "malformed"


def _raw_document(tenant_id: int, call_uuid: str) -> dict:
    request = read_request(HTTP_FILES[0].parent.parent / "raw" / "originate_busy.http")
    return json.loads(for_tenant(request, tenant_id, uuid=call_uuid))


@pytest.mark.parametrize(
    ("change", "expected_code"),
    [
        (lambda doc: doc["variables"].update(hangup_cause="A\u0000B"), "invalid_variable"),
        (lambda doc: doc["variables"].update(direction={"a": 1}), "invalid_variable"),
        (lambda doc: doc.update(switchname=["x"]), "invalid_variable"),
        (lambda doc: doc["variables"].update(dialer_attempt_id=123), "invalid_variable"),
        (lambda doc: doc["variables"].update(start_uepoch="4102444800000000"), "invalid_variable"),
        (lambda doc: doc["variables"].update(start_uepoch="-5"), "invalid_variable"),
    ],
    ids=["nul", "dict direction", "list switchname", "int attempt id", "year 2100", "before 1970"],
)
def test_ingest_bad_values_422_and_ingest_goes_on(client, conn, tenant, change, expected_code):
    bad_uuid = str(uuid.uuid4())
    document = _raw_document(tenant["id"], bad_uuid)
    change(document)

    response = _post(client, json.dumps(document).encode(), "application/json", bad_uuid)

    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == expected_code
    assert stored_rows(conn, bad_uuid) == []
    good_uuid = str(uuid.uuid4())
    good = _post(client, json.dumps(_raw_document(tenant["id"], good_uuid)).encode(), "application/json",
                 good_uuid)
    assert good.status_code == 200, good.json
    assert len(stored_rows(conn, good_uuid)) == 1


def test_ingest_callflow_times_not_object(client, conn, tenant):
    call_uuid = str(uuid.uuid4())
    document = _raw_document(tenant["id"], call_uuid)
    document["callflow"][-1]["times"] = 5

    response = _post(client, json.dumps(document).encode(), "application/json", call_uuid)

    assert response.status_code == 200, response.json
    assert len(stored_rows(conn, call_uuid)) == 1


def test_ingest_deeply_nested_json_400(client, conn):
    before = cdr_count(conn)
    body = b"[" * 100_000 + b"]" * 100_000

    response = _post(client, body, "application/json")

    assert response.status_code == 400
    assert response.json["error"]["code"] == "malformed"
    assert cdr_count(conn) == before
