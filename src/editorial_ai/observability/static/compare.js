// Two threads side by side (#compare=A&with=B): per node, how many runs, how
// long, how many tokens, what it cost and how it ended, with the difference.

import { api, threadUrl } from "./api.js";
import {
  badge,
  cell,
  el,
  formatCost,
  formatMs,
  formatTokens,
  href,
  setFacts,
  showStatus,
  withUnknown,
} from "./dom.js";

function perNode(runs) {
  const nodes = new Map();
  for (const run of runs) {
    let node = nodes.get(run.node_name);
    if (!node) {
      node = { runs: 0, ms: 0, tokens: 0, cost: 0, priced: true, latest: run };
      nodes.set(run.node_name, node);
    }
    node.runs += 1;
    node.ms += run.duration_ms;
    node.tokens += run.total_tokens;
    if (run.estimated_cost_usd === null) node.priced = false;
    else node.cost += run.estimated_cost_usd;
    node.latest = run;
  }
  return nodes;
}

function delta(a, b, format) {
  if (a === null || b === null) return "—";
  const difference = b - a;
  if (difference === 0) return "=";
  return (difference > 0 ? "+" : "−") + format(Math.abs(difference));
}

function side(node, pick) {
  return node ? pick(node) : null;
}

function row(name, a, b) {
  const costOf = (node) => (node.priced || node.cost ? node.cost : null);
  const pair = (label, pickValue, format) => {
    const left = side(a, pickValue);
    const right = side(b, pickValue);
    return [
      cell(left === null ? "—" : format(left), label + " A", true),
      cell(right === null ? "—" : format(right), label + " B", true),
      cell(delta(left, right, format), label + " Δ", true),
    ];
  };
  return el(
    "tr",
    { "data-testid": "compare-row", "data-node": name },
    el("td", { class: "node-name", "data-label": "Node" }, name),
    ...pair("Runs", (node) => node.runs, String),
    ...pair("Duration", (node) => node.ms, formatMs),
    ...pair("Tokens", (node) => node.tokens, formatTokens),
    ...pair("Cost", costOf, formatCost),
    cell(a ? badge(a.latest.status) : "—", "Status A"),
    cell(b ? badge(b.latest.status) : "—", "Status B"),
  );
}

function heading(id, threadId, summary) {
  const box = document.getElementById(id);
  box.querySelector("h2 a").textContent = threadId;
  box.querySelector("h2 a").setAttribute("href", href({ thread: threadId }));
  setFacts(box.querySelector("dl"), summary
    ? [
        ["Status", badge(summary.status)],
        ["Node runs", String(summary.node_count)],
        ["Wall time", formatMs(summary.wall_time_ms)],
        ["Tokens", withUnknown(formatTokens(summary.total_tokens), summary.unreported_calls)],
        ["Cost", withUnknown(formatCost(summary.estimated_cost_usd), summary.unpriced_calls)],
      ]
    : [["Status", "no node runs recorded"]]);
}

async function show(params, context) {
  const first = params.get("compare");
  const second = params.get("with") || "";
  const load = (threadId) => api(threadUrl("logs", threadId, { include_io: "false", limit: "5000" }));
  const [a, b] = await Promise.all([load(first), load(second)]);
  if (!context.current()) return;
  heading("compare-a", first, a && a.summary);
  heading("compare-b", second, b && b.summary);
  const nodesA = perNode(a ? a.runs : []);
  const nodesB = perNode(b ? b.runs : []);
  const names = [...nodesA.keys(), ...[...nodesB.keys()].filter((name) => !nodesA.has(name))];
  document
    .querySelector("#compare-table tbody")
    .replaceChildren(...names.map((name) => row(name, nodesA.get(name), nodesB.get(name))));
  showStatus("comparing two threads");
}

export const compareView = {
  name: "compare",
  section: "compare-view",
  claims: (params) => params.has("compare"),
  show,
};
