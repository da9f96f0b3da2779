// What the status and Alertmanager pages share: loading API answers into a page with a
// heading, errors shown in place, and the small pieces they are drawn with (tables, labels,
// times).

import { apiCall } from "../api.js";
import { h, replaceChildren } from "../dom.js";

/**
 * A page titled `title` showing `render(data, reload)` of what `load(signal)` resolves to;
 * `reload()` fetches and draws again (after a change). A failed load is shown in place;
 * leaving the page cancels the requests.
 */
export function loadingPage(title, load, render) {
  return (root) => {
    const abort = new AbortController();
    const body = h("div", { "aria-busy": "true" }, h("p", { class: "muted" }, "Loading…"));
    replaceChildren(root, h("h1", {}, title), body);
    const reload = () =>
      load(abort.signal)
        .then((data) => {
          body.removeAttribute("aria-busy");
          replaceChildren(body, render(data, reload));
        })
        .catch((e) => {
          if (abort.signal.aborted) return;
          body.removeAttribute("aria-busy");
          replaceChildren(
            body,
            h("div", { class: "error", role: "alert" }, `Error fetching ${title}: ${e.message}`),
          );
        });
    reload();
    return () => abort.abort();
  };
}

/** A page titled `title` showing `render(...data)` of the Prometheus API GET `paths`. */
export function dataPage(title, paths, render) {
  return loadingPage(
    title,
    (signal) => Promise.all(paths.map((p) => apiCall(p, {}, { signal, method: "GET" }).then((a) => a.data))),
    (answers) => render(...answers),
  );
}

/** A two-column table of `[name, value]` rows, names as row headers. */
export function kvTable(rows, label) {
  return h(
    "table",
    { class: "data-table kv", "aria-label": label },
    h(
      "tbody",
      {},
      rows.map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, v))),
    ),
  );
}

/** A table with a header row; `rows` are arrays of cells (strings or elements). */
export function table(headers, rows, label) {
  return h(
    "table",
    { class: "data-table", "aria-label": label },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        headers.map((t) => h("th", { scope: "col" }, t)),
      ),
    ),
    h(
      "tbody",
      {},
      rows.map((cells) =>
        h(
          "tr",
          {},
          cells.map((c) => h("td", {}, c)),
        ),
      ),
    ),
  );
}

/** Labels as `name="value"` badges. */
export function labelBadges(labels) {
  return h(
    "span",
    { class: "badges" },
    Object.entries(labels ?? {}).map(([k, v]) => h("span", { class: "badge" }, `${k}=${JSON.stringify(v)}`)),
  );
}

/** The "Logs" button of an alert (`href` from logslink.js), named by the alert's labels. */
export function logsButton(href, labels) {
  const { alertname, ...rest } = labels ?? {};
  const what = [alertname, ...Object.entries(rest).map(([k, v]) => `${k}=${JSON.stringify(v)}`)];
  return h(
    "a",
    { href, class: "logs-link", "aria-label": `Logs of ${what.filter(Boolean).join(" ")}` },
    "Logs",
  );
}

/** A state word (up, down, firing, ok, err, …) coloured by how good it is. */
export function stateBadge(state) {
  const tone =
    { up: "good", ok: "good", inactive: "good", down: "bad", err: "bad", firing: "bad", pending: "warn" }[
      state
    ] ?? "neutral";
  return h("span", { class: `state state-${tone}` }, state || "unknown");
}

/** An RFC 3339 time as "12.3s ago" (the full time on hover); "never" for Go's zero time. */
export function ago(iso) {
  const t = Date.parse(iso);
  if (!iso || Number.isNaN(t) || t <= 0) return h("span", { class: "muted" }, "never");
  const s = (Date.now() - t) / 1000;
  const text =
    s < 60
      ? `${s.toFixed(1)}s ago`
      : s < 3600
        ? `${Math.floor(s / 60)}m ago`
        : `${(s / 3600).toFixed(1)}h ago`;
  return h("time", { datetime: iso, title: iso }, text);
}

/** Seconds as a short duration: "12.3ms", "1.5s". */
export function seconds(s) {
  return s < 1 ? `${(s * 1000).toFixed(1)}ms` : `${s.toFixed(2)}s`;
}

/** A text box filtering the rows of `container` (those matching `selector`) by their text. */
export function filterBox(container, selector, label) {
  return h("input", {
    type: "search",
    class: "filter",
    placeholder: label,
    "aria-label": label,
    oninput: (e) => {
      const needle = e.target.value.toLowerCase();
      for (const row of container.querySelectorAll(selector)) {
        row.hidden = needle !== "" && !row.textContent.toLowerCase().includes(needle);
      }
    },
  });
}
