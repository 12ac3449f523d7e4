// The router: the page's URL (after "#") says which view shows what, so any
// view can be linked to and reloaded. Views register here; the first whose
// `claims(params)` is true shows, the others hide. A view is
//   { name, section, claims(params), show(params, context) }
// and may poll through `context.schedule(task, ms)`, which stops as soon as
// the URL changes.

import { showStatus } from "./dom.js";
import { compareView } from "./compare.js";
import { listView } from "./list.js";
import { statsView } from "./stats.js";
import { threadView } from "./thread.js";

const views = [];

export function registerView(view) {
  views.push(view);
}

// Most specific first; the list takes every URL no other view claims.
registerView(compareView);
registerView(statsView);
registerView(threadView);
registerView(listView);

let generation = 0;
let timer = null;

function report(error) {
  showStatus("Could not load: " + error.message);
}

function route() {
  generation += 1;
  clearTimeout(timer);
  const mine = generation;
  const params = new URLSearchParams(location.hash.slice(1));
  const view = views.find((candidate) => candidate.claims(params));
  for (const other of views) document.getElementById(other.section).hidden = other !== view;
  document.body.dataset.view = view.name;
  const context = {
    current: () => mine === generation,
    schedule(task, delay) {
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (mine === generation) Promise.resolve().then(task).catch(report);
      }, delay);
    },
    stop() {
      clearTimeout(timer);
    },
  };
  Promise.resolve()
    .then(() => view.show(params, context))
    .catch(report);
}

window.addEventListener("hashchange", route);
route(); // a module runs after the document is parsed
