"use strict";

// Live campaign table fed by /ws: connection, reconnects and rendering.
(() => {
  const strings = DialerSession.strings;
  const locale = DialerSession.locale;
  const AUTH_ERROR_CODES = new Set(["token_missing", "token_invalid", "token_expired"]);
  const MAX_BACKOFF_S = 30;
  const COUNTER_FIELDS = ["dialing", "ringing", "talking", "agents_available", "agents_logged_in"];
  const WINDOWS = ["abandonment_15m", "abandonment_30d"];

  const percent = new Intl.NumberFormat(locale, {
    style: "percent",
    minimumFractionDigits: 1,
    maximumFractionDigits: 1,
  });
  const wholePercent = new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 1 });
  const clock = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit", second: "2-digit" });

  const elements = {
    status: document.getElementById("connection-status"),
    statusText: document.getElementById("connection-status-text"),
    alertBar: document.getElementById("global-alert-bar"),
    body: document.getElementById("campaigns-body"),
    lastUpdate: document.getElementById("last-update"),
    notice: document.getElementById("live-notice"),
    userEmail: document.getElementById("user-email"),
    logout: document.getElementById("logout-button"),
  };

  let socket = null;
  let failedAttempts = 0;
  let authFailure = false;
  let refreshedSinceHello = false;
  let leaving = false;
  let watchdog = null;
  let reconnectTimer = null;
  let countdownTimer = null;

  // Connection status widget ------------------------------------------------

  function setStatus(state, text) {
    elements.status.dataset.state = state;
    elements.statusText.textContent = text;
  }

  function showNotice(text) {
    elements.notice.textContent = text || "";
    elements.notice.hidden = !text;
  }

  // Rendering -----------------------------------------------------------------

  function formatRate(window) {
    if (!window || window.rate_pct === null || window.rate_pct === undefined) {
      return "—";
    }
    return percent.format(window.rate_pct / 100);
  }

  function cell(row, field) {
    return row.querySelector(`[data-field="${field}"]`);
  }

  function buildRow(campaignId) {
    const row = document.createElement("tr");
    row.dataset.campaignId = String(campaignId);
    const name = document.createElement("th");
    name.scope = "row";
    // The name links to the campaign's auto-protection page (pacing settings,
    // pacing decisions and the abandonment trend).
    const link = document.createElement("a");
    link.href = `/campaigns/${encodeURIComponent(campaignId)}/pacing`;
    link.dataset.field = "name";
    name.append(link);
    row.append(name);
    for (const field of ["status", "dialing", "ringing", "talking"]) {
      const td = document.createElement("td");
      td.dataset.field = field;
      if (field !== "status") td.className = "num";
      row.append(td);
    }
    const agents = document.createElement("td");
    agents.className = "num";
    agents.innerHTML = '<span data-field="agents_available"></span> / <span data-field="agents_logged_in"></span>';
    row.append(agents);
    for (const field of WINDOWS) {
      const td = document.createElement("td");
      td.dataset.field = field;
      td.className = "num rate";
      row.append(td);
    }
    return row;
  }

  function fillRow(row, campaign) {
    cell(row, "name").textContent = campaign.name;
    cell(row, "status").textContent = strings.campaignStatus[campaign.status] || campaign.status;
    for (const field of COUNTER_FIELDS) {
      cell(row, field).textContent = String(campaign[field]);
    }
    for (const field of WINDOWS) {
      const td = cell(row, field);
      const window = campaign[field];
      td.textContent = formatRate(window);
      td.title = window.rate_pct === null ? strings.noLiveAnswers : `${window.abandoned} / ${window.live_answers}`;
      td.classList.toggle("is-over", window.rate_pct !== null && window.rate_pct > strings.alertThresholdPct);
    }
    row.classList.toggle("is-alert", Boolean(campaign.alert));
  }

  function renderTable(campaigns) {
    const existing = new Map();
    for (const row of elements.body.querySelectorAll("tr[data-campaign-id]")) {
      existing.set(row.dataset.campaignId, row);
    }
    const rows = campaigns.map((campaign) => {
      const row = existing.get(String(campaign.campaign_id)) || buildRow(campaign.campaign_id);
      fillRow(row, campaign);
      return row;
    });
    if (rows.length === 0) {
      const empty = document.createElement("tr");
      empty.id = "campaigns-empty";
      empty.innerHTML = '<td colspan="8"></td>';
      empty.firstChild.textContent = strings.noCampaigns;
      rows.push(empty);
    }
    elements.body.replaceChildren(...rows);
  }

  function renderAlert(campaigns) {
    const names = campaigns.filter((campaign) => campaign.alert).map((campaign) => campaign.name);
    if (names.length === 0) {
      elements.alertBar.hidden = true;
      elements.alertBar.textContent = "";
      return;
    }
    const text = strings.alertOverThreshold
      .replace("{threshold}", wholePercent.format(strings.alertThresholdPct / 100))
      .replace("{campaigns}", names.join(", "));
    // Rewriting the same text would make screen readers announce it again.
    if (elements.alertBar.textContent !== text) {
      elements.alertBar.textContent = text;
    }
    elements.alertBar.hidden = false;
  }

  function render(message) {
    renderTable(message.campaigns);
    renderAlert(message.campaigns);
    elements.lastUpdate.textContent = clock.format(new Date(message.server_time));
    elements.lastUpdate.dateTime = new Date(message.server_time).toISOString();
    showNotice("");
  }

  // Socket ---------------------------------------------------------------------

  function socketUrl(token) {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    const query = new URLSearchParams({ token, lang: locale });
    return `${scheme}//${window.location.host}/ws?${query}`;
  }

  // Closes a socket that stopped sending; the server sends a heartbeat
  // every heartbeat_s seconds and an update at least every 2 s.
  function armWatchdog(heartbeatS) {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => {
      if (socket) socket.close();
    }, (2 * heartbeatS + 5) * 1000);
  }

  function handleMessage(event) {
    const message = JSON.parse(event.data);
    armWatchdog(socket.heartbeatS || 10);
    switch (message.type) {
      case "ws.hello":
        socket.heartbeatS = message.heartbeat_s;
        armWatchdog(message.heartbeat_s);
        failedAttempts = 0;
        refreshedSinceHello = false;
        elements.userEmail.textContent = message.user.email || "";
        setStatus("connected", strings.statusConnected);
        break;
      case "live.snapshot":
      case "live.update":
        render(message);
        break;
      case "ws.error":
        if (AUTH_ERROR_CODES.has(message.code)) {
          authFailure = true;
        } else {
          showNotice(message.message);
        }
        break;
      default:
        break;
    }
  }

  function connect(token) {
    clearTimeout(reconnectTimer);
    clearInterval(countdownTimer);
    authFailure = false;
    if (failedAttempts === 0) setStatus("connecting", strings.statusConnecting);
    socket = new WebSocket(socketUrl(token));
    socket.addEventListener("message", handleMessage);
    socket.addEventListener("close", handleClose);
  }

  async function handleClose() {
    clearTimeout(watchdog);
    socket = null;
    if (leaving) return;
    if (authFailure) {
      await renewTokenAndConnect();
      return;
    }
    scheduleReconnect();
  }

  async function renewTokenAndConnect() {
    // A second auth failure right after a refresh means the new token is
    // rejected too, so the session is over.
    if (refreshedSinceHello) {
      endSession();
      return;
    }
    let token;
    try {
      token = await DialerSession.refresh();
    } catch (error) {
      scheduleReconnect();
      return;
    }
    if (!token) {
      endSession();
      return;
    }
    refreshedSinceHello = true;
    connect(token);
  }

  function scheduleReconnect() {
    const delayS = Math.min(MAX_BACKOFF_S, 2 ** failedAttempts) * (0.75 + Math.random() * 0.5);
    failedAttempts += 1;
    clearTimeout(reconnectTimer);
    let remainingS = Math.ceil(delayS);
    const showCountdown = () => {
      setStatus("reconnecting", strings.statusReconnecting.replace("{seconds}", String(remainingS)));
      remainingS = Math.max(remainingS - 1, 0);
    };
    showCountdown();
    clearInterval(countdownTimer);
    countdownTimer = setInterval(showCountdown, 1000);
    reconnectTimer = setTimeout(() => {
      const token = DialerSession.accessToken();
      if (token) {
        connect(token);
      } else {
        renewTokenAndConnect();
      }
    }, delayS * 1000);
  }

  function endSession() {
    leaving = true;
    setStatus("disconnected", strings.statusDisconnected);
    showNotice(strings.sessionExpired);
    setTimeout(DialerSession.goToLogin, 1500);
  }

  // Start ---------------------------------------------------------------------

  async function start() {
    let token = DialerSession.accessToken();
    if (!token) {
      try {
        token = await DialerSession.refresh();
      } catch (error) {
        showNotice(strings.networkError);
        scheduleReconnect();
        return;
      }
    }
    if (!token) {
      DialerSession.goToLogin();
      return;
    }
    connect(token);
  }

  elements.logout.addEventListener("click", () => {
    leaving = true;
    if (socket) socket.close(1000);
    setStatus("disconnected", strings.statusDisconnected);
    DialerSession.logOut();
  });
  window.addEventListener("offline", () => {
    if (socket) socket.close();
  });
  window.addEventListener("online", () => {
    if (!socket && !leaving) {
      failedAttempts = 0;
      scheduleReconnect();
    }
  });

  start();
})();
