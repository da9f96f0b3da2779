// The query page's state in the URL, as Prometheus 3 encodes it, so links between bongsu and
// Prometheus (and alerts' `generatorURL`, `/graph?g0.expr=…`) open the same panels:
// g<i>.expr, g<i>.tab (graph|table|explain; the old UI's 0|1 too), g<i>.range_input,
// g<i>.end_input / g<i>.moment_input, g<i>.res_type (auto|fixed|custom) with res_density or
// res_step, the old UI's g<i>.step_input, g<i>.display_mode, g<i>.stacked, g<i>.show_tree and
// g<i>.show_exemplars.

import { formatDuration, formatTime, parseDuration, parseTime } from "./time.js";

/** A panel as Prometheus 3's query page starts one. */
export function newPanel(expr = "") {
  return {
    expr,
    showTree: false,
    tab: "table",
    range: 3600 * 1000,
    endTime: null,
    resolution: { type: "auto", density: "medium" },
    displayMode: "lines",
    showExemplars: false,
  };
}

/** The panels of a query string (`location.search`); at least one. */
export function decodePanels(search) {
  const params = new URLSearchParams(search);
  const panels = [];
  for (let i = 0; params.has(`g${i}.expr`); i++) {
    const p = newPanel();
    const get = (name) => params.get(`g${i}.${name}`);
    const has = (name) => params.has(`g${i}.${name}`);
    p.expr = get("expr");
    if (has("show_tree")) p.showTree = get("show_tree") === "1";
    const tab = { 0: "graph", graph: "graph", 1: "table", table: "table", explain: "explain" }[get("tab")];
    if (tab) p.tab = tab;
    if (["lines", "stacked", "heatmap"].includes(get("display_mode"))) {
      p.displayMode = get("display_mode");
    }
    if (has("stacked")) p.displayMode = get("stacked") === "1" ? "stacked" : "lines";
    if (has("show_exemplars")) p.showExemplars = get("show_exemplars") === "1";
    if (has("range_input")) p.range = parseDuration(get("range_input")) || p.range;
    if (has("end_input")) p.endTime = parseTime(get("end_input"));
    if (parseInt(get("step_input") ?? "", 10) > 0) {
      p.resolution = { type: "custom", step: parseInt(get("step_input"), 10) * 1000 };
    }
    const step = parseFloat(get("res_step") ?? "") * 1000;
    switch (get("res_type")) {
      case "auto":
        if (["low", "medium", "high"].includes(get("res_density"))) {
          p.resolution = { type: "auto", density: get("res_density") };
        }
        break;
      case "fixed":
      case "custom":
        if (step > 0) p.resolution = { type: get("res_type"), step };
        break;
    }
    if (has("moment_input")) p.endTime = parseTime(get("moment_input"));
    panels.push(p);
  }
  return panels.length > 0 ? panels : [newPanel()];
}

/** The query string (without `?`) of `panels`, parameter for parameter as Prometheus 3's. */
export function encodePanels(panels) {
  const params = new URLSearchParams();
  panels.forEach((p, i) => {
    const add = (name, value) => params.append(`g${i}.${name}`, value);
    add("expr", p.expr);
    add("show_tree", p.showTree ? "1" : "0");
    add("tab", p.tab);
    if (p.endTime !== null) {
      add("end_input", formatTime(p.endTime));
      add("moment_input", formatTime(p.endTime));
    }
    add("range_input", formatDuration(p.range));
    if (p.resolution.type === "auto") {
      add("res_type", "auto");
      add("res_density", p.resolution.density);
    } else {
      add("res_type", p.resolution.type);
      add("res_step", String(p.resolution.step / 1000));
    }
    add("display_mode", p.displayMode);
    add("show_exemplars", p.showExemplars ? "1" : "0");
  });
  return params.toString();
}

/** Points per graph width for each automatic density, as Prometheus 3's resolution picker. */
const DENSITY = { low: 100, medium: 250, high: 750 };

/** The step in milliseconds a panel's range query uses. */
export function effectiveStep(p) {
  if (p.resolution.type !== "auto") return p.resolution.step;
  return Math.max(Math.floor(p.range / DENSITY[p.resolution.density] / 1000), 1) * 1000;
}
