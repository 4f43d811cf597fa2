"use strict";

// Abandonment trend page: the 15-minute and rolling 30-day series of one
// campaign as inline SVG charts with the FTC 3 % ceiling, plus tables.
(() => {
  const { strings, formats, formatPct, api, showNotice } = PacingPage;
  const campaignId = document.getElementById("abandonment-trend").dataset.campaignId;
  const HOURS = 24;

  function maxRate(series) {
    const rates = series.map((point) => point.rate_pct).filter((rate) => rate !== null);
    return rates.length ? formatPct(Math.max(...rates)) : "—";
  }

  function renderSeries(prefix, series, label, title, ceilingPct) {
    const points = series.map((point) => ({ label: label(point), value: point.rate_pct }));
    PacingPage.lineChart(document.getElementById(`${prefix}-chart`), points, {
      title,
      ceiling: { value: ceilingPct, label: strings.ceiling.replace("{value}", formatPct(ceilingPct)) },
      format: formatPct,
    });
    const rows = series.map((point) => {
      const row = PacingPage.tableRow([
        label(point),
        String(point.live_answers),
        String(point.abandoned),
        point.rate_pct === null ? strings.noLiveAnswers : formatPct(point.rate_pct),
      ]);
      for (const cell of [...row.cells].slice(1)) cell.className = "num";
      return row;
    });
    document.getElementById(`${prefix}-body`).replaceChildren(...rows);
  }

  async function start() {
    let trend;
    try {
      trend = await api("GET", `/api/reports/abandonment/trend?campaign_id=${campaignId}&hours=${HOURS}`);
    } catch (error) {
      showNotice(error.message);
      return;
    }
    document.getElementById("campaign-name").textContent = trend.name;
    const ceiling = trend.ftc_ceiling_pct;
    const quarterTitle = strings.quarterHourChart
      .replace("{hours}", String(trend.hours))
      .replace("{points}", String(trend.quarter_hours.length))
      .replace("{max}", maxRate(trend.quarter_hours));
    renderSeries("quarter", trend.quarter_hours, (point) => formats.time.format(new Date(point.start)), quarterTitle, ceiling);
    const rollingTitle = strings.rollingChart
      .replace("{points}", String(trend.rolling_30d.length))
      .replace("{max}", maxRate(trend.rolling_30d));
    renderSeries("rolling", trend.rolling_30d, (point) => formats.day.format(new Date(`${point.day}T00:00:00Z`)), rollingTitle, ceiling);
    const hasData = [...trend.quarter_hours, ...trend.rolling_30d].some((point) => point.live_answers > 0);
    showNotice(hasData ? "" : strings.noData);
  }

  start();
})();
