// The stats view (#stats): across threads, per node, model and day, with
// charts drawn by uPlot (vendored: uPlot.esm.js, MIT, see uPlot.LICENSE).
//
// Every value from the logs (node names, model names, thread ids) is put in
// the page as text (textContent, or uPlot's own text labels), never as HTML.
import { api } from "./api.js";
import { badge, el, withUnknown } from "./dom.js";
import uPlot from "./uPlot.esm.js";
const PALETTE = ["#2f6fde", "#d64545", "#2e9d6a", "#e09b1a", "#8a4fd3",
  "#1b9aaa", "#c2477d", "#6b7482", "#7a9a01", "#b5651d"];

const charts = new Map(); // chart id -> uPlot instance (destroyed on redraw)

// -- formatting -------------------------------------------------------------------

function usd(value) {
  if (value === null || value === undefined) return "?";
  if (value === 0) return "$0";
  return value < 100 ? "$" + value.toFixed(4) : "$" + value.toFixed(2);
}

function ms(value) {
  if (value === null || value === undefined) return "—";
  if (value < 1000) return value.toFixed(1) + " ms";
  if (value < 120000) return (value / 1000).toFixed(2) + " s";
  return (value / 60000).toFixed(1) + " min";
}

function count(value) {
  return Number(value).toLocaleString("en-US");
}

function cell(text, numeric) {
  return el("td", numeric ? { class: "num" } : {}, String(text));
}

function fillTable(id, rows, testid, render) {
  const body = document.querySelector("#" + id + " tbody");
  body.replaceChildren(
    ...rows.map((row) => {
      const tr = el("tr", { "data-testid": testid });
      tr.append(...render(row));
      return tr;
    }),
  );
}

// -- charts -----------------------------------------------------------------------

function daySeconds(day) {
  return Date.parse(day + "T00:00:00Z") / 1000;
}

// One line per key (model or node), one point per day; null where the key
// had nothing that day, or where the value is unknown.
function byDay(rows, keyOf, valueOf) {
  const days = [...new Set(rows.map((row) => row.day))].sort();
  const keys = [...new Set(rows.map(keyOf))].sort();
  const index = new Map(days.map((day, i) => [day, i]));
  const lines = keys.map(() => days.map(() => null));
  for (const row of rows) {
    lines[keys.indexOf(keyOf(row))][index.get(row.day)] = valueOf(row);
  }
  return { keys, data: [days.map(daySeconds), ...lines] };
}

function drawChart(id, title, unit, { keys, data }, format) {
  const holder = document.getElementById(id);
  charts.get(id)?.destroy();
  charts.delete(id);
  holder.replaceChildren();
  holder.uplot = null;
  if (!keys.length) {
    holder.append(el("p", { class: "muted" }, "Nothing to draw in this window."));
    return;
  }
  const width = Math.max(320, (holder.clientWidth || 560) - 34); // minus padding
  const options = {
    title,
    width,
    height: 240,
    scales: { x: { time: true } },
    series: [
      { label: "day", value: (u, v) => (v == null ? "—" : new Date(v * 1000).toISOString().slice(0, 10)) },
      ...keys.map((key, i) => ({
        label: key,
        stroke: PALETTE[i % PALETTE.length],
        width: 2,
        points: { show: true, size: 5 },
        spanGaps: false,
        value: (u, v) => (v == null ? "—" : format(v)),
      })),
    ],
    axes: [{}, { label: unit, values: (u, ticks) => ticks.map(format), size: 70 }],
  };
  const chart = new uPlot(options, data, holder);
  charts.set(id, chart);
  holder.uplot = chart; // the browser tests compare the drawn data with the API
}

// -- the view ---------------------------------------------------------------------

const FILTERS = ["since", "node", "model"];

// The filters live in the URL (#stats&since=7d&node=draft), so a view can be
// linked to and reloaded; the form shows them and changes them.
function query(params) {
  const form = document.getElementById("stats-form");
  const chosen = new URLSearchParams();
  for (const name of FILTERS) {
    const value = params.has(name) ? params.get(name) : name === "since" ? "7d" : "";
    form.elements[name].value = value;
    if (value) chosen.set(name, value);
  }
  return chosen;
}

function renderTotals(report) {
  const t = report.totals;
  const facts = document.getElementById("stats-totals");
  const pairs = [
    ["Node runs", count(t.node_runs)],
    ["Threads", count(t.threads)],
    ["Errors", count(t.errors) + (t.node_runs ? " (" + (100 * t.errors / t.node_runs).toFixed(1) + "%)" : "")],
    ["Interrupted", count(t.interrupted)],
    ["LLM calls", count(t.llm_calls)],
    ["Tokens", withUnknown(count(t.total_tokens), t.unreported_calls)],
    ["Cached tokens", count(t.cached_tokens)],
    ["Cache-write tokens", count(t.cache_creation_tokens)],
    ["Reasoning tokens", count(t.reasoning_tokens)],
    ["Cost", t.cost_usd === null ? usd(null) : withUnknown(usd(t.cost_usd), t.unpriced_calls)],
    ["Unpriced calls", count(t.unpriced_calls)],
    ["Unknown usage", count(t.unreported_calls)],
  ];
  facts.replaceChildren(
    ...pairs.flatMap(([label, value]) => [
      el("dt", {}, label),
      el("dd", { "data-testid": "stats-total" }, value),
    ]),
  );
}

function threadLink(thread) {
  const link = el("a", { href: "#thread=" + encodeURIComponent(thread.thread_id), class: "thread-id" });
  link.textContent = thread.thread_id;
  return link;
}

function renderTables(report) {
  fillTable("stats-node-table", report.nodes, "stats-node-row", (n) => [
    el("td", { class: "node-name" }, n.node_name),
    cell(count(n.runs), true),
    cell(count(n.errors) + " (" + (100 * n.error_rate).toFixed(1) + "%)", true),
    cell(ms(n.p50_ms), true),
    cell(ms(n.p95_ms), true),
    cell(ms(n.max_ms), true),
    cell(count(n.prompt_tokens), true),
    cell(count(n.completion_tokens), true),
    cell(count(n.cached_tokens), true),
    cell(count(n.cache_creation_tokens), true),
    cell(count(n.reasoning_tokens), true),
    cell(usd(n.cost_usd), true),
    cell(count(n.unpriced_calls), true),
  ]);
  fillTable("stats-model-table", report.models_by_day, "stats-model-row", (m) => [
    cell(m.day),
    cell(m.model_name ?? "(no model name)"),
    cell(count(m.llm_calls), true),
    cell(count(m.prompt_tokens), true),
    cell(count(m.completion_tokens), true),
    cell(count(m.cached_tokens), true),
    cell(count(m.cache_creation_tokens), true),
    cell(count(m.reasoning_tokens), true),
    cell(usd(m.cost_usd), true),
    cell(count(m.unpriced_calls), true),
    cell(count(m.unreported_calls), true),
  ]);
  for (const [id, rows] of [
    ["stats-costly-table", report.costliest_threads],
    ["stats-slow-table", report.slowest_threads],
  ]) {
    fillTable(id, rows, "stats-thread-row", (t) => [
      el("td", {}, threadLink(t)),
      el("td", {}, badge(t.status)),
      cell(count(t.node_runs), true),
      cell(ms(t.wall_time_ms), true),
      cell(withUnknown(count(t.total_tokens), t.unreported_calls), true),
      cell(t.cost_usd === null ? usd(null) : withUnknown(usd(t.cost_usd), t.unpriced_calls), true),
    ]);
  }
}

function renderCharts(report) {
  drawChart(
    "chart-model-cost",
    "Cost per day, by model (USD)",
    "USD",
    byDay(report.models_by_day, (m) => m.model_name ?? "(no model name)", (m) => m.cost_usd),
    (v) => "$" + Number(v).toFixed(2),
  );
  drawChart(
    "chart-node-p95",
    "p95 duration per day, by node (ms)",
    "ms",
    byDay(report.node_days, (d) => d.node_name, (d) => d.p95_ms),
    (v) => Math.round(v) + " ms",
  );
  drawChart(
    "chart-node-cost",
    "Cost per day, by node (USD)",
    "USD",
    byDay(report.node_days, (d) => d.node_name, (d) => d.cost_usd),
    (v) => "$" + Number(v).toFixed(2),
  );
}

let loaded = 0;

async function show(params, context) {
  const status = document.getElementById("stats-status");
  status.textContent = "Loading…";
  const report = await api("/api/stats?" + query(params).toString());
  if (!context.current() || !report) return;
  status.textContent = report.files + " files in " + report.folders.length + " folder(s)";
  renderTotals(report);
  renderTables(report);
  renderCharts(report);
  loaded += 1;
  document.getElementById("stats-view").dataset.loaded = String(loaded);
}

document.getElementById("stats-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.target;
  const chosen = new URLSearchParams();
  for (const name of FILTERS) {
    const value = form.elements[name].value.trim();
    chosen.set(name, value); // "since" left empty means all time
  }
  location.hash = "stats&" + chosen.toString();
});

export const statsView = {
  name: "stats",
  section: "stats-view",
  claims: (params) => params.has("stats"),
  show,
};
