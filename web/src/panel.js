// One query panel: the expression editor, Execute, the Table / Graph / Explain tabs with their
// settings, the messages (errors, warnings, infos) and the result. The panel's settings are
// the URL state's g<i>.* (urlstate.js); every change is reported to the page to rewrite the URL.

import { apiCall } from "./api.js";
import { h, replaceChildren } from "./dom.js";
import { createEditor, relabel } from "./editor.js";
import { explainView } from "./explain.js";
import { openMetricsExplorer } from "./explorer.js";
import { drawGraph } from "./graph.js";
import { resultTable } from "./table.js";
import { formatDuration, formatTime, parseDuration, parseTime } from "./time.js";
import { effectiveStep } from "./urlstate.js";

const TABS = [
  ["table", "Table"],
  ["graph", "Graph"],
  ["explain", "Explain"],
];

/** Most series drawn in one graph: uPlot and its legend slow to a crawl beyond a few hundred. */
const MAX_GRAPH_SERIES = 500;

/** The range steps of the −/+ buttons, as Prometheus' range picker. */
const RANGE_STEPS = [
  "1s",
  "10s",
  "1m",
  "5m",
  "15m",
  "30m",
  "1h",
  "3h",
  "6h",
  "12h",
  "1d",
  "2d",
  "1w",
  "2w",
  "4w",
  "8w",
  "1y",
].map(parseDuration);

let nextId = 0;

export class Panel {
  /** `state`: a panel of urlstate.js; `index`: its position; `onChange()`; `onRemove()`. */
  constructor(state, index, { onChange, onRemove }) {
    this.state = state;
    this.onChange = onChange;
    this.id = `panel-${nextId++}`;
    this.abort = null;
    this.plot = null;
    this.lastGraph = null;
    this.messages = h("div", { class: "messages" });
    this.stats = h("div", { class: "stats muted", "aria-live": "polite" });
    this.result = h("div", { class: "result", role: "tabpanel", id: `${this.id}-tabpanel` });
    this.controls = h("div", { class: "controls" });
    const editorHost = h("div", { class: "editor" });
    this.tablist = h("div", { role: "tablist", "aria-label": "Result view", class: "tabs" });
    this.el = h(
      "section",
      { class: "panel", "aria-label": `Query ${index + 1}` },
      h(
        "div",
        { class: "expr-row" },
        editorHost,
        h(
          "button",
          {
            type: "button",
            "aria-label": "Open metrics explorer",
            title: "Open metrics explorer",
            onclick: () => openMetricsExplorer((name) => this.insert(name)),
          },
          "⋮≡",
        ),
        h("button", { class: "primary", type: "button", onclick: () => this.execute() }, "Execute"),
        h(
          "button",
          { type: "button", "aria-label": "Remove query", title: "Remove query", onclick: onRemove },
          "✕",
        ),
      ),
      this.tablist,
      this.controls,
      this.messages,
      this.stats,
      this.result,
    );
    this.editor = createEditor(editorHost, {
      doc: state.expr,
      label: `Expression (query ${index + 1})`,
      onChange: (expr) => {
        this.state.expr = expr;
        this.onChange();
      },
      onExecute: () => this.execute(),
    });
    this.renderTabs();
  }

  /** Renumbers the panel (its accessible names) when one before it was removed. */
  setIndex(index) {
    this.el.setAttribute("aria-label", `Query ${index + 1}`);
    relabel(this.editor, `Expression (query ${index + 1})`);
  }

  /** Puts `text` at the editor's cursor (replacing a selection) and focuses the editor. */
  insert(text) {
    const { from, to } = this.editor.state.selection.main;
    this.editor.dispatch({ changes: { from, to, insert: text }, selection: { anchor: from + text.length } });
    this.editor.focus();
  }

  destroy() {
    this.abort?.abort();
    this.plot?.destroy();
    this.editor.destroy();
  }

  renderTabs() {
    const buttons = TABS.map(([tab, title], i) =>
      h(
        "button",
        {
          type: "button",
          role: "tab",
          id: `${this.id}-tab-${tab}`,
          "aria-selected": String(this.state.tab === tab),
          "aria-controls": `${this.id}-tabpanel`,
          tabindex: this.state.tab === tab ? "0" : "-1",
          onclick: () => this.selectTab(tab),
          // Arrow keys move between tabs, as the WAI-ARIA tabs pattern has it.
          onkeydown: (e) => {
            const step = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
            if (!step) return;
            const next = TABS[(i + step + TABS.length) % TABS.length][0];
            this.selectTab(next);
            this.tablist.querySelector(`#${this.id}-tab-${next}`)?.focus();
          },
        },
        title,
      ),
    );
    replaceChildren(this.tablist, buttons);
    this.result.setAttribute("aria-labelledby", `${this.id}-tab-${this.state.tab}`);
    this.renderControls();
  }

  selectTab(tab) {
    if (this.state.tab === tab) return;
    this.state.tab = tab;
    this.onChange();
    this.renderTabs();
    this.clearResult();
    if (this.state.expr.trim() !== "") this.execute();
  }

  renderControls() {
    const p = this.state;
    const endInput = h("input", {
      type: "text",
      class: "time-input",
      "aria-label": p.tab === "graph" ? "End time" : "Evaluation time",
      placeholder: p.tab === "graph" ? "End time (now)" : "Evaluation time (now)",
      value: p.endTime === null ? "" : formatTime(p.endTime),
      onchange: (e) => {
        const text = e.target.value.trim();
        const t = text === "" ? null : parseTime(text);
        if (text !== "" && t === null) {
          e.target.setAttribute("aria-invalid", "true");
          return;
        }
        e.target.removeAttribute("aria-invalid");
        p.endTime = t;
        this.onChange();
        this.execute();
      },
    });
    if (p.tab === "table") {
      replaceChildren(this.controls, h("label", {}, "Evaluation time (UTC) ", endInput));
    } else if (p.tab === "graph") {
      replaceChildren(
        this.controls,
        this.rangeControls(),
        h("label", {}, "End (UTC) ", endInput),
        this.graphOptions(),
      );
    } else {
      replaceChildren(this.controls);
    }
  }

  rangeControls() {
    const p = this.state;
    const input = h("input", {
      type: "text",
      class: "range-input",
      "aria-label": "Range",
      value: formatDuration(p.range),
      onchange: (e) => {
        const ms = parseDuration(e.target.value);
        if (!ms) {
          e.target.setAttribute("aria-invalid", "true");
          return;
        }
        e.target.removeAttribute("aria-invalid");
        setRange(ms);
      },
    });
    const setRange = (ms) => {
      p.range = ms;
      input.value = formatDuration(ms);
      this.onChange();
      this.execute();
    };
    const shrink = () => setRange([...RANGE_STEPS].reverse().find((s) => s < p.range) ?? RANGE_STEPS[0]);
    const grow = () => setRange(RANGE_STEPS.find((s) => s > p.range) ?? p.range);
    return h(
      "span",
      { class: "group" },
      h(
        "button",
        { type: "button", "aria-label": "Decrease range", title: "Decrease range", onclick: shrink },
        "−",
      ),
      input,
      h(
        "button",
        { type: "button", "aria-label": "Increase range", title: "Increase range", onclick: grow },
        "+",
      ),
    );
  }

  graphOptions() {
    const p = this.state;
    const res = p.resolution;
    const resolution = h(
      "select",
      {
        "aria-label": "Resolution",
        onchange: (e) => {
          const v = e.target.value;
          p.resolution =
            v === "custom" ? { type: "custom", step: effectiveStep(p) } : { type: "auto", density: v };
          this.onChange();
          this.renderControls();
          this.execute();
        },
      },
      ["low", "medium", "high"].map((d) =>
        h("option", { value: d, selected: res.type === "auto" && res.density === d }, `Auto: ${d} res.`),
      ),
      h("option", { value: "custom", selected: res.type !== "auto" }, "Custom step"),
    );
    const step =
      res.type === "auto"
        ? null
        : h("input", {
            type: "text",
            class: "range-input",
            "aria-label": "Resolution step",
            value: formatDuration(res.step),
            onchange: (e) => {
              const ms = parseDuration(e.target.value);
              if (!ms) {
                e.target.setAttribute("aria-invalid", "true");
                return;
              }
              e.target.removeAttribute("aria-invalid");
              p.resolution = { type: "custom", step: ms };
              this.onChange();
              this.execute();
            },
          });
    const mode = h(
      "select",
      {
        "aria-label": "Display mode",
        onchange: (e) => {
          p.displayMode = e.target.value;
          this.onChange();
          this.redraw();
        },
      },
      h("option", { value: "lines", selected: p.displayMode !== "stacked" }, "Unstacked"),
      h("option", { value: "stacked", selected: p.displayMode === "stacked" }, "Stacked"),
    );
    return [resolution, step, mode];
  }

  clearResult() {
    this.abort?.abort();
    this.plot?.destroy();
    this.plot = null;
    this.lastGraph = null;
    replaceChildren(this.messages);
    replaceChildren(this.stats);
    replaceChildren(this.result);
  }

  /** The Explain tab: the parsed expression's tree (nothing is evaluated). */
  async explain(signal) {
    const answer = await apiCall("/api/v1/parse_query", { query: this.state.expr }, { signal });
    replaceChildren(this.result, explainView(answer.data));
  }

  /** Runs the expression for the selected tab; an earlier run still in flight is cancelled. */
  async execute() {
    const p = this.state;
    // The result shown stays until the new one replaces it, so auto-refresh does not flicker.
    this.abort?.abort();
    if (p.expr.trim() === "") {
      this.clearResult();
      replaceChildren(this.result, h("p", { class: "muted" }, "No expression entered yet."));
      return;
    }
    const abort = new AbortController();
    this.abort = abort;
    const endMs = p.endTime ?? Date.now();
    const started = performance.now();
    replaceChildren(this.stats, "Loading…");
    try {
      if (p.tab === "explain") {
        await this.explain(abort.signal);
        replaceChildren(this.messages);
        replaceChildren(this.stats);
        return;
      }
      let answer;
      let range = null;
      if (p.tab === "table") {
        answer = await apiCall(
          "/api/v1/query",
          { query: p.expr, time: endMs / 1000 },
          { signal: abort.signal },
        );
      } else {
        const step = effectiveStep(p) / 1000;
        const end = Math.floor(endMs / 1000);
        range = { start: end - Math.floor(p.range / 1000), end, step };
        answer = await apiCall(
          "/api/v1/query_range",
          { query: p.expr, start: range.start, end: range.end, step },
          { signal: abort.signal, columns: true },
        );
      }
      const took = Math.round(performance.now() - started);
      this.showMessages(answer.warnings, answer.infos);
      const n =
        Array.isArray(answer.data.result) &&
        answer.data.resultType !== "scalar" &&
        answer.data.resultType !== "string"
          ? answer.data.result.length
          : 1;
      replaceChildren(
        this.stats,
        `Load time: ${took}ms`,
        range ? ` · Resolution: ${formatDuration(range.step * 1000)}` : "",
        ` · Result series: ${n}`,
      );
      if (p.tab === "table") {
        replaceChildren(this.result, resultTable(answer.data, endMs));
      } else {
        this.lastGraph = { result: answer.data.result, range };
        this.redraw();
      }
    } catch (e) {
      if (abort.signal.aborted) return;
      this.clearResult();
      replaceChildren(
        this.messages,
        h("div", { class: "error", role: "alert" }, `Error executing query: ${e.message}`),
      );
    }
  }

  showMessages(warnings, infos) {
    replaceChildren(
      this.messages,
      warnings.map((w) => h("div", { class: "warning", role: "status" }, `Warning: ${w}`)),
      infos.map((i) => h("div", { class: "info", role: "status" }, `Info: ${i}`)),
    );
  }

  /** Draws the last range result again (display mode, theme or width changed). */
  redraw() {
    this.plot?.destroy();
    this.plot = null;
    if (!this.lastGraph) return;
    const { result, range } = this.lastGraph;
    if (result.length === 0) {
      replaceChildren(
        this.result,
        h("p", { class: "notice", role: "status" }, "Empty query result: this query returned no data."),
      );
      return;
    }
    const host = h("div", { class: "graph" });
    const cut =
      result.length > MAX_GRAPH_SERIES
        ? h(
            "p",
            { class: "notice", role: "status" },
            `Showing the first ${MAX_GRAPH_SERIES} of ${result.length} series.`,
          )
        : null;
    // Prometheus 3 links may ask for its heatmap display, which bongsu does not draw yet.
    const heatmap =
      this.state.displayMode === "heatmap"
        ? h(
            "p",
            { class: "notice", role: "status" },
            "The heatmap display is not built yet in bongsu; shown as lines.",
          )
        : null;
    replaceChildren(this.result, heatmap, cut, host);
    this.plot = drawGraph(
      host,
      result.slice(0, MAX_GRAPH_SERIES),
      range,
      this.state.displayMode === "stacked",
    );
  }
}
