// One thread: its summary, its runs on a timeline, a table per node, and the
// run named in the URL (#thread=ID&run=N) in detail. A thread still being
// written refreshes itself; one waiting for a human does not.

import { api, threadUrl } from "./api.js";
import {
  badge,
  cell,
  el,
  formatCost,
  formatMs,
  formatTokens,
  href,
  keepFocus,
  setFacts,
  showStatus,
  timeMs,
  withUnknown,
} from "./dom.js";
import { showRunDetail } from "./run.js";
import { renderTimeline } from "./timeline.js";

const REFRESH_MS = 2000;
const LIVE_FOR_MS = 60000; // written this recently: probably still running
const MAX_RUNS = 5000;

const state = {
  threadId: null,
  runs: [],
  signature: null,
  selected: null,
  quiet: false, // the next selection came from the keyboard: do not scroll
};

function section() {
  return document.getElementById("thread-view");
}

function linkTo(index) {
  const params = { thread: state.threadId };
  if (index !== null) params.run = String(index);
  return href(params);
}

function pick(index) {
  const target = linkTo(index);
  if (location.hash === target) {
    // Already the URL: no hashchange will come, so show it again here.
    document.getElementById("run-detail").scrollIntoView({ block: "start" });
    return;
  }
  location.hash = target.slice(1);
}

function bar(index) {
  return document.querySelector(".run-bar[data-index='" + index + "']");
}

function drawTimeline() {
  const box = document.getElementById("timeline");
  keepFocus(box, "data-index", () => renderTimeline(box, state.runs, state.selected, pick));
}

function renderSummary(summary) {
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
      withUnknown(formatTokens(summary.total_tokens), summary.unreported_calls) +
        " (" +
        formatTokens(summary.total_prompt_tokens) +
        " in / " +
        formatTokens(summary.total_completion_tokens) +
        " out)",
    ],
    ["Cost", withUnknown(formatCost(summary.estimated_cost_usd), summary.unpriced_calls)],
    ["Started", summary.started_at ? new Date(summary.started_at).toLocaleString() : "—"],
  ]);
}

function renderNodeTable(runs) {
  const nodes = new Map();
  for (const run of runs) {
    let node = nodes.get(run.node_name);
    if (!node) {
      node = { runs: 0, ms: 0, tokens: 0, unreported: 0, cost: 0, unpriced: 0, errors: 0, latest: run };
      nodes.set(run.node_name, node);
    }
    node.runs += 1;
    node.ms += run.duration_ms;
    node.tokens += run.total_tokens;
    node.unreported += run.unreported_calls || 0;
    node.unpriced += run.unpriced_calls || 0;
    if (run.estimated_cost_usd !== null) node.cost += run.estimated_cost_usd;
    if (run.status === "error") node.errors += 1;
    node.latest = run; // runs come oldest first
  }
  const body = document.querySelector("#node-table tbody");
  const rows = [];
  for (const [name, node] of nodes) {
    const row = el(
      "tr",
      { class: "node-row", "data-testid": "node-row", tabindex: "0" },
      el("td", { class: "node-name", "data-label": "Node" }, name),
      cell(node.runs, "Runs", true),
      cell(formatMs(node.ms), "Duration", true),
      cell(withUnknown(formatTokens(node.tokens), node.unreported), "Tokens", true),
      cell(
        node.unpriced && node.cost === 0 ? "—" : withUnknown(formatCost(node.cost), node.unpriced),
        "Cost",
        true,
      ),
      el("td", { class: node.errors ? "num has-errors" : "num", "data-label": "Errors" }, String(node.errors)),
      cell(badge(node.latest.status), "Latest"),
    );
    row.dataset.node = name;
    row.title = "Show the latest run of " + name;
    const open = () => pick(node.latest.index);
    row.addEventListener("click", open);
    row.addEventListener("keydown", (event) => {
      if (event.key === "Enter") open();
    });
    rows.push(row);
  }
  keepFocus(body, "data-node", () => body.replaceChildren(...rows));
}

function isLive(summary) {
  if (!summary) return true; // nothing recorded yet: wait for it
  if (summary.status === "interrupted") return false; // waits for a human
  if (summary.status === "running") return true;
  return summary.ended_at !== null && Date.now() - timeMs(summary.ended_at) < LIVE_FOR_MS;
}

async function load(context) {
  const threadId = state.threadId;
  const data = await api(threadUrl("logs", threadId, { include_io: "false", limit: String(MAX_RUNS) }));
  if (!context.current() || !data) return;
  const signature = JSON.stringify([data.summary, data.total_runs, data.runs.length]);
  if (signature !== state.signature) {
    state.signature = signature;
    state.runs = data.runs;
    document.getElementById("thread-title").textContent = threadId;
    renderSummary(data.summary);
    drawTimeline();
    renderNodeTable(data.runs);
    const note = document.getElementById("timeline-note");
    note.hidden = data.total_runs <= data.runs.length;
    note.textContent = "Showing the first " + data.runs.length + " of " + data.total_runs + " node runs.";
  }
  const live = isLive(data.summary);
  section().dataset.refreshing = live ? "yes" : "no";
  const waiting = data.summary && data.summary.status === "interrupted";
  showStatus(
    waiting
      ? "interrupted · waiting for a human · not refreshing (reload after resuming)"
      : live
        ? "written in the last minute · refreshing every 2 s"
        : "",
  );
  if (live) context.schedule(() => load(context), REFRESH_MS);
}

async function select(index, context) {
  const scroll = !state.quiet;
  state.quiet = false;
  state.selected = index;
  for (const other of document.querySelectorAll(".run-bar")) {
    other.classList.toggle("selected", other.dataset.index === String(index));
  }
  const shown = await showRunDetail(state.threadId, index, state.runs, context.current);
  if (shown && scroll) document.getElementById("run-detail").scrollIntoView({ block: "start" });
}

function close() {
  const index = state.selected;
  state.selected = null;
  document.getElementById("run-detail").hidden = true;
  for (const other of document.querySelectorAll(".run-bar.selected")) other.classList.remove("selected");
  if (index !== null && bar(index)) bar(index).focus();
}

function onKey(event) {
  if (section().hidden) return;
  if (event.key === "Escape" && state.selected !== null) {
    event.preventDefault();
    const index = state.selected;
    location.replace(linkTo(null));
    close();
    if (bar(index)) bar(index).focus();
    return;
  }
  const target = event.target;
  if (!(target instanceof HTMLElement) || !target.classList.contains("run-bar")) return;
  const order = state.runs.map((run) => run.index);
  const here = order.indexOf(Number(target.dataset.index));
  const moves = { ArrowRight: here + 1, ArrowLeft: here - 1, Home: 0, End: order.length - 1 };
  if (!(event.key in moves)) return;
  event.preventDefault();
  const next = Math.min(Math.max(moves[event.key], 0), order.length - 1);
  const index = order[next];
  if (bar(index)) bar(index).focus();
  state.quiet = true; // the keyboard user stays on the timeline
  location.replace(linkTo(index));
}

let wired = false;

function wire() {
  if (wired) return;
  wired = true;
  document.addEventListener("keydown", onKey);
  let resizing = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => {
      if (!section().hidden && state.runs.length) drawTimeline();
    }, 100);
  });
}

async function show(params, context) {
  wire();
  const threadId = params.get("thread");
  if (threadId !== state.threadId) {
    state.threadId = threadId;
    state.runs = [];
    state.signature = null;
    state.selected = null;
    document.getElementById("run-detail").hidden = true;
    document.getElementById("thread-title").textContent = threadId;
    document.getElementById("timeline").replaceChildren();
    document.querySelector("#node-table tbody").replaceChildren();
  }
  await load(context);
  if (!context.current()) return;
  const wanted = params.get("run");
  if (wanted === null) {
    if (state.selected !== null) close();
  } else {
    await select(Number(wanted), context);
  }
}

export const threadView = {
  name: "thread",
  section: "thread-view",
  claims: (params) => params.has("thread"),
  show,
};
