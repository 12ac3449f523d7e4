// The thread list: searched, filtered and paged by the server, refreshed every
// few seconds without losing the keyboard focus; two threads can be picked
// for a comparison.

import { api, threadsUrl } from "./api.js";
import {
  badge,
  cell,
  el,
  formatCost,
  formatMs,
  formatTokens,
  formatWhen,
  href,
  keepFocus,
  showStatus,
  withUnknown,
} from "./dom.js";

const REFRESH_MS = 5000;
const PAGE_SIZE = 50;
const FILTERS = ["q", "status", "node", "since", "until"];

const picked = []; // thread ids chosen for comparison, at most two
let wired = false;
let lastSignature = null;

function field(name) {
  return document.getElementById("filter-" + name);
}

// datetime-local inputs hold local time; the API wants an instant.
function instant(local) {
  if (!local) return "";
  const moment = new Date(local);
  return Number.isNaN(moment.getTime()) ? "" : moment.toISOString();
}

function filtersOf(params) {
  const filters = {};
  for (const name of FILTERS) filters[name] = params.get(name) || "";
  return filters;
}

function navigate(filters, page) {
  const params = new URLSearchParams();
  for (const name of FILTERS) if (filters[name]) params.set(name, filters[name]);
  if (page > 1) params.set("page", String(page));
  const text = params.toString();
  // Typing in a filter replaces the URL rather than piling up history.
  location.replace("#" + (text || "list"));
}

function currentFilters() {
  const filters = {};
  for (const name of FILTERS) filters[name] = field(name).value.trim();
  return filters;
}

function wire() {
  if (wired) return;
  wired = true;
  let typing = null;
  document.getElementById("filters").addEventListener("input", (event) => {
    clearTimeout(typing);
    const delay = event.target.type === "search" || event.target.type === "text" ? 300 : 0;
    typing = setTimeout(() => navigate(currentFilters(), 1), delay);
  });
  document.getElementById("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    navigate(currentFilters(), 1);
  });
  document.getElementById("filters-clear").addEventListener("click", () => {
    for (const name of FILTERS) field(name).value = "";
    navigate({}, 1);
  });
  for (const [id, step] of [
    ["page-prev", -1],
    ["page-next", 1],
  ]) {
    document.getElementById(id).addEventListener("click", () => {
      const params = new URLSearchParams(location.hash.slice(1));
      const page = Math.max(1, Number(params.get("page") || "1") + step);
      navigate(filtersOf(params), page);
    });
  }
  document.getElementById("compare-button").addEventListener("click", () => {
    if (picked.length === 2) {
      location.hash = href({ compare: picked[0], with: picked[1] }).slice(1);
    }
  });
}

function updateCompare() {
  const button = document.getElementById("compare-button");
  button.disabled = picked.length !== 2;
  button.textContent =
    picked.length === 2 ? "Compare the two picked threads" : "Pick two threads to compare";
}

function pick(threadId, on) {
  const at = picked.indexOf(threadId);
  if (on && at === -1) {
    picked.push(threadId);
    if (picked.length > 2) picked.shift();
  } else if (!on && at !== -1) {
    picked.splice(at, 1);
  }
  for (const box of document.querySelectorAll("[data-testid=compare-pick]")) {
    box.checked = picked.includes(box.dataset.threadId);
  }
  updateCompare();
}

function row(summary) {
  const open = () => {
    location.hash = href({ thread: summary.thread_id }).slice(1);
  };
  const box = el("input", {
    type: "checkbox",
    "data-testid": "compare-pick",
    "aria-label": "pick " + summary.thread_id + " for comparison",
  });
  box.dataset.threadId = summary.thread_id;
  box.checked = picked.includes(summary.thread_id);
  box.addEventListener("click", (event) => event.stopPropagation());
  box.addEventListener("change", () => pick(summary.thread_id, box.checked));
  const tr = el(
    "tr",
    { class: "thread-row", "data-testid": "thread-row", tabindex: "0" },
    el("td", { class: "pick", "data-label": "Compare" }, box),
    el("td", { class: "thread-id", "data-label": "Thread" }, summary.thread_id),
    cell(badge(summary.status), "Status"),
    cell(summary.node_count, "Node runs", true),
    cell(formatMs(summary.wall_time_ms), "Duration", true),
    cell(withUnknown(formatTokens(summary.total_tokens), summary.unreported_calls), "Tokens", true),
    cell(withUnknown(formatCost(summary.estimated_cost_usd), summary.unpriced_calls), "Cost", true),
    el(
      "td",
      { title: summary.started_at || "", "data-label": "When" },
      formatWhen(summary.started_at),
    ),
  );
  tr.dataset.threadId = summary.thread_id;
  tr.addEventListener("click", open);
  tr.addEventListener("keydown", (event) => {
    if (event.target !== tr) return;
    if (event.key === "Enter") open();
    else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const next =
        event.key === "ArrowDown" ? tr.nextElementSibling : tr.previousElementSibling;
      if (next) next.focus();
    }
  });
  return tr;
}

async function show(params, context) {
  wire();
  const filters = filtersOf(params);
  const page = Math.max(1, Number(params.get("page") || "1") || 1);
  for (const name of FILTERS) {
    if (document.activeElement !== field(name)) field(name).value = filters[name];
  }
  updateCompare();
  const query = { ...filters, since: instant(filters.since), until: instant(filters.until) };
  const data = await api(threadsUrl(query, PAGE_SIZE, (page - 1) * PAGE_SIZE));
  if (!context.current()) return;
  const threads = data ? data.threads : [];
  const total = data && data.total !== null && data.total !== undefined ? data.total : threads.length;
  const signature = JSON.stringify([params.toString(), data]);
  const body = document.querySelector("#thread-table tbody");
  if (signature !== lastSignature || !body.children.length) {
    lastSignature = signature;
    keepFocus(body, "data-thread-id", () => body.replaceChildren(...threads.map(row)));
  }
  const filtered = FILTERS.some((name) => filters[name]);
  const empty = document.getElementById("list-empty");
  empty.hidden = threads.length > 0;
  empty.textContent = filtered
    ? "No thread matches these filters."
    : "No threads in this log directory yet.";
  const first = total ? (page - 1) * PAGE_SIZE + 1 : 0;
  const last = (page - 1) * PAGE_SIZE + threads.length;
  document.getElementById("page-info").textContent =
    total ? first + "–" + last + " of " + total : "";
  document.getElementById("page-prev").disabled = page <= 1;
  document.getElementById("page-next").disabled = last >= total;
  showStatus(total + " thread" + (total === 1 ? "" : "s") + (filtered ? " match" : ""));
  context.schedule(() => show(params, context), REFRESH_MS);
}

export const listView = {
  name: "list",
  section: "list-view",
  claims: () => true,
  show,
};
