// One node run in detail: its facts, one row per LLM call, what it changed
// in the state, its error or interrupt, and the snapshots themselves.

import { api, threadUrl } from "./api.js";
import {
  badge,
  cell,
  el,
  formatCost,
  formatMs,
  formatTokens,
  href,
  pretty,
  setFacts,
  timeMs,
  withUnknown,
} from "./dom.js";

// Reasoning tokens are completion tokens billed at the output rate; their
// part of a cost is shown apart (issue 9), per call and for the run.
function callRows(run) {
  const costs = run.call_costs_usd || [];
  const reasoningCosts = run.call_reasoning_costs_usd || [];
  const usd = (list, position) => formatCost(list[position] === undefined ? null : list[position]);
  return run.token_usage.map((usage, position) => {
    const duration =
      usage.started_at && usage.ended_at
        ? timeMs(usage.ended_at) - timeMs(usage.started_at)
        : null;
    const unknown = usage.usage_reported === false;
    const tokens = (count) => (unknown ? "?" : formatTokens(count));
    return el(
      "tr",
      { "data-testid": "llm-call-row" },
      cell(position + 1, "#", true),
      cell(usage.model_name || "?", "Model"),
      cell(usage.provider || "—", "Provider"),
      cell(badge(usage.status || "success"), "Status"),
      cell(formatMs(duration), "Duration", true),
      cell(tokens(usage.prompt_tokens), "Prompt", true),
      cell(tokens(usage.completion_tokens), "Completion", true),
      cell(tokens(usage.cached_tokens), "Cached", true),
      cell(tokens(usage.cache_creation_tokens), "Cache write", true),
      cell(tokens(usage.reasoning_tokens), "Reasoning", true),
      cell(usd(costs, position), "Cost", true),
      cell(usd(reasoningCosts, position), "Reasoning $", true),
    );
  });
}

// What the node changed: its update against the state it received. LangGraph
// merges the update into the state (through reducers), so this compares the
// update's value per key with the input's: added keys, changed keys, and keys
// the update set to null (shown as removed).
export function stateDiff(input, output) {
  let update = output;
  if (update && typeof update === "object" && "update" in update && "goto" in update) {
    update = update.update; // a Command
  }
  if (!update || typeof update !== "object" || Array.isArray(update)) return null;
  const before = input || {};
  const changes = [];
  for (const [key, value] of Object.entries(update)) {
    const had = Object.prototype.hasOwnProperty.call(before, key);
    if (!had) changes.push({ key, change: value === null ? "removed" : "added", after: value });
    else if (value === null && before[key] !== null)
      changes.push({ key, change: "removed", before: before[key] });
    else if (JSON.stringify(before[key]) !== JSON.stringify(value))
      changes.push({ key, change: "changed", before: before[key], after: value });
  }
  const unchanged = Object.keys(before).filter((key) => !(key in update)).length;
  return { changes, unchanged };
}

function renderDiff(run) {
  const box = document.getElementById("run-diff");
  box.replaceChildren();
  if (run.status !== "success") {
    box.append(el("p", { class: "muted" }, "No update: the node did not finish."));
    return;
  }
  const diff = stateDiff(run.input_state, run.output_state);
  if (!diff) {
    box.append(el("p", { class: "muted" }, "No state recorded for this run."));
    return;
  }
  if (!diff.changes.length) {
    box.append(el("p", { class: "muted" }, "The node changed nothing."));
  }
  for (const change of diff.changes) {
    const sides = [];
    if (change.change !== "added") sides.push(el("pre", { class: "before" }, pretty(change.before)));
    if (change.change !== "removed") sides.push(el("pre", { class: "after" }, pretty(change.after)));
    box.append(
      el(
        "div",
        { class: "diff-row diff-" + change.change, "data-testid": "diff-row", "data-change": change.change, "data-key": change.key },
        el("div", { class: "diff-key" }, el("span", { class: "diff-kind" }, change.change), " ", change.key),
        el("div", { class: "diff-sides" }, ...sides),
      ),
    );
  }
  if (diff.unchanged) {
    box.append(
      el("p", { class: "muted" }, diff.unchanged + " other key" + (diff.unchanged === 1 ? "" : "s") + " unchanged."),
    );
  }
}

function runLink(threadId, runs, index, text) {
  const target = runs.find((candidate) => candidate.index === index);
  const name = target ? target.node_name + " · run " + index : "run " + index;
  return el("a", { href: href({ thread: threadId, run: String(index) }), "data-testid": "run-link" }, text + " " + name);
}

function renderInterrupts(run, threadId, runs) {
  const box = document.getElementById("run-interrupt");
  box.replaceChildren();
  const parts = [];
  if (run.status === "interrupted") {
    const answer = runs.find((other) => (other.resumed_interrupt_ids || []).includes(run.interrupt_id));
    parts.push(el("h3", {}, "Interrupt"));
    parts.push(el("p", {}, "Asked (interrupt " + (run.interrupt_id || "?") + "):"));
    parts.push(el("pre", { id: "run-interrupt-value" }, pretty(run.interrupt_value)));
    parts.push(
      el(
        "p",
        { "data-testid": "interrupt-answer" },
        answer ? runLink(threadId, runs, answer.index, "Answered by") : "Waiting for a human: not answered yet.",
      ),
    );
  }
  const resumed = run.resumed_interrupt_ids || [];
  resumed.forEach((interruptId, position) => {
    const asked = runs.find((other) => other.interrupt_id === interruptId);
    parts.push(el("h3", {}, "Resumed"));
    parts.push(
      el(
        "p",
        { "data-testid": "resumed-from" },
        asked ? runLink(threadId, runs, asked.index, "Answers the interrupt of") : "Answers interrupt " + interruptId,
      ),
    );
    const values = run.resume_values || [];
    if (position < values.length) {
      parts.push(el("p", {}, "Resumed with:"));
      parts.push(el("pre", { "data-testid": "resume-value" }, pretty(values[position])));
    }
  });
  box.append(...parts);
  box.hidden = parts.length === 0;
}

// Loads run `index` of the thread and fills the detail panel; false if the
// run is gone or the page moved on meanwhile.
export async function showRunDetail(threadId, index, runs, isCurrent) {
  const run = await api(threadUrl("runs/" + index, threadId));
  if (!isCurrent()) return false;
  const panel = document.getElementById("run-detail");
  if (!run) {
    panel.hidden = true;
    return false;
  }
  document.getElementById("run-title").textContent = run.node_name + " · run " + run.index;
  const models = [...new Set(run.token_usage.map((usage) => usage.model_name || "?"))];
  let cost = withUnknown(formatCost(run.estimated_cost_usd), run.unpriced_calls);
  if (run.total_reasoning_tokens) {
    const reasoning =
      run.estimated_cost_usd === null
        ? "—"
        : withUnknown(formatCost(run.reasoning_cost_usd), run.unpriced_calls);
    cost += ", of which reasoning " + reasoning;
  }
  setFacts(document.getElementById("run-facts"), [
    ["Status", badge(run.status)],
    ["Started", new Date(run.started_at).toLocaleString()],
    ["Duration", formatMs(run.duration_ms)],
    ["Step", run.step === null ? "—" : String(run.step)],
    ["Attempt", run.attempt === null ? "—" : String(run.attempt)],
    ["Tokens", withUnknown(formatTokens(run.total_tokens), run.unreported_calls)],
    ["Models", models.length ? models.join(", ") : "—"],
    ["Cost", el("span", { "data-testid": "run-cost" }, cost)],
  ]);
  const calls = document.querySelector("#run-calls tbody");
  calls.replaceChildren(...callRows(run));
  document.getElementById("run-calls-box").hidden = run.token_usage.length === 0;
  const failed = Boolean(run.error_type || run.error_message);
  document.getElementById("run-error").hidden = !failed;
  document.getElementById("run-error-line").textContent =
    (run.error_type || "Error") + ": " + (run.error_message || "");
  document.getElementById("run-traceback").textContent = run.error_traceback || "";
  renderInterrupts(run, threadId, runs);
  renderDiff(run);
  document.getElementById("input-state").textContent = pretty(run.input_state);
  document.getElementById("output-state").textContent = pretty(run.output_state);
  panel.hidden = false;
  return true;
}
