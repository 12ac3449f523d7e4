// The viewer: a list of threads, and one thread's node runs on a time axis.
//
// Every value that comes from a log (state, node names, errors, thread ids) is
// untrusted: LLM output and tool results end up in it. It is only ever put in
// the page with textContent, append(string) or setAttribute on inert
// attributes, never parsed as HTML.
"use strict";

const KEY_STORAGE = "editorial-ai-obs-api-key";
const REFRESH_RUNNING_MS = 2000;
const REFRESH_LIST_MS = 5000;
const MAX_RUNS = 5000;

const state = {
  view: null, // "list" | "thread"
  threadId: null,
  runs: [],
  selected: null, // file-order index of the run shown in detail
  timer: null,
  generation: 0, // bumped on navigation; stale responses are dropped
};

// -- fetching -------------------------------------------------------------------

let keyPrompt = null;

function askForKey(wasWrong) {
  // One prompt however many requests were refused at once.
  if (keyPrompt) return keyPrompt;
  const form = document.getElementById("key-form");
  const input = document.getElementById("key-input");
  document.getElementById("key-note").textContent = wasWrong
    ? "That key was refused; try again."
    : "Kept in this browser tab only.";
  form.hidden = false;
  input.focus();
  keyPrompt = new Promise((resolve) => {
    form.addEventListener(
      "submit",
      (event) => {
        event.preventDefault();
        sessionStorage.setItem(KEY_STORAGE, input.value);
        input.value = "";
        form.hidden = true;
        keyPrompt = null;
        resolve();
      },
      { once: true },
    );
  });
  return keyPrompt;
}

async function api(path) {
  for (;;) {
    const key = sessionStorage.getItem(KEY_STORAGE);
    const headers = key ? { "X-API-Key": key } : {};
    const response = await fetch(path, { headers, cache: "no-store" });
    if (response.status === 401) {
      await askForKey(Boolean(key));
      continue;
    }
    if (response.status === 404) return null;
    if (!response.ok) throw new Error("HTTP " + response.status + " for " + path);
    return response.json();
  }
}

// The query form of the thread routes takes any thread id, "/" and ".." too.
function threadUrl(route, threadId, params) {
  const query = new URLSearchParams({ thread_id: threadId, ...(params || {}) });
  return "/api/thread/" + route + "?" + query.toString();
}

// -- formatting -----------------------------------------------------------------

function formatMs(ms) {
  if (ms === null || ms === undefined) return "—";
  if (ms === 0) return "0";
  if (ms < 1) return ms.toFixed(2) + " ms";
  if (ms < 1000) return ms.toFixed(ms < 100 ? 1 : 0) + " ms";
  if (ms < 60000) return (ms / 1000).toFixed(2) + " s";
  const minutes = Math.floor(ms / 60000);
  return minutes + " min " + Math.round((ms % 60000) / 1000) + " s";
}

// Axis labels as round as their step: "50 ms", "1.5 s", "0.25 ms".
function formatTick(ms, step) {
  if (ms === 0) return "0";
  if (ms < 1000) return Number(ms.toFixed(step < 1 ? 3 : 0)) + " ms";
  return Number((ms / 1000).toFixed(step < 1000 ? 2 : 0)) + " s";
}

function formatTokens(count) {
  return Number(count || 0).toLocaleString("en-US");
}

function formatCost(usd) {
  if (usd === null || usd === undefined) return "—";
  if (usd === 0) return "$0";
  if (usd < 0.0001) return "< $0.0001";
  return "$" + usd.toFixed(usd < 0.01 ? 4 : 2);
}

function formatWhen(iso) {
  if (!iso) return "—";
  const seconds = (Date.now() - Date.parse(iso)) / 1000;
  if (seconds < 0) return new Date(iso).toLocaleString();
  if (seconds < 60) return "just now";
  if (seconds < 3600) return Math.floor(seconds / 60) + " min ago";
  if (seconds < 86400) return Math.floor(seconds / 3600) + " h ago";
  return new Date(iso).toLocaleString();
}

// Milliseconds since the epoch, keeping the microseconds the logs hold (node
// runs of a fast graph last less than a millisecond; Date.parse drops them).
function timeMs(iso) {
  const fraction = /\.(\d+)/.exec(iso);
  const whole = Date.parse(iso.replace(/\.\d+/, ""));
  return fraction ? whole + Number("0." + fraction[1]) * 1000 : whole;
}

function pretty(value) {
  if (value === null || value === undefined) return "(none)";
  return JSON.stringify(value, null, 2);
}

// -- building elements (text only) ----------------------------------------------

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (name === "class") node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

function badge(status) {
  return el("span", { class: "badge status-" + status }, status);
}

function cell(text, numeric) {
  return el("td", numeric ? { class: "num" } : {}, String(text));
}

function setFacts(list, pairs) {
  list.replaceChildren();
  for (const [term, value] of pairs) {
    list.append(el("div", {}, el("dt", {}, term), el("dd", {}, value)));
  }
}

function showStatus(text) {
  document.getElementById("status-line").textContent = text;
}

// -- the thread list ------------------------------------------------------------

async function showList() {
  const generation = state.generation;
  const data = await api("/api/threads");
  if (generation !== state.generation) return;
  const body = document.querySelector("#thread-table tbody");
  body.replaceChildren();
  const threads = data ? data.threads : [];
  for (const summary of threads) {
    const row = el(
      "tr",
      { class: "thread-row", "data-testid": "thread-row", tabindex: "0" },
      el("td", { class: "thread-id" }, summary.thread_id),
      el("td", {}, badge(summary.status)),
      cell(summary.node_count, true),
      cell(formatMs(summary.wall_time_ms), true),
      cell(formatTokens(summary.total_tokens), true),
      cell(formatCost(summary.estimated_cost_usd), true),
      el("td", { title: summary.started_at || "" }, formatWhen(summary.started_at)),
    );
    row.dataset.threadId = summary.thread_id;
    const open = () => openThread(summary.thread_id);
    row.addEventListener("click", open);
    row.addEventListener("keydown", (event) => {
      if (event.key === "Enter") open();
    });
    body.append(row);
  }
  document.getElementById("list-empty").hidden = threads.length > 0;
  showStatus(threads.length + " thread" + (threads.length === 1 ? "" : "s"));
  schedule(showList, REFRESH_LIST_MS);
}

function openThread(threadId) {
  location.hash = "thread=" + encodeURIComponent(threadId);
}

// -- one thread -----------------------------------------------------------------

async function showThread(threadId) {
  const generation = state.generation;
  const data = await api(
    threadUrl("logs", threadId, { include_io: "false", limit: String(MAX_RUNS) }),
  );
  if (generation !== state.generation || !data) return;
  state.runs = data.runs;
  document.getElementById("thread-title").textContent = threadId;
  renderSummary(data);
  renderTimeline(data.runs);
  renderNodeTable(data.runs);
  const note = document.getElementById("timeline-note");
  note.hidden = data.total_runs <= data.runs.length;
  note.textContent =
    "Showing the first " + data.runs.length + " of " + data.total_runs + " node runs.";
  const running = data.summary && data.summary.status === "running";
  showStatus(running ? "running · refreshing every 2 s" : "");
  if (running) schedule(() => showThread(threadId), REFRESH_RUNNING_MS);
}

function renderSummary(data) {
  const summary = data.summary;
  const list = document.getElementById("thread-summary");
  if (!summary) {
    setFacts(list, [["Status", "no node runs recorded for this thread"]]);
    return;
  }
  setFacts(list, [
    ["Status", badge(summary.status)],
    ["Node runs", String(summary.node_count)],
    ["Wall time", formatMs(summary.wall_time_ms)],
    ["Time in nodes", formatMs(summary.total_duration_ms)],
    [
      "Tokens",
      formatTokens(summary.total_tokens) +
        " (" +
        formatTokens(summary.total_prompt_tokens) +
        " in / " +
        formatTokens(summary.total_completion_tokens) +
        " out)",
    ],
    ["Cost", formatCost(summary.estimated_cost_usd)],
    ["Started", summary.started_at ? new Date(summary.started_at).toLocaleString() : "—"],
  ]);
}

const STATUS_MARK = { error: "✕", interrupted: "❚❚", skipped: "–", success: "" };

function niceStep(span) {
  const rough = span / 6;
  const power = Math.pow(10, Math.floor(Math.log10(rough)));
  for (const factor of [1, 2, 5, 10]) {
    if (factor * power >= rough) return factor * power;
  }
  return 10 * power;
}

function renderTimeline(runs) {
  const box = document.getElementById("timeline");
  box.replaceChildren();
  if (!runs.length) {
    box.append(el("p", { class: "muted" }, "No node runs yet."));
    return;
  }
  const origin = Math.min(...runs.map((run) => timeMs(run.started_at)));
  const end = Math.max(...runs.map((run) => timeMs(run.ended_at)));
  const span = Math.max(end - origin, 0.001);
  const percent = (ms) => (100 * ms) / span;

  const axis = el("div", { class: "axis" });
  const step = niceStep(span);
  for (let tick = 0; tick <= span + step / 1000; tick += step) {
    const mark = el("span", { class: "tick" }, formatTick(tick, step));
    mark.style.left = percent(tick) + "%";
    axis.append(mark);
  }
  box.append(el("div", { class: "lane axis-row" }, el("div", { class: "lane-label" }), axis));

  // One lane per node, in order of first start: parallel branches are lanes
  // side by side in time, loop iterations are repeated bars in one lane.
  const lanes = new Map();
  for (const run of runs) {
    if (!lanes.has(run.node_name)) lanes.set(run.node_name, []);
    lanes.get(run.node_name).push(run);
  }
  for (const [name, laneRuns] of lanes) {
    const track = el("div", { class: "lane-track" });
    for (const run of laneRuns) {
      const start = timeMs(run.started_at) - origin;
      const mark = STATUS_MARK[run.status] || "";
      const bar = el(
        "button",
        {
          type: "button",
          class: "run-bar status-" + run.status,
          "data-testid": "run-bar",
          "data-index": String(run.index),
          "data-status": run.status,
          title:
            run.node_name +
            " · " +
            run.status +
            " · " +
            formatMs(run.duration_ms) +
            (run.error_type ? " · " + run.error_type : ""),
          "aria-label": run.node_name + " run " + run.index + ", " + run.status,
        },
        mark ? el("span", { class: "bar-mark" }, mark) : null,
      );
      bar.style.left = percent(start) + "%";
      bar.style.width = percent(timeMs(run.ended_at) - origin - start) + "%";
      if (run.index === state.selected) bar.classList.add("selected");
      bar.addEventListener("click", () => showRun(run.index));
      track.append(bar);
    }
    box.append(
      el("div", { class: "lane" }, el("div", { class: "lane-label", title: name }, name), track),
    );
  }
}

function renderNodeTable(runs) {
  const nodes = new Map();
  for (const run of runs) {
    let node = nodes.get(run.node_name);
    if (!node) {
      node = { runs: 0, ms: 0, tokens: 0, cost: 0, unpriced: false, errors: 0, latest: run };
      nodes.set(run.node_name, node);
    }
    node.runs += 1;
    node.ms += run.duration_ms;
    node.tokens += run.total_tokens;
    if (run.estimated_cost_usd === null) node.unpriced = true;
    else node.cost += run.estimated_cost_usd;
    if (run.status === "error") node.errors += 1;
    node.latest = run; // runs come oldest first
  }
  const body = document.querySelector("#node-table tbody");
  body.replaceChildren();
  for (const [name, node] of nodes) {
    const row = el(
      "tr",
      { class: "node-row", "data-testid": "node-row", tabindex: "0" },
      el("td", { class: "node-name" }, name),
      cell(node.runs, true),
      cell(formatMs(node.ms), true),
      cell(formatTokens(node.tokens), true),
      cell(node.unpriced && node.cost === 0 ? "—" : formatCost(node.cost), true),
      el("td", { class: node.errors ? "num has-errors" : "num" }, String(node.errors)),
      el("td", {}, badge(node.latest.status)),
    );
    row.dataset.node = name;
    row.title = "Show the latest run of " + name;
    const open = () => showRun(node.latest.index);
    row.addEventListener("click", open);
    row.addEventListener("keydown", (event) => {
      if (event.key === "Enter") open();
    });
    body.append(row);
  }
}

// Snapshots are loaded only here, one run at a time.
async function showRun(index) {
  const generation = state.generation;
  state.selected = index;
  for (const bar of document.querySelectorAll(".run-bar")) {
    bar.classList.toggle("selected", bar.dataset.index === String(index));
  }
  const run = await api(threadUrl("runs/" + index, state.threadId));
  if (generation !== state.generation || state.selected !== index) return;
  const panel = document.getElementById("run-detail");
  if (!run) {
    panel.hidden = true;
    return;
  }
  document.getElementById("run-title").textContent =
    run.node_name + " · run " + run.index;
  const models = [...new Set(run.token_usage.map((usage) => usage.model_name || "?"))];
  setFacts(document.getElementById("run-facts"), [
    ["Status", badge(run.status)],
    ["Started", new Date(run.started_at).toLocaleString()],
    ["Duration", formatMs(run.duration_ms)],
    ["Step", run.step === null ? "—" : String(run.step)],
    ["Attempt", run.attempt === null ? "—" : String(run.attempt)],
    ["Tokens", formatTokens(run.total_tokens)],
    ["Models", models.length ? models.join(", ") : "—"],
    ["Cost", formatCost(run.estimated_cost_usd)],
  ]);
  const failed = Boolean(run.error_type || run.error_message);
  document.getElementById("run-error").hidden = !failed;
  document.getElementById("run-error-line").textContent =
    (run.error_type || "Error") + ": " + (run.error_message || "");
  document.getElementById("run-traceback").textContent = run.error_traceback || "";
  const interrupted = run.status === "interrupted";
  document.getElementById("run-interrupt").hidden = !interrupted;
  document.getElementById("run-interrupt-value").textContent = interrupted
    ? pretty(run.interrupt_value)
    : "";
  document.getElementById("input-state").textContent = pretty(run.input_state);
  document.getElementById("output-state").textContent = pretty(run.output_state);
  panel.hidden = false;
}

// -- navigation -----------------------------------------------------------------

function schedule(task, delay) {
  clearTimeout(state.timer);
  const generation = state.generation;
  state.timer = setTimeout(() => {
    if (generation === state.generation) task().catch(report);
  }, delay);
}

function report(error) {
  showStatus("Could not load: " + error.message);
}

function route() {
  state.generation += 1;
  clearTimeout(state.timer);
  const match = /^#thread=(.*)$/.exec(location.hash);
  const listView = document.getElementById("list-view");
  const threadView = document.getElementById("thread-view");
  if (location.hash.startsWith("#stats")) {
    // stats.js draws that view.
    state.view = "stats";
    listView.hidden = true;
    threadView.hidden = true;
    return;
  }
  if (match) {
    let threadId;
    try {
      threadId = decodeURIComponent(match[1]);
    } catch {
      threadId = match[1];
    }
    if (threadId !== state.threadId) {
      state.selected = null;
      document.getElementById("run-detail").hidden = true;
    }
    state.view = "thread";
    state.threadId = threadId;
    listView.hidden = true;
    threadView.hidden = false;
    showThread(threadId).catch(report);
  } else {
    state.view = "list";
    state.threadId = null;
    threadView.hidden = true;
    listView.hidden = false;
    showList().catch(report);
  }
}

window.addEventListener("hashchange", route);
document.addEventListener("DOMContentLoaded", route);
