// Do-not-call page: adds numbers, uploads registry copies and looks numbers
// up through the DNC API with the session's access token. Visible strings
// come from the page's #ui-strings block, already translated by the server;
// the API URLs carry ?lang= so its error messages match the page.
(function () {
  "use strict";

  const strings = JSON.parse(document.getElementById("ui-strings").textContent);
  const root = document.getElementById("dnc-page");

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, (match, key) => (key in values ? String(values[key]) : match));
  }

  function showNotice(message) {
    const notice = document.getElementById("dnc-notice");
    notice.textContent = message;
    notice.hidden = false;
  }

  function fillList(id, items) {
    document.getElementById(id).replaceChildren(...items.map((value) => {
      const item = document.createElement("li");
      item.textContent = value;
      return item;
    }));
  }

  // Send a request with the Bearer token; return the JSON body, or null after
  // showing the API's error message.
  async function callApi(url, options) {
    const token = DialerSession.accessToken() || (await DialerSession.refresh());
    if (!token) {
      DialerSession.goToLogin();
      return null;
    }
    const headers = Object.assign({ Authorization: "Bearer " + token }, options.headers || {});
    const response = await fetch(url, Object.assign({}, options, { headers }));
    if (response.status === 401) {
      showNotice(strings.sessionExpired);
      setTimeout(DialerSession.goToLogin, 1500);
      return null;
    }
    const body = await response.json();
    if (!response.ok) {
      showNotice(body.error ? body.error.message : strings.networkError);
      return null;
    }
    document.getElementById("dnc-notice").hidden = true;
    return body;
  }

  async function addNumbers(event) {
    event.preventDefault();
    const numbers = document.getElementById("add-numbers").value
      .split("\n").map((line) => line.trim()).filter((line) => line !== "");
    if (numbers.length === 0) {
      showNotice(strings.noNumbers);
      return;
    }
    const reason = document.getElementById("add-reason").value.trim();
    const body = await callApi(root.dataset.addUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ numbers, reason, skip_invalid: true }),
    });
    if (!body) return;
    document.getElementById("add-result").textContent = format(strings.addedSummary, {
      added: body.added, listed: body.accepted.length - body.added,
    }) + " " + body.accepted.join(", ");
    const rejected = body.rejected.map((item) => item.number + ": " + item.message);
    if (rejected.length > 0) rejected.unshift(format(strings.rejectedSummary, { count: rejected.length }));
    fillList("add-rejected", rejected);
  }

  async function uploadCopy(event) {
    event.preventDefault();
    const body = await callApi(root.dataset.uploadUrl, { method: "POST", body: new FormData(event.target) });
    if (!body) return;
    const registry = body.registry === "internal" ? strings.internal : body.registry;
    document.getElementById("upload-result").textContent =
      format(strings.uploadSummary, { numbers: body.numbers, registry });
    fillList("upload-warnings", body.warnings);
  }

  async function lookUp(event) {
    event.preventDefault();
    const number = document.getElementById("lookup-number").value.trim();
    const url = root.dataset.lookupUrl + "&number=" + encodeURIComponent(number);
    const body = await callApi(url, { method: "GET" });
    if (!body) return;
    document.getElementById("lookup-result").textContent =
      format(body.listed ? strings.listed : strings.notListed, { number: body.number });
    const rows = document.getElementById("lookup-body");
    rows.replaceChildren();
    for (const listing of body.listings) {
      const row = rows.insertRow();
      const registry = listing.registry === "internal" ? strings.internal : listing.registry;
      for (const value of [registry, listing.effective_at, listing.reason, listing.added_at]) {
        row.insertCell().textContent = value || "—";
      }
    }
  }

  const handlers = { "add-form": addNumbers, "upload-form": uploadCopy, "lookup-form": lookUp };
  for (const [id, handler] of Object.entries(handlers)) {
    document.getElementById(id).addEventListener("submit", (event) => {
      handler(event).catch(() => showNotice(strings.networkError));
    });
  }
})();
