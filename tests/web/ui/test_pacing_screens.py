"""Auto-protection and abandonment trend pages in headless Chromium, against the real app."""

from __future__ import annotations

import datetime as dt
import uuid

import psycopg2.extras
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from dialer_common import db
from tests.web.ui.test_dashboard_browser import log_in, text_of, wait_for, wait_for_text

pytestmark = pytest.mark.browser

WAIT_S = 20


def add_decisions(conn, tenant: dict) -> None:
    rows = [
        (30, "predictive", 2.6, 1.0, False, "on target"),
        (20, "predictive", 2.1, 0.7, True, "15-minute abandonment 2.4% above target"),
        (5, "progressive", 1.0, 0.5, True, "15-minute abandonment 2.8% near the 3% ceiling"),
    ]
    with db.transaction(conn) as cur:
        for minutes_ago, mode, level, multiplier, throttled, reason in rows:
            cur.execute(
                "INSERT INTO pacing_log (tenant_id, campaign_id, created_at, mode, dial_level, multiplier,"
                " throttled, reason, inputs) VALUES (%s, %s, now() - make_interval(mins => %s), %s, %s, %s,"
                " %s, %s, %s)",
                (tenant["id"], tenant["campaign_id"], minutes_ago, mode, level, multiplier, throttled, reason,
                 psycopg2.extras.Json({"agents_logged_in": 4})),
            )


def add_a_legs(conn, tenant: dict, live: int, abandoned: int) -> None:
    with db.transaction(conn) as cur:
        for index in range(live):
            cur.execute(
                "INSERT INTO cdr (tenant_id, call_uuid, leg, started_at, campaign_id, answered, live,"
                " abandoned, raw) VALUES (%s, %s, 'a', %s, %s, true, true, %s, '{}')",
                (tenant["id"], str(uuid.uuid4()), dt.datetime.now(dt.UTC), tenant["campaign_id"],
                 index < abandoned),
            )


def stored_min_dial_level(conn, tenant: dict) -> float:
    conn.rollback()
    with conn.cursor() as cur:
        cur.execute("SELECT min_dial_level FROM campaigns WHERE id = %s", (tenant["campaign_id"],))
        return float(cur.fetchone()["min_dial_level"])


def test_autoprotect_page_and_settings_form(browser, live_server, tenant, conn, tmp_path):
    add_decisions(conn, tenant)
    log_in(browser, live_server, tenant["email"], tenant["password"])
    wait_for(browser, "#campaigns-table")

    # The dashboard links the campaign to its auto-protection page.
    link = wait_for(browser, f'tr[data-campaign-id="{tenant["campaign_id"]}"] a[data-field=name]')
    link.click()
    wait_for_text(browser, "#decision-reason", "15-minute abandonment 2.8% near the 3% ceiling")
    assert text_of(browser, "#decision-multiplier") == "0,5"
    assert text_of(browser, "#decision-mode") == "Progresivo"
    assert text_of(browser, "#decision-throttled").startswith("Sí")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#history-body tr")) == 3
    assert len(browser.find_elements(By.CSS_SELECTOR, "#history-chart circle")) == 3
    assert len(browser.find_elements(By.CSS_SELECTOR, "#history-chart polyline")) == 1
    WebDriverWait(browser, WAIT_S).until(
        lambda d: d.find_element(By.ID, "field-min_dial_level").get_attribute("value") == "1")
    browser.save_screenshot(str(tmp_path / "autoprotect.png"))

    # A dial level below 1: the server's message appears next to the field, nothing is stored.
    field = browser.find_element(By.ID, "field-min_dial_level")
    field.clear()
    field.send_keys("0.5")
    assert "is-warning" in browser.find_element(By.ID, "hint-min_dial_level").get_attribute("class")
    browser.find_element(By.ID, "settings-submit").click()
    error = wait_for(browser, "#error-min_dial_level:not([hidden])")
    assert error.text == (
        "Valor no válido para nivel mínimo de marcación (min_dial_level): 0,5. Use un número de 1 a 10."
    )
    assert field.get_attribute("aria-invalid") == "true"
    assert stored_min_dial_level(conn, tenant) == 1.0

    # A valid value is stored and confirmed.
    field.clear()
    field.send_keys("1.5")
    browser.find_element(By.ID, "settings-submit").click()
    saved = "Ajustes guardados. El orquestador los aplica en unos segundos."
    wait_for_text(browser, "#settings-status", saved)
    assert browser.find_element(By.ID, "error-min_dial_level").get_attribute("hidden") is not None
    assert stored_min_dial_level(conn, tenant) == 1.5


def test_abandonment_trend_page_chart(browser, live_server, tenant, conn, tmp_path):
    add_a_legs(conn, tenant, live=20, abandoned=1)
    log_in(browser, live_server, tenant["email"], tenant["password"])
    wait_for(browser, "#campaigns-table")

    browser.get(f"{live_server}/campaigns/{tenant['campaign_id']}/abandonment")
    wait_for_text(browser, "#campaign-name", "Cobranza Diciembre")

    # 96 quarter hours in 24 h and 30 days. Only the current ones have live answers,
    # so each chart has one dot.
    assert len(browser.find_elements(By.CSS_SELECTOR, "#quarter-chart circle")) == 1
    assert len(browser.find_elements(By.CSS_SELECTOR, "#quarter-chart .chart__ceiling")) == 1
    assert len(browser.find_elements(By.CSS_SELECTOR, "#rolling-chart circle")) == 1
    assert len(browser.find_elements(By.CSS_SELECTOR, "#rolling-body tr")) == 30
    assert len(browser.find_elements(By.CSS_SELECTOR, "#quarter-body tr")) == 96
    title = browser.find_element(By.CSS_SELECTOR, "#quarter-chart title").get_attribute("textContent")
    assert title.replace("\u00a0", " ") == "Abandono cada 15 minutos, últimas 24 h: 96 puntos, máximo 5,0 %"
    rows = browser.find_elements(By.CSS_SELECTOR, "#rolling-body tr")
    cells = rows[-1].find_elements(By.CSS_SELECTOR, "th, td")
    last = [cell.get_attribute("textContent").replace("\u00a0", " ") for cell in cells]
    assert last[1:] == ["20", "1", "5,0 %"]
    browser.save_screenshot(str(tmp_path / "trend.png"))
