// The list of log lines: one light row per line (cloned from a template, three text nodes, no
// listeners of its own: one listener on the list serves all), skipped by layout while off
// screen (`content-visibility`), so a thousand lines draw at once. A row expands in place to its
// labels, structured metadata and fields, each with filter buttons, and to its context.

import { h, replaceChildren } from "../dom.js";
import { formatTime } from "../time.js";
import { lineLevel } from "./levels.js";
import { lineFields } from "./logql.js";

/**
 * A Loki `streams` answer → entries { ts (ns, string), ms, line, labels, meta }, ordered by
 * time: newest first for "backward", oldest first for "forward".
 */
export function flattenStreams(result, direction) {
  const out = [];
  for (const s of result) {
    for (const v of s.values) {
      out.push({ ts: v[0], ms: Number(v[0].slice(0, -6)), line: v[1], labels: s.stream, meta: v[2] ?? null });
    }
  }
  out.sort(direction === "forward" ? oldestFirst : newestFirst);
  return out;
}

/** Entries by their nanosecond timestamps (decimal strings: shorter is older). */
export const oldestFirst = (a, b) => a.ts.length - b.ts.length || (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0);
export const newestFirst = (a, b) => oldestFirst(b, a);

/** Labels shown on each row, at most. */
const ROW_LABELS_MAX = 4;
/** Distinct values a label may have and still tell streams apart, below half the lines. */
const PER_LINE_MIN = 10;

/**
 * The label names whose values differ between the entries' streams: what tells lines apart.
 * Labels with a value for nearly every line (parsed fields such as a request id) and the
 * server's `detected_level` (the row's colour shows it) are left to the line's details.
 */
export function varyingLabels(entries) {
  const seen = new Map();
  for (const e of entries) {
    for (const [k, v] of Object.entries(e.labels)) {
      if (!seen.has(k)) seen.set(k, new Set());
      seen.get(k).add(v);
    }
  }
  const n = new Set(entries.map((e) => e.labels)).size;
  return [...seen]
    .filter(([k, vs]) => k !== "detected_level" && vs.size <= Math.max(PER_LINE_MIN, entries.length / 2))
    .filter(([k, vs]) => vs.size > 1 || (n > 1 && entries.some((e) => !(k in e.labels))))
    .map(([k]) => k)
    .sort()
    .slice(0, ROW_LABELS_MAX);
}

/** Unix ns (string) → `2024-01-02 15:04:05.123` (UTC). */
export function formatNs(ts) {
  const ms = Number(ts.slice(0, -6));
  return `${formatTime(ms)}.${String(ms % 1000).padStart(3, "0")}`;
}

const template = () =>
  h(
    "li",
    { class: "log-row" },
    h(
      "button",
      { type: "button", class: "log-line", "aria-expanded": "false" },
      h("time", { class: "log-time" }),
      h("span", { class: "log-labels" }),
      h("span", { class: "log-text" }),
    ),
  );

/**
 * The list of `entries` in a new element. `actions`: `onFilter(name, value, negate, parser)`,
 * `stream(entry)` → Promise of the labels of the line's stream, and `context(entry)` →
 * Promise<{ before, after }> (entries, oldest first).
 */
export function linesList(entries, query, actions) {
  const list = h("ol", { class: "log-lines", "aria-label": "Log lines" });
  const keys = varyingLabels(entries);
  const proto = template();
  const rows = document.createDocumentFragment();
  entries.forEach((e, i) => {
    const row = proto.cloneNode(true);
    row.dataset.i = i;
    row.dataset.level = lineLevel(e.labels, e.line);
    const [time, labels, text] = row.firstChild.childNodes;
    time.textContent = formatNs(e.ts);
    labels.textContent = keys.map((k) => `${k}=${e.labels[k] ?? ""}`).join(" ");
    text.textContent = e.line;
    rows.append(row);
  });
  list.append(rows);
  list.addEventListener("click", (ev) => {
    const button = ev.target.closest(".log-line");
    if (!button || !list.contains(button)) return;
    const row = button.parentElement;
    const open = button.getAttribute("aria-expanded") === "true";
    button.setAttribute("aria-expanded", String(!open));
    if (open) row.querySelector(".log-details")?.remove();
    else row.append(details(entries[Number(row.dataset.i)], query, actions));
  });
  return list;
}

function fieldTable(caption, pairs, onFilter, parser) {
  if (pairs.length === 0) return null;
  return h(
    "table",
    { class: "log-fields" },
    h("caption", {}, caption),
    h(
      "tbody",
      {},
      pairs.map(([name, value]) =>
        h(
          "tr",
          {},
          h("th", { scope: "row" }, name),
          h("td", {}, value),
          h(
            "td",
            { class: "log-field-actions" },
            h(
              "button",
              {
                type: "button",
                title: `Filter for ${name}=${value}`,
                "aria-label": `Filter for ${name}=${value}`,
                onclick: () => onFilter(name, value, false, parser),
              },
              "+",
            ),
            h(
              "button",
              {
                type: "button",
                title: `Filter out ${name}=${value}`,
                "aria-label": `Filter out ${name}=${value}`,
                onclick: () => onFilter(name, value, true, parser),
              },
              "−",
            ),
          ),
        ),
      ),
    ),
  );
}

/**
 * `labels` split into those of the line's stream (`stream`, the store's label set) and the
 * rest: structured metadata and parsed labels, which a Loki answer mixes into one set.
 */
export function splitLabels(labels, stream) {
  const own = [];
  const other = [];
  for (const [k, v] of Object.entries(labels)) (stream[k] === v ? own : other).push([k, v]);
  return [own, other];
}

function details(entry, query, { onFilter, context, stream }) {
  const { parser, fields } = lineFields(entry.line, query);
  const box = h("div", { class: "log-details" });
  const tables = h("div", {}, h("p", { class: "muted" }, "Loading labels…"));
  const contextBox = h("div", { class: "log-context", "aria-live": "polite" });
  const showContext = async () => {
    replaceChildren(contextBox, h("p", { class: "muted" }, "Loading context…"));
    try {
      const { before, after } = await context(entry);
      const line = (e, cls) =>
        h("div", { class: cls }, h("time", { class: "log-time" }, formatNs(e.ts)), h("span", {}, e.line));
      replaceChildren(
        contextBox,
        h("p", { class: "muted" }, `${before.length} lines before, ${after.length} after, in this stream`),
        before.map((e) => line(e, "log-context-line before")),
        line(entry, "log-context-line current"),
        after.map((e) => line(e, "log-context-line after")),
      );
    } catch (e) {
      replaceChildren(
        contextBox,
        h("div", { class: "error", role: "alert" }, `Error loading context: ${e.message}`),
      );
    }
  };
  stream(entry).then((labels) => {
    const [own, other] = splitLabels(entry.labels, labels);
    replaceChildren(
      tables,
      fieldTable("Stream labels", own, onFilter, null),
      fieldTable(
        "Structured metadata and parsed labels",
        [...other, ...Object.entries(entry.meta ?? {})],
        onFilter,
        null,
      ),
      fieldTable(`Fields${parser ? ` (${parser})` : ""}`, fields, onFilter, parser),
    );
  });
  box.append(
    h(
      "div",
      { class: "log-detail-actions" },
      h("button", { type: "button", onclick: showContext }, "Show context"),
    ),
    tables,
    contextBox,
  );
  return box;
}
