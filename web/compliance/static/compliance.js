// Compliance report page: reads the report JSON with the session's access
// token and fills the tables. Visible strings come from the page's
// #ui-strings block, already translated by the server.
(function () {
  "use strict";

  const strings = JSON.parse(document.getElementById("ui-strings").textContent);
  const root = document.getElementById("compliance-report");
  // Numbers in the page's locale: Spanish pages show a decimal comma.
  const numberFormat = new Intl.NumberFormat(document.body.dataset.locale, { maximumFractionDigits: 2 });

  function number(value) {
    return value === null || value === undefined ? null : numberFormat.format(value);
  }

  function percent(value) {
    return value === null || value === undefined ? null : numberFormat.format(value) + " %";
  }

  function text(id, value) {
    document.getElementById(id).textContent = value === null || value === undefined ? "—" : String(value);
  }

  function fillRows(id, rows, cells) {
    const body = document.getElementById(id);
    body.replaceChildren();
    if (rows.length === 0) {
      const row = body.insertRow();
      const cell = row.insertCell();
      cell.colSpan = 4;
      cell.textContent = strings.noData;
      return;
    }
    for (const item of rows) {
      const row = body.insertRow();
      for (const value of cells(item)) {
        row.insertCell().textContent = value === null ? "—" : String(value);
      }
    }
  }

  function showNotice(message) {
    const notice = document.getElementById("report-notice");
    notice.textContent = message;
    notice.hidden = false;
  }

  function render(report) {
    const abandonment = report.abandonment;
    document.querySelector(".topbar__title").textContent = strings.heading.replace("{name}", report.campaign.name);
    text("abandonment-rate", percent(abandonment.rate_pct));
    text("abandonment-counts", number(abandonment.abandoned) + " / " + number(abandonment.live_answers));
    text("must-go-progressive", abandonment.must_go_progressive ? strings.yes : strings.no);
    fillRows("windows-body", abandonment.daily_30_day_windows,
      (w) => [w.window_end, number(w.live_answers), number(w.abandoned), percent(w.rate_pct)]);
    text("ring-unanswered", number(report.ring_times.unanswered));
    text("ring-min", number(report.ring_times.min_ring_s));
    text("ring-avg", number(report.ring_times.avg_ring_s));
    text("ring-early", number(report.ring_times.gave_up_early));
    fillRows("safe-harbor-body", report.safe_harbor_plays, (p) => [p.call_uuid, p.safe_harbor_at]);
    fillRows("dnc-body", report.dnc_lists, (l) => [l.registry, l.list_date, l.uploaded_at]);
    const warnings = document.getElementById("dnc-warnings");
    warnings.replaceChildren(...report.dnc_warnings.map((w) => {
      const item = document.createElement("li");
      item.textContent = w;
      return item;
    }));
    fillRows("blocks-body", report.blocked_by_rule, (b) => [b.rule, number(b.blocked), b.last_blocked_at]);
  }

  async function load() {
    let token = DialerSession.accessToken() || (await DialerSession.refresh());
    if (!token) {
      DialerSession.goToLogin();
      return;
    }
    const response = await fetch(root.dataset.reportUrl, { headers: { Authorization: "Bearer " + token } });
    if (response.status === 401) {
      showNotice(strings.sessionExpired);
      setTimeout(DialerSession.goToLogin, 1500);
      return;
    }
    render(await response.json());
  }

  // The CSV needs the Bearer token too, so the link downloads through fetch.
  async function downloadCsv(event) {
    event.preventDefault();
    const token = DialerSession.accessToken() || (await DialerSession.refresh());
    const response = await fetch(event.currentTarget.href, { headers: { Authorization: "Bearer " + token } });
    const url = URL.createObjectURL(await response.blob());
    const link = document.createElement("a");
    link.href = url;
    link.download = "compliance-report.csv";
    link.click();
    URL.revokeObjectURL(url);
  }

  document.getElementById("csv-link").addEventListener("click", (event) => {
    downloadCsv(event).catch(() => showNotice(strings.networkError));
  });
  load().catch(() => showNotice(strings.networkError));
})();
