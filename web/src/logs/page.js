// The log explorer (/logs): a LogQL query over a time range from the URL (state.js), its lines
// (lines.js) under a volume histogram by level (histogram.js), or a graph for a metric query;
// live tailing, query history, click-to-filter and context. A chunk of its own, loaded on the
// first visit. Reads only Loki's HTTP API.

import { h, replaceChildren } from "../dom.js";
import { drawGraph } from "../graph.js";
import { formatTime } from "../time.js";
import { createLogQLEditor } from "./editor.js";
import { drawHistogram } from "./histogram.js";
import { loadHistory, rememberQuery } from "./history.js";
import { histogramStep, levelBuckets, volumeQuery } from "./levels.js";
import { flattenStreams, linesList, newestFirst } from "./lines.js";
import { addFilter, exactSelector, streamSelector } from "./logql.js";
import { decodeState, encodeState, isMetricQuery, LIMITS, resolveTime } from "./state.js";
import { startTail } from "./tail.js";

/** Lines kept while tailing live; older ones are dropped as new ones arrive. */
export const LIVE_BUFFER_MAX = 1000;
/** Lines shown before and after a line's context, each. */
const CONTEXT_LINES = 10;
/** How far before and after a line its context is looked for, nanoseconds. */
const CONTEXT_WINDOW_NS = 3_600_000_000_000n;
/** Points across a metric query's graph. */
const GRAPH_POINTS = 250;

const RANGES = [
  ["now-5m", "Last 5 minutes"],
  ["now-15m", "Last 15 minutes"],
  ["now-1h", "Last 1 hour"],
  ["now-3h", "Last 3 hours"],
  ["now-6h", "Last 6 hours"],
  ["now-12h", "Last 12 hours"],
  ["now-24h", "Last 24 hours"],
  ["now-7d", "Last 7 days"],
];

const ns = (ms) => `${Math.round(ms)}000000`;

/** GETs a Loki endpoint; returns its `data` (or the whole answer, which some lack); throws
 * the server's plain-text error. */
async function loki(path, params, signal) {
  const resp = await fetch(`${path}?${new URLSearchParams(params)}`, {
    signal,
    headers: { Accept: "application/json" },
  });
  const text = await resp.text();
  if (!resp.ok) throw new Error(text.trim() || `${resp.status} ${resp.statusText}`);
  const json = JSON.parse(text);
  return json.data ?? json;
}

/** Renders the page into `root`; returns its clean-up. */
export function logsPage(root) {
  let state = decodeState(location.search);
  let runAbort = null;
  let stopTail = null;
  let plots = [];
  let redraw = null;
  const cache = new Map();
  /** The streams of the query's selector over the run's range, asked once per run. */
  let seriesOfRun = null;

  const messages = h("div", { class: "messages" });
  const histogram = h("div", { class: "logs-histogram" });
  const stats = h("div", { class: "stats muted", "aria-live": "polite" });
  const result = h("div", { class: "logs-result" });
  const editorHost = h("div", { class: "editor" });
  const historyList = h("ul", { class: "logs-history" });

  const range = () => {
    const now = Date.now();
    return [resolveTime(state.from, now), resolveTime(state.to, now)];
  };
  const cached = (key, load) => {
    if (!cache.has(key))
      cache.set(
        key,
        load().catch(() => (cache.delete(key), [])),
      );
    return cache.get(key);
  };
  const completion = {
    labels: () => {
      const [from, to] = range();
      return cached("labels", () => loki("/loki/api/v1/labels", { start: ns(from), end: ns(to) }));
    },
    values: (name) => {
      const [from, to] = range();
      return cached(`values:${name}`, () =>
        loki(`/loki/api/v1/label/${encodeURIComponent(name)}/values`, { start: ns(from), end: ns(to) }),
      );
    },
    fields: (selector) => {
      const [from, to] = range();
      return cached(`fields:${selector}`, () =>
        loki("/loki/api/v1/detected_fields", { query: selector, start: ns(from), end: ns(to) }).then((d) =>
          (d.fields ?? []).map((f) => f.label),
        ),
      );
    },
  };
  let draft = state.query;
  const editor = createLogQLEditor(editorHost, {
    doc: state.query,
    onChange: (text) => (draft = text),
    onExecute: () => apply({ query: draft }),
    source: completion,
  });

  const fromInput = h("input", { type: "text", "aria-label": "From", size: 16 });
  const toInput = h("input", { type: "text", "aria-label": "To", size: 16 });
  const rangeText = h("span", { class: "muted" });
  const rangeSelect = h(
    "select",
    {
      "aria-label": "Time range",
      onchange: (e) => e.target.value && apply({ from: e.target.value, to: "now" }),
    },
    h("option", { value: "" }, "Custom range"),
    RANGES.map(([value, text]) => h("option", { value }, text)),
  );
  const limitSelect = h(
    "select",
    { "aria-label": "Line limit", onchange: (e) => apply({ limit: Number(e.target.value) }) },
    LIMITS.map((n) => h("option", { value: n }, `${n} lines`)),
  );
  const directionButton = h("button", {
    type: "button",
    onclick: () => apply({ direction: state.direction === "backward" ? "forward" : "backward" }),
  });
  const liveButton = h("button", { type: "button", onclick: () => apply({ live: !state.live }) });
  const pauseButton = h("button", { type: "button", hidden: true }, "Pause");

  /** Shows `state` in the controls. */
  const showState = () => {
    if (editor.state.doc.toString() !== state.query) {
      editor.dispatch({ changes: { from: 0, to: editor.state.doc.length, insert: state.query } });
    }
    draft = state.query;
    fromInput.value = state.from;
    toInput.value = state.to;
    const [from, to] = range();
    rangeText.textContent =
      from !== null && to !== null ? `${formatTime(from)} to ${formatTime(to)} UTC` : "";
    rangeSelect.value = state.to === "now" && RANGES.some(([v]) => v === state.from) ? state.from : "";
    if (!LIMITS.includes(state.limit))
      limitSelect.append(h("option", { value: state.limit }, `${state.limit} lines`));
    limitSelect.value = String(state.limit);
    directionButton.textContent = state.direction === "backward" ? "Newest first" : "Oldest first";
    directionButton.title = "Switch the order of the lines";
    liveButton.textContent = state.live ? "Stop live" : "Live";
    liveButton.setAttribute("aria-pressed", String(state.live));
    pauseButton.hidden = !state.live;
  };

  /** Changes the state, writes it to the URL (a new history entry) and runs the query. */
  const apply = (change) => {
    state = { ...state, ...change };
    const url = `/logs?${encodeState(state)}`;
    if (url !== location.pathname + location.search) history.pushState(null, "", url);
    showState();
    run();
  };

  const showHistory = (list) => {
    replaceChildren(
      historyList,
      list.length === 0
        ? h("li", { class: "muted" }, "No queries run yet.")
        : list.map((q) =>
            h(
              "li",
              {},
              h("button", { type: "button", class: "link", onclick: () => apply({ query: q }) }, q),
            ),
          ),
    );
  };

  const shown = new Set();
  const showError = (e, query) => {
    if (e.name === "AbortError" || shown.has(e.message)) return;
    shown.add(e.message);
    const at = /line (\d+), col (\d+)/.exec(e.message);
    const line = at ? query.split("\n")[Number(at[1]) - 1] : undefined;
    messages.append(
      h(
        "div",
        { class: "error", role: "alert" },
        h("div", {}, `Error: ${e.message}`),
        line !== undefined &&
          h("pre", { class: "logs-error-at" }, `${line}\n${" ".repeat(Math.max(Number(at[2]) - 1, 0))}^`),
      ),
    );
  };

  const teardown = () => {
    runAbort?.abort();
    stopTail?.();
    stopTail = null;
    for (const p of plots) p.destroy();
    plots = [];
    redraw = null;
  };

  /**
   * The store's label set of `entry`'s stream: of the streams the query's selector names (the
   * series API, once per run), the largest whose labels the entry has; the entry's labels when
   * none is found. An answer's labels also hold structured metadata and parsed labels.
   */
  const streamOf = async (entry) => {
    const selector = streamSelector(state.query);
    if (selector && !seriesOfRun) {
      const [from, to] = range();
      seriesOfRun = loki("/loki/api/v1/series", { "match[]": selector, start: ns(from), end: ns(to) }).catch(
        () => [],
      );
    }
    const series = selector ? await seriesOfRun : [];
    const fits = series.filter((s) => Object.entries(s).every(([k, v]) => entry.labels[k] === v));
    fits.sort((a, b) => Object.keys(b).length - Object.keys(a).length);
    return fits[0] ?? entry.labels;
  };

  const actions = {
    onFilter: (name, value, negate, parser) =>
      apply({ query: addFilter(state.query, name, value, { negate, parser }) }),
    stream: streamOf,
    context: async (entry) => {
      const selector = exactSelector(await streamOf(entry));
      const ts = BigInt(entry.ts);
      const [before, after] = await Promise.all([
        loki("/loki/api/v1/query_range", {
          query: selector,
          start: String(ts - CONTEXT_WINDOW_NS),
          end: String(ts),
          limit: CONTEXT_LINES,
          direction: "backward",
        }),
        loki("/loki/api/v1/query_range", {
          query: selector,
          start: String(ts + 1n),
          end: String(ts + CONTEXT_WINDOW_NS),
          limit: CONTEXT_LINES,
          direction: "forward",
        }),
      ]);
      return {
        before: flattenStreams(before.result, "forward"),
        after: flattenStreams(after.result, "forward"),
      };
    },
  };

  async function runLines(query, from, to, signal) {
    const data = await loki(
      "/loki/api/v1/query_range",
      { query, start: ns(from), end: ns(to), limit: state.limit, direction: state.direction },
      signal,
    );
    const entries = flattenStreams(data.result ?? [], state.direction);
    replaceChildren(
      result,
      entries.length ? linesList(entries, query, actions) : h("p", { class: "muted" }, "No lines."),
    );
    stats.textContent =
      `${entries.length} lines` +
      (entries.length >= state.limit
        ? ` (the limit: narrow the range or the query, or raise the limit)`
        : "");
  }

  async function runHistogram(query, from, to, signal) {
    const step = histogramStep(from, to);
    const start = Math.floor(from / 1000 / step) * step + step;
    const end = Math.ceil(to / 1000 / step) * step;
    const data = await loki(
      "/loki/api/v1/query_range",
      {
        query: volumeQuery(query, step),
        start: `${start}000000000`,
        end: `${end}000000000`,
        step: `${step}s`,
      },
      signal,
    );
    const buckets = levelBuckets(data.result ?? [], start, end, step);
    redraw = () => {
      for (const p of plots) p.destroy();
      histogram.replaceChildren();
      plots = [
        drawHistogram(histogram, buckets, step, (a, b) =>
          apply({ from: String(a), to: String(b), live: false }),
        ),
      ];
    };
    redraw();
  }

  async function runMetric(query, from, to, signal) {
    const step = Math.max(Math.floor((to - from) / 1000 / GRAPH_POINTS), 1);
    const data = await loki(
      "/loki/api/v1/query_range",
      { query, start: ns(from), end: ns(to), step: `${step}s` },
      signal,
    );
    const graph = h("div", { class: "graph" });
    replaceChildren(result, graph);
    stats.textContent = `${data.result.length} series`;
    if (data.resultType === "matrix" && data.result.length > 0) {
      redraw = () => {
        for (const p of plots) p.destroy();
        graph.replaceChildren();
        plots = [drawGraph(graph, data.result, { start: from / 1000, end: to / 1000, step }, false)];
      };
      redraw();
    }
  }

  function runLive(query, from) {
    let buffer = [];
    let paused = false;
    let pending = false;
    const render = () => {
      pending = false;
      if (paused) return;
      replaceChildren(result, linesList(buffer, query, actions));
      stats.textContent = `Live: ${buffer.length} lines (the newest ${LIVE_BUFFER_MAX} kept)`;
    };
    pauseButton.textContent = "Pause";
    pauseButton.setAttribute("aria-pressed", "false");
    pauseButton.onclick = () => {
      paused = !paused;
      pauseButton.textContent = paused ? "Resume" : "Pause";
      pauseButton.setAttribute("aria-pressed", String(paused));
      if (!paused) render();
    };
    stats.textContent = "Live: waiting for lines…";
    stopTail = startTail(query, Math.min(state.limit, LIVE_BUFFER_MAX), from, {
      onEntries: (entries) => {
        buffer = [...entries, ...buffer].sort(newestFirst).slice(0, LIVE_BUFFER_MAX);
        if (!pending) {
          pending = true;
          requestAnimationFrame(render);
        }
      },
      onClosed: (reason) => showError(new Error(`Live tail ended: ${reason}`), query),
    });
  }

  function run() {
    teardown();
    seriesOfRun = null;
    shown.clear();
    replaceChildren(messages);
    replaceChildren(histogram);
    replaceChildren(result);
    stats.textContent = "";
    const query = state.query.trim();
    if (!query) {
      replaceChildren(
        result,
        h("p", { class: "muted" }, 'Enter a LogQL query, e.g. {job="nginx"} |= "error".'),
      );
      return;
    }
    showHistory(rememberQuery(query));
    const [from, to] = range();
    if (from === null || to === null || from >= to) {
      showError(new Error(`invalid time range: from ${state.from} to ${state.to}`), query);
      return;
    }
    runAbort = new AbortController();
    const { signal } = runAbort;
    const fail = (e) => {
      if (e.name !== "AbortError") stats.textContent = "";
      showError(e, query);
    };
    if (state.live) return runLive(query, from);
    if (isMetricQuery(query)) return runMetric(query, from, to, signal).catch(fail);
    stats.textContent = "Loading…";
    runLines(query, from, to, signal).catch(fail);
    runHistogram(query, from, to, signal).catch(fail);
  }

  const onTheme = () => redraw?.();
  window.addEventListener("themechange", onTheme);
  const onTime = (e) => {
    if (e.key === "Enter")
      apply({ from: fromInput.value.trim() || "now-1h", to: toInput.value.trim() || "now" });
  };
  fromInput.addEventListener("keydown", onTime);
  toInput.addEventListener("keydown", onTime);

  replaceChildren(
    root,
    h("h1", { class: "visually-hidden" }, "Logs"),
    h(
      "section",
      { class: "panel logs-panel", "aria-label": "Log query" },
      h(
        "div",
        { class: "expr-row" },
        editorHost,
        h(
          "button",
          { class: "primary", type: "button", onclick: () => apply({ query: draft }) },
          "Run query",
        ),
        liveButton,
        pauseButton,
      ),
      h(
        "div",
        { class: "controls" },
        rangeSelect,
        h("label", {}, "From ", fromInput),
        h("label", {}, "To ", toInput),
        h(
          "button",
          {
            type: "button",
            onclick: () =>
              apply({ from: fromInput.value.trim() || "now-1h", to: toInput.value.trim() || "now" }),
          },
          "Apply range",
        ),
        rangeText,
        limitSelect,
        directionButton,
        h("details", { class: "logs-history-menu" }, h("summary", {}, "History"), historyList),
      ),
      messages,
      histogram,
      stats,
      result,
    ),
  );
  showState();
  showHistory(loadHistory());
  run();
  return () => {
    teardown();
    window.removeEventListener("themechange", onTheme);
    editor.destroy();
  };
}
