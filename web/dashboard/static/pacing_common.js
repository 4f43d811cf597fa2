"use strict";

// Helpers shared by the auto-protection and abandonment trend pages:
// authorized API calls, number formats and a small inline SVG line chart.
const PacingPage = (() => {
  const strings = DialerSession.strings;
  const locale = DialerSession.locale;
  const SVG_NS = "http://www.w3.org/2000/svg";

  const formats = {
    decimal: new Intl.NumberFormat(locale, { maximumFractionDigits: 2 }),
    percent: new Intl.NumberFormat(locale, { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 2 }),
    dateTime: new Intl.DateTimeFormat(locale, { dateStyle: "short", timeStyle: "medium" }),
    time: new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit" }),
    day: new Intl.DateTimeFormat(locale, { day: "2-digit", month: "2-digit", timeZone: "UTC" }),
  };

  function formatPct(value) {
    return value === null || value === undefined ? "—" : formats.percent.format(value / 100);
  }

  // An API error carrying the server's translated message and the field it names.
  class ApiError extends Error {
    constructor(status, message, field) {
      super(message);
      this.status = status;
      this.field = field || null;
    }
  }

  async function send(method, url, token, payload) {
    const headers = { Accept: "application/json", Authorization: `Bearer ${token}` };
    const options = { method, headers, credentials: "same-origin" };
    if (payload !== undefined) {
      headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(payload);
    }
    return fetch(DialerSession.withLang(url), options);
  }

  // Calls the API with the session's token, refreshing it once on a 401.
  // Resolves to the JSON body; rejects with ApiError (or goes to the login
  // page when the session is over).
  async function api(method, url, payload) {
    let token = DialerSession.accessToken() || (await refreshOrLeave());
    let response;
    try {
      response = await send(method, url, token, payload);
      if (response.status === 401) {
        token = await refreshOrLeave();
        response = await send(method, url, token, payload);
      }
    } catch (error) {
      if (error instanceof ApiError) throw error;
      throw new ApiError(0, strings.networkError);
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const detail = body.error || {};
      throw new ApiError(response.status, detail.message || strings.networkError, detail.field);
    }
    return body;
  }

  async function refreshOrLeave() {
    const token = await DialerSession.refresh();
    if (!token) {
      DialerSession.goToLogin();
      throw new ApiError(401, strings.sessionExpired);
    }
    return token;
  }

  function showNotice(text) {
    const notice = document.getElementById("page-notice");
    notice.textContent = text || "";
    notice.hidden = !text;
  }

  function svgElement(name, attributes, text) {
    const element = document.createElementNS(SVG_NS, name);
    for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
    if (text !== undefined) element.textContent = text;
    return element;
  }

  // Draws points [{label, value}] (value may be null: a gap) as a line chart
  // in the svg's viewBox. Options: ceiling (a horizontal dashed line and its
  // label), format (value -> axis text), title (the chart's accessible name),
  // minTop (the smallest top of the y axis).
  function lineChart(svg, points, options) {
    const box = svg.viewBox.baseVal;
    const margin = { left: 56, right: 12, top: 12, bottom: 24 };
    const width = box.width - margin.left - margin.right;
    const height = box.height - margin.top - margin.bottom;
    const values = points.map((point) => point.value).filter((value) => value !== null);
    const top = Math.max(options.minTop || 0, options.ceiling ? options.ceiling.value * 1.25 : 0, ...values) || 1;
    const x = (index) => margin.left + (points.length > 1 ? (index * width) / (points.length - 1) : width / 2);
    const y = (value) => margin.top + height - (value / top) * height;

    const title = svg.querySelector("title");
    title.textContent = options.title;
    svg.replaceChildren(title);
    for (const fraction of [0, 0.5, 1]) {
      const value = top * fraction;
      svg.append(svgElement("line", { class: "chart__grid", x1: margin.left, x2: margin.left + width, y1: y(value), y2: y(value) }));
      svg.append(svgElement("text", { class: "chart__axis-label", x: margin.left - 6, y: y(value) + 4, "text-anchor": "end" }, options.format(value)));
    }
    if (points.length > 0) {
      for (const index of [0, points.length - 1]) {
        const anchor = index === 0 ? "start" : "end";
        svg.append(svgElement("text", { class: "chart__axis-label", x: x(index), y: box.height - 6, "text-anchor": anchor }, points[index].label));
      }
    }
    if (options.ceiling) {
      const lineY = y(options.ceiling.value);
      svg.append(svgElement("line", { class: "chart__ceiling", x1: margin.left, x2: margin.left + width, y1: lineY, y2: lineY }));
      svg.append(svgElement("text", { class: "chart__ceiling-label", x: margin.left + width - 4, y: lineY - 4, "text-anchor": "end" }, options.ceiling.label));
    }
    drawLine(svg, points, x, y, options);
  }

  // Each run of points without a gap becomes one polyline; every point gets a dot.
  function drawLine(svg, points, x, y, options) {
    let run = [];
    const flush = () => {
      if (run.length > 1) svg.append(svgElement("polyline", { class: "chart__line", points: run.join(" ") }));
      run = [];
    };
    points.forEach((point, index) => {
      if (point.value === null) {
        flush();
        return;
      }
      run.push(`${x(index)},${y(point.value)}`);
      const over = options.ceiling && point.value > options.ceiling.value;
      const dot = svgElement("circle", { class: over ? "chart__point is-over" : "chart__point", cx: x(index), cy: y(point.value), r: 2.5 });
      dot.append(svgElement("title", {}, `${point.label}: ${options.format(point.value)}`));
      svg.append(dot);
    });
    flush();
  }

  function tableRow(cells) {
    const row = document.createElement("tr");
    cells.forEach((text, index) => {
      const cell = document.createElement(index === 0 ? "th" : "td");
      if (index === 0) cell.scope = "row";
      cell.textContent = text;
      row.append(cell);
    });
    return row;
  }

  return { strings, locale, formats, formatPct, api, ApiError, showNotice, lineChart, tableRow };
})();
