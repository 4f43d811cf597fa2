"use strict";

// Auto-protection page: the pacing decision in force, the dial-level
// history from pacing_log, and the pacing settings form.
(() => {
  const { strings, formats, api, showNotice } = PacingPage;
  const campaignId = document.getElementById("autoprotect").dataset.campaignId;
  const pacingUrl = `/api/campaigns/${campaignId}/pacing`;
  const HISTORY_LIMIT = 50;
  const EDITOR_ROLES = new Set(["admin", "supervisor"]);

  const form = document.getElementById("settings-form");
  const submit = document.getElementById("settings-submit");
  const status = document.getElementById("settings-status");

  function setText(id, text) {
    document.getElementById(id).textContent = text;
  }

  function modeLabel(mode) {
    return strings.modes[mode] || mode;
  }

  // Decision and history -------------------------------------------------------

  function renderDecision(decision) {
    document.getElementById("decision").hidden = !decision;
    const empty = document.getElementById("no-decision");
    empty.hidden = Boolean(decision);
    empty.textContent = decision ? "" : strings.noDecision;
    if (!decision) return;
    setText("decision-mode", modeLabel(decision.mode));
    setText("decision-dial-level", formats.decimal.format(decision.dial_level));
    setText("decision-multiplier", formats.decimal.format(decision.multiplier));
    const throttled = document.getElementById("decision-throttled");
    throttled.textContent = decision.throttled ? strings.throttledYes : strings.throttledNo;
    throttled.classList.toggle("is-throttled", decision.throttled);
    setText("decision-reason", decision.reason);
    const time = document.getElementById("decision-time");
    time.dateTime = decision.created_at;
    time.textContent = formats.dateTime.format(new Date(decision.created_at));
  }

  function renderHistory(decisions) {
    const body = document.getElementById("history-body");
    const rows = decisions.map((decision) => PacingPage.tableRow([
      formats.dateTime.format(new Date(decision.created_at)),
      modeLabel(decision.mode),
      formats.decimal.format(decision.dial_level),
      formats.decimal.format(decision.multiplier),
      decision.throttled ? strings.yes : strings.no,
      decision.reason,
    ]));
    if (rows.length === 0) {
      rows.push(PacingPage.tableRow([strings.noHistory]));
    }
    body.replaceChildren(...rows);
    for (const row of body.rows) {
      for (const index of [2, 3]) if (row.cells[index]) row.cells[index].className = "num";
    }

    const oldestFirst = [...decisions].reverse();
    const points = oldestFirst.map((decision) => ({
      label: formats.time.format(new Date(decision.created_at)),
      value: decision.dial_level,
    }));
    const title = strings.chartLabel
      .replace("{count}", String(points.length))
      .replace("{start}", points.length ? points[0].label : "—")
      .replace("{end}", points.length ? points[points.length - 1].label : "—");
    PacingPage.lineChart(document.getElementById("history-chart"), points, {
      title,
      minTop: 1,
      format: (value) => formats.decimal.format(value),
    });
  }

  async function loadStatus() {
    const [pacing, history] = await Promise.all([
      api("GET", pacingUrl),
      api("GET", `${pacingUrl}/history?limit=${HISTORY_LIMIT}`),
    ]);
    setText("campaign-name", pacing.name);
    renderDecision(pacing.latest_decision);
    renderHistory(history.decisions);
    return pacing;
  }

  // Settings form --------------------------------------------------------------

  function fillForm(settings) {
    for (const [name, value] of Object.entries(settings)) {
      const input = form.elements[name];
      if (input) input.value = String(value);
    }
  }

  function clearErrors() {
    for (const element of form.querySelectorAll(".pacing__error")) {
      element.hidden = true;
      element.textContent = "";
    }
    for (const element of form.querySelectorAll(".is-invalid")) {
      element.classList.remove("is-invalid");
      element.removeAttribute("aria-invalid");
    }
  }

  function showFieldError(field, message) {
    const input = field && form.elements[field];
    if (!input) {
      status.textContent = message;
      return;
    }
    const error = document.getElementById(`error-${field}`);
    error.textContent = message;
    error.hidden = false;
    input.classList.add("is-invalid");
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }

  // Client-side hint only: the server decides, so an out-of-range value is
  // still sent and its rejection shown next to the field.
  function checkRange(input) {
    const hint = document.getElementById(`hint-${input.name}`);
    if (!hint) return;
    const value = Number(input.value);
    const outside = input.value !== "" && (value < Number(input.min) || value > Number(input.max));
    hint.classList.toggle("is-warning", outside);
    hint.dataset.original = hint.dataset.original || hint.textContent;
    hint.textContent = outside ? `${strings.outOfRange} ${hint.dataset.original}` : hint.dataset.original;
  }

  function readForm() {
    const payload = {};
    for (const element of form.elements) {
      if (!element.name) continue;
      if (element.type === "number") {
        payload[element.name] = element.value === "" ? null : Number(element.value);
      } else {
        payload[element.name] = element.value;
      }
    }
    return payload;
  }

  async function save(event) {
    event.preventDefault();
    clearErrors();
    submit.disabled = true;
    status.textContent = strings.saving;
    try {
      const result = await api("PUT", pacingUrl, readForm());
      fillForm(result.settings);
      status.textContent = strings.saved;
    } catch (error) {
      status.textContent = "";
      showFieldError(error.field, error.message);
    } finally {
      submit.disabled = false;
    }
  }

  function applyRole(user) {
    if (EDITOR_ROLES.has(user.role)) return;
    const readOnly = document.getElementById("settings-readonly");
    readOnly.textContent = strings.readOnly;
    readOnly.hidden = false;
    for (const element of form.elements) element.disabled = true;
  }

  async function start() {
    form.addEventListener("submit", save);
    form.addEventListener("input", (event) => checkRange(event.target));
    try {
      const [pacing, user] = await Promise.all([loadStatus(), api("GET", "/api/me")]);
      fillForm(pacing.settings);
      applyRole(user);
    } catch (error) {
      showNotice(error.message);
    }
  }

  start();
})();
