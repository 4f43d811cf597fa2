"""The dashboard in headless Chromium, against the real app, PostgreSQL and Redis."""

from __future__ import annotations

import json
import uuid

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from dialer_common import db
from web.live import counters_key, events_channel

pytestmark = pytest.mark.browser

WAIT_S = 20
# The CSS custom property --bad of dashboard.css, as Chromium reports it.
ALERT_RED = "rgba(179, 38, 30, 1)"


READ_TOKEN_JS = "return sessionStorage.getItem('dialer.accessToken')"
# The status text while the widget is in the reconnecting state, else null,
# read in one step so the state cannot change between the two reads.
RECONNECTING_TEXT_JS = """
const status = document.getElementById("connection-status");
return status.dataset.state === "reconnecting" ? status.textContent.trim() : null;
"""


def text_of(driver, css: str) -> str:
    """Return the element's visible text with no-break spaces as plain spaces."""
    return driver.find_element(By.CSS_SELECTOR, css).text.replace("\u00a0", " ").replace("\u202f", " ")


def wait_for_text(driver, css: str, expected: str) -> None:
    try:
        WebDriverWait(driver, WAIT_S).until(lambda d: text_of(d, css) == expected)
    except TimeoutException as exc:
        actual = text_of(driver, css) if driver.find_elements(By.CSS_SELECTOR, css) else "<missing>"
        raise AssertionError(f"{css}: expected {expected!r}, still {actual!r}") from exc


def wait_for(driver, css: str):
    return WebDriverWait(driver, WAIT_S).until(lambda d: d.find_element(By.CSS_SELECTOR, css))


def log_in(driver, base_url: str, email: str, password: str) -> None:
    driver.get(f"{base_url}/login")
    driver.find_element(By.ID, "login-email").send_keys(email)
    driver.find_element(By.ID, "login-password").send_keys(password)
    driver.find_element(By.ID, "login-submit").click()


def add_live_answers(conn, tenant: dict, live: int, abandoned: int) -> None:
    with db.transaction(conn) as cur:
        for index in range(live):
            cur.execute(
                "INSERT INTO cdr (tenant_id, call_uuid, leg, started_at, campaign_id, answered, live,"
                " abandoned, raw) VALUES (%s, %s, 'a', now(), %s, true, true, %s, '{}')",
                (tenant["id"], str(uuid.uuid4()), tenant["campaign_id"], index < abandoned),
            )


def test_login_wrong_password_shows_error(browser, live_server, tenant):
    log_in(browser, live_server, tenant["email"], "wrong-password")

    error = wait_for(browser, "#login-error:not([hidden])")

    assert error.text == "Correo o contraseña incorrectos."
    assert browser.current_url == f"{live_server}/login"


def test_dashboard_live_figures_and_alert(browser, live_server, config, tenant, conn, redis_client, tmp_path):
    row = f'tr[data-campaign-id="{tenant["campaign_id"]}"]'
    channel = events_channel(config.redis_prefix, tenant["id"])
    event = json.dumps({"type": "campaign.counters", "campaign_id": tenant["campaign_id"]})

    # The login page and the empty dashboard, in Spanish by default.
    browser.get(f"{live_server}/login")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "es"
    assert browser.find_element(By.CSS_SELECTOR, "label[for=login-email]").text == "Correo electrónico"
    log_in(browser, live_server, tenant["email"], tenant["password"])
    wait_for(browser, '#connection-status[data-state="connected"]')
    wait_for_text(browser, f"{row} [data-field=name]", "Cobranza Diciembre")
    assert browser.current_url == f"{live_server}/"
    assert text_of(browser, "h1") == "Panel de supervisión"
    assert text_of(browser, "#connection-status-text") == "Conectado"
    assert text_of(browser, f"{row} [data-field=status]") == "Borrador"
    assert text_of(browser, f"{row} [data-field=ringing]") == "0"
    assert text_of(browser, f"{row} [data-field=abandonment_15m]") == "—"
    assert text_of(browser, f"{row} [data-field=abandonment_30d]") == "—"
    assert not browser.find_element(By.ID, "global-alert-bar").is_displayed()

    # Counters written and published by the orchestrator show up.
    redis_client.hset(
        counters_key(config.redis_prefix, tenant["id"], tenant["campaign_id"]),
        mapping={"dialing": 4, "ringing": 7, "talking": 2, "agents_available": 3, "agents_logged_in": 5},
    )
    redis_client.publish(channel, event)
    wait_for_text(browser, f"{row} [data-field=ringing]", "7")
    assert text_of(browser, f"{row} [data-field=dialing]") == "4"
    assert text_of(browser, f"{row} [data-field=talking]") == "2"
    assert text_of(browser, f"{row} [data-field=agents_available]") == "3"
    assert text_of(browser, f"{row} [data-field=agents_logged_in]") == "5"

    # 1 abandoned call in 20 live answers is 5 %, over the 3 % limit.
    add_live_answers(conn, tenant, live=20, abandoned=1)
    redis_client.publish(channel, event)
    wait_for_text(browser, f"{row} [data-field=abandonment_15m]", "5,0 %")
    assert text_of(browser, f"{row} [data-field=abandonment_30d]") == "5,0 %"
    alert_bar = wait_for(browser, "#global-alert-bar:not([hidden])")
    assert alert_bar.is_displayed()
    assert text_of(browser, "#global-alert-bar") == "Abandono por encima del 3 %: Cobranza Diciembre"
    assert alert_bar.value_of_css_property("background-color") == ALERT_RED
    assert alert_bar.get_attribute("aria-live") == "assertive"
    screenshot = tmp_path / "dashboard-es.png"
    browser.save_screenshot(str(screenshot))
    print(f"screenshot: {screenshot}")

    # The language switch reloads the page in English and keeps the session.
    browser.find_element(By.ID, "lang-switch").click()
    wait_for_text(browser, "h1", "Supervisor dashboard")
    wait_for_text(browser, f"{row} [data-field=abandonment_15m]", "5.0%")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    wait_for_text(browser, "#connection-status-text", "Connected")
    assert text_of(browser, f"{row} [data-field=status]") == "Draft"
    assert text_of(browser, f"{row} [data-field=ringing]") == "7"
    wait_for_text(browser, "#global-alert-bar", "Abandonment above 3%: Cobranza Diciembre")
    browser.save_screenshot(str(tmp_path / "dashboard-en.png"))

    # Logging out returns to the login page, which stays in English.
    browser.find_element(By.ID, "logout-button").click()
    wait_for(browser, "#login-form")
    assert browser.current_url == f"{live_server}/login"
    assert browser.find_element(By.CSS_SELECTOR, "label[for=login-email]").text == "Email"


def test_dashboard_refreshes_expired_token(browser, short_token_server, tenant):
    log_in(browser, short_token_server, tenant["email"], tenant["password"])
    wait_for(browser, '#connection-status[data-state="connected"]')
    first_token = browser.execute_script(READ_TOKEN_JS)

    # The server closes the socket when the 5 s token expires, and the page
    # refreshes the token through the refresh cookie and reconnects.
    WebDriverWait(browser, WAIT_S).until(
        lambda d: d.execute_script(READ_TOKEN_JS) not in (first_token, None)
    )
    wait_for(browser, '#connection-status[data-state="connected"]')

    assert browser.current_url == f"{short_token_server}/"
    assert browser.find_element(By.ID, "live-notice").is_displayed() is False


def test_dashboard_reconnects_after_drop(browser, live_server, tenant):
    log_in(browser, live_server, tenant["email"], tenant["password"])
    wait_for(browser, '#connection-status[data-state="connected"]')

    # The page closes its socket when the browser goes offline, then
    # reconnects after a backoff delay.
    browser.execute_script("window.dispatchEvent(new Event('offline'))")
    status_text = WebDriverWait(browser, WAIT_S).until(lambda d: d.execute_script(RECONNECTING_TEXT_JS))
    wait_for(browser, '#connection-status[data-state="connected"]')

    assert status_text.startswith("Reconectando en ")
    assert text_of(browser, "#connection-status-text") == "Conectado"
