// The one module that talks to the server: the API key prompt, JSON fetches,
// and the URLs of the routes the views use.

const KEY_STORAGE = "editorial-ai-obs-api-key";

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

// GET a JSON route; null for a 404; asks for the key on a 401 and retries.
export async function api(path) {
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
export function threadUrl(route, threadId, params) {
  const query = new URLSearchParams({ thread_id: threadId, ...(params || {}) });
  return "/api/thread/" + route + "?" + query.toString();
}

// The thread list: search, filters and one page, all done by the server.
export function threadsUrl(filters, limit, offset) {
  const query = new URLSearchParams({ limit: String(limit), offset: String(offset) });
  for (const name of ["q", "status", "node", "since", "until"]) {
    if (filters[name]) query.set(name, filters[name]);
  }
  return "/api/threads?" + query.toString();
}
