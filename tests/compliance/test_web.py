"""The compliance HTTP API, report page and CSV export, on the real app."""

from __future__ import annotations

import csv
import datetime as dt
import io

from dialer_common.compliance import dnc


def test_dnc_add_then_lookup(client, auth_headers):
    added = client.post(
        "/api/dnc", json={"numbers": ["(305) 555-0123"], "reason": "asked"}, headers=auth_headers
    )
    assert added.status_code == 201
    assert added.json["added"] == 1

    found = client.get("/api/dnc?number=%2B13055550123", headers=auth_headers)
    assert found.json["listed"] is True
    assert found.json["listings"][0]["registry"] == "internal"
    assert client.get("/api/dnc?number=%2B13055550124", headers=auth_headers).json["listed"] is False


def test_dnc_add_rejects_bad_number(client, auth_headers):
    response = client.post("/api/dnc", json={"numbers": ["12ab"]}, headers=auth_headers)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_number"
    assert "12ab" in response.json["error"]["message"]


def test_dnc_requires_token(client):
    assert client.get("/api/dnc?number=%2B13055550123").status_code == 401


def test_registry_upload_with_stale_date_warns(client, auth_headers):
    old = (dt.date.today() - dt.timedelta(days=40)).isoformat()
    data = {
        "registry": "us-national-dnc",
        "list_date": old,
        "file": (io.BytesIO(b"phone\n+12125550101\n2125550102\n"), "national.csv"),
    }
    response = client.post(
        "/api/dnc/upload", data=data, headers=auth_headers, content_type="multipart/form-data"
    )
    assert response.status_code == 201, response.json
    assert response.json["numbers"] == 2
    assert "40 days old" in response.json["warnings"][0]


def test_registry_upload_rejects_bad_date(client, auth_headers):
    data = {
        "registry": "us-national-dnc",
        "list_date": "2026-13-01",
        "file": (io.BytesIO(b"+12125550101\n"), "national.csv"),
    }
    response = client.post(
        "/api/dnc/upload", data=data, headers=auth_headers, content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert response.json["error"]["field"] == "list_date"


def test_settings_put_and_get(client, auth_headers, tenant):
    url = f"/api/compliance/campaigns/{tenant['campaign_id']}/settings"
    body = {
        "purpose": "collections",
        "packs": ["us-federal", "us-debt-collection"],
        "retry_delays_s": {"busy": 60},
    }
    assert client.put(url, json=body, headers=auth_headers).status_code == 200
    assert client.get(url, headers=auth_headers).json["packs"] == ["us-federal", "us-debt-collection"]
    bad = client.put(url, json={**body, "packs": ["us-xx"]}, headers=auth_headers)
    assert bad.status_code == 400
    assert "us-xx" in bad.json["error"]["message"]


def test_override_wider_rejected(client, auth_headers):
    body = (
        'id = "us-fl"\nversion = "a"\ntitle = "t"\ncountry = "US"\npurposes = ["telemarketing"]\n'
        '[[windows]]\ndays = "mon-sun"\nstart = "07:00"\nend = "20:00"\n'
        '[[caps]]\nscope = "number"\nlimit = 3\nwindow = "24h"\n'
    )
    response = client.put("/api/compliance/packs/us-fl/override", data=body, headers=auth_headers)
    assert response.status_code == 400
    assert "wider" in response.json["error"]["message"]
    narrower = body.replace('"07:00"', '"09:00"')
    accepted = client.put("/api/compliance/packs/us-fl/override", data=narrower, headers=auth_headers)
    assert accepted.status_code == 200
    assert accepted.json["pack"]["windows"][0]["start_minute"] == 9 * 60


def test_report_json_and_csv(client, auth_headers, tenant, conn, packs):
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO compliance_blocks (tenant_id, campaign_id, lead_id, phone_e164, rule, reason)"
            " VALUES (%s, %s, 1, '+13055550123', 'us-fl:hours', 'late')",
            (tenant["id"], tenant["campaign_id"]),
        )
    conn.commit()
    dnc.add_registry_list(
        conn,
        tenant["id"],
        "us-national-dnc",
        dt.date.today() - dt.timedelta(days=35),
        [("+12125550101", None)],
        packs,
    )
    url = f"/api/compliance/campaigns/{tenant['campaign_id']}/report"

    report = client.get(url, headers=auth_headers).json

    assert report["blocked_by_rule"][0]["rule"] == "us-fl:hours"
    assert report["blocked_by_rule"][0]["blocked"] == 1
    assert report["dnc_lists"][0]["registry"] == "us-national-dnc"
    assert "35 days old" in report["dnc_warnings"][0]
    assert len(report["abandonment"]["daily_30_day_windows"]) == 30
    assert report["ring_times"]["min_required_s"] == 15

    exported = client.get(url + "?format=csv", headers=auth_headers)
    assert exported.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True))))
    assert ["blocked_by_rule", "us-fl:hours", "1"] == rows[-1][:3]


def test_report_of_other_tenant_not_found(client, auth_headers, tenant):
    response = client.get(
        f"/api/compliance/campaigns/{tenant['campaign_id'] + 100000}/report", headers=auth_headers
    )
    assert response.status_code == 404


def test_report_page_spanish_by_default(client, tenant):
    page = client.get(f"/compliance/campaigns/{tenant['campaign_id']}")
    assert page.status_code == 200
    assert "Informe de cumplimiento" in page.get_data(as_text=True)
    english = client.get(f"/compliance/campaigns/{tenant['campaign_id']}?lang=en")
    assert "Compliance report" in english.get_data(as_text=True)
