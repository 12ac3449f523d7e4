// A thread's node runs on one time axis: a lane per node (in order of first
// start), a bar per run with its duration written on or beside it. Runs of
// one node that would overlap on screen (an interrupted run and its resume,
// a run too short to see next to its neighbour) go to separate rows of the
// lane, so no bar or label ever covers another and every bar can be tapped.

import { el, formatMs, formatTick, timeMs } from "./dom.js";

const ROW_PX = 24;
const MIN_BAR_PX = 8;
const GAP_PX = 4;
const LABEL_PAD_PX = 4;
const MARK = { error: "✕", interrupted: "❚❚", skipped: "–", success: "" };

let measurer = null;

// Width of a duration label in the page's own font.
function textWidth(text) {
  if (!measurer) {
    measurer = document.createElement("canvas").getContext("2d");
  }
  measurer.font = "11px " + getComputedStyle(document.body).fontFamily;
  return Math.ceil(measurer.measureText(text).width);
}

function niceStep(span, count) {
  const rough = span / Math.max(count, 1);
  const power = Math.pow(10, Math.floor(Math.log10(rough)));
  for (const factor of [1, 2, 5, 10]) {
    if (factor * power >= rough) return factor * power;
  }
  return 10 * power;
}

function axis(span, width) {
  const row = el("div", { class: "axis", "data-testid": "timeline-axis" });
  row.style.width = width + "px";
  // One label per 90 px at most: ticks never crowd, whatever the width.
  const step = niceStep(span, Math.max(1, Math.floor(width / 90)));
  for (let tick = 0; tick <= span + step / 1000; tick += step) {
    const x = (tick / span) * width;
    const mark = el("span", { class: "tick" }, formatTick(tick, step));
    mark.style.left = x + "px";
    if (x > width - 40) mark.classList.add("tick-end");
    row.append(mark);
  }
  return row;
}

// Places every run of a lane: x and width in px, the label inside the bar or
// beside it (right, else left), and the first row where nothing is in the way.
function place(laneRuns, origin, span, width) {
  const rows = []; // per row: the right edge taken so far
  const placed = [];
  const ordered = [...laneRuns].sort(
    (a, b) => timeMs(a.started_at) - timeMs(b.started_at) || a.index - b.index,
  );
  for (const run of ordered) {
    const mark = MARK[run.status] || "";
    const markWidth = mark ? 16 : 0;
    const w = Math.max(
      ((timeMs(run.ended_at) - timeMs(run.started_at)) / span) * width,
      mark ? markWidth : MIN_BAR_PX,
    );
    // A bar made wider than its time to be seen stays inside the track.
    const x = Math.min(((timeMs(run.started_at) - origin) / span) * width, width - w);
    const label = formatMs(run.duration_ms);
    const labelWidth = textWidth(label) + 2 * LABEL_PAD_PX;
    let side = "inside";
    let left = x;
    let right = x + w;
    if (w < labelWidth + markWidth) {
      if (x + w + labelWidth <= width) {
        side = "right";
        right = x + w + labelWidth;
      } else {
        side = "left";
        left = x - labelWidth;
      }
    }
    let row = rows.findIndex((edge) => edge + GAP_PX <= left);
    if (row === -1) {
      row = rows.length;
      rows.push(0);
    }
    rows[row] = right;
    placed.push({ run, x, w, row, side, label, mark });
  }
  return { placed, rows: Math.max(rows.length, 1) };
}

// Draws the timeline into `box`. `onPick(index)` opens a run.
export function renderTimeline(box, runs, selected, onPick) {
  box.replaceChildren();
  if (!runs.length) {
    box.append(el("p", { class: "muted" }, "No node runs yet."));
    return;
  }
  const origin = Math.min(...runs.map((run) => timeMs(run.started_at)));
  const end = Math.max(...runs.map((run) => timeMs(run.ended_at)));
  const span = Math.max(end - origin, 0.001);
  const narrow = box.clientWidth < 640;
  box.classList.toggle("narrow", narrow);
  const labelWidth = narrow ? 0 : 172;
  const width = Math.max(box.clientWidth - labelWidth - (narrow ? 0 : 12), 60);

  box.append(el("div", { class: "lane axis-row" }, el("div", { class: "lane-label" }), axis(span, width)));
  const lanes = new Map();
  for (const run of runs) {
    if (!lanes.has(run.node_name)) lanes.set(run.node_name, []);
    lanes.get(run.node_name).push(run);
  }
  for (const [name, laneRuns] of lanes) {
    const { placed, rows } = place(laneRuns, origin, span, width);
    const track = el("div", { class: "lane-track" });
    track.style.width = width + "px";
    track.style.height = rows * ROW_PX + "px";
    for (const spot of placed) {
      const run = spot.run;
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
            spot.label +
            (run.error_type ? " · " + run.error_type : ""),
          "aria-label":
            run.node_name + " run " + run.index + ", " + run.status + ", " + spot.label,
        },
        spot.mark ? el("span", { class: "bar-mark" }, spot.mark) : null,
        spot.side === "inside" ? el("span", { class: "bar-label", "data-testid": "bar-duration" }, spot.label) : null,
      );
      bar.style.left = spot.x + "px";
      bar.style.width = spot.w + "px";
      bar.style.top = spot.row * ROW_PX + 2 + "px";
      if (run.index === selected) bar.classList.add("selected");
      bar.addEventListener("click", () => onPick(run.index));
      track.append(bar);
      if (spot.side !== "inside") {
        const label = el(
          "span",
          { class: "bar-label outside", "data-testid": "bar-duration", "aria-hidden": "true" },
          spot.label,
        );
        label.style.top = spot.row * ROW_PX + 2 + "px";
        if (spot.side === "right") label.style.left = spot.x + spot.w + "px";
        else label.style.right = width - spot.x + "px";
        track.append(label);
      }
    }
    box.append(
      el("div", { class: "lane", "data-node": name }, el("div", { class: "lane-label", title: name }, name), track),
    );
  }
}
