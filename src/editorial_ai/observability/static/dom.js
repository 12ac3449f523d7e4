// Building the page, as text only, and formatting the numbers it shows.
//
// Every value that comes from a log (state, node names, errors, thread ids) is
// untrusted: LLM output and tool results end up in it. It is only ever put in
// the page with textContent, append(string) or setAttribute on inert
// attributes, never parsed as HTML.

export function el(tag, attributes, ...children) {
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

export function badge(status) {
  return el("span", { class: "badge status-" + status }, status);
}

// A table cell; `label` names the column where narrow screens show rows as cards.
export function cell(text, label, numeric) {
  const attributes = { "data-label": label };
  if (numeric) attributes.class = "num";
  return el("td", attributes, text instanceof Node ? text : String(text));
}

export function setFacts(list, pairs) {
  list.replaceChildren();
  for (const [term, value] of pairs) {
    list.append(el("div", {}, el("dt", {}, term), el("dd", {}, value)));
  }
}

export function showStatus(text) {
  document.getElementById("status-line").textContent = text;
}

// Keyboard focus survives a re-render: the element with the same key (a
// data attribute) in the new content gets it back.
export function keepFocus(container, attribute, render) {
  const active = document.activeElement;
  const key =
    active && container.contains(active) ? active.getAttribute(attribute) : null;
  render();
  if (key === null) return;
  for (const candidate of container.querySelectorAll("[" + attribute + "]")) {
    if (candidate.getAttribute(attribute) === key) {
      candidate.focus({ preventScroll: true });
      return;
    }
  }
}

export function formatMs(ms) {
  if (ms === null || ms === undefined) return "—";
  if (ms === 0) return "0";
  if (ms < 1) return ms.toFixed(2) + " ms";
  if (ms < 1000) return ms.toFixed(ms < 100 ? 1 : 0) + " ms";
  if (ms < 60000) return (ms / 1000).toFixed(2) + " s";
  const minutes = Math.floor(ms / 60000);
  return minutes + " min " + Math.round((ms % 60000) / 1000) + " s";
}

// Axis labels as round as their step: "50 ms", "1.5 s", "0.25 ms".
export function formatTick(ms, step) {
  if (ms === 0) return "0";
  if (ms < 1000) return Number(ms.toFixed(step < 1 ? 3 : 0)) + " ms";
  return Number((ms / 1000).toFixed(step < 1000 ? 2 : 0)) + " s";
}

export function formatTokens(count) {
  return Number(count || 0).toLocaleString("en-US");
}

// A total that misses calls says so: "2,306 + 1 call unknown".
export function withUnknown(text, calls) {
  if (!calls || text === "—") return text;
  return text + " + " + calls + (calls === 1 ? " call" : " calls") + " unknown";
}

// Three significant digits whatever the size ($0.00600, $0.0198, $1.23), so
// two runs that cost differently never print the same.
export function formatCost(usd) {
  if (usd === null || usd === undefined) return "—";
  if (usd === 0) return "$0";
  if (usd < 1e-8) return "< $0.00000001";
  const decimals = Math.max(2, 2 - Math.floor(Math.log10(usd)));
  return "$" + usd.toFixed(Math.min(decimals, 10));
}

export function formatWhen(iso) {
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
export function timeMs(iso) {
  const fraction = /\.(\d+)/.exec(iso);
  const whole = Date.parse(iso.replace(/\.\d+/, ""));
  return fraction ? whole + Number("0." + fraction[1]) * 1000 : whole;
}

export function pretty(value) {
  if (value === null || value === undefined) return "(none)";
  return JSON.stringify(value, null, 2);
}

// A link to a place in the page, as the router reads it.
export function href(params) {
  return "#" + new URLSearchParams(params).toString();
}
