// One dashboard panel: its frame (title, description), its queries run for the current range
// and variables, and its drawing by type; "No data", query errors and panel types bongsu does
// not draw are said in the panel itself.

import { h, replaceChildren } from "../dom.js";
import { interpolate } from "./interpolate.js";
import { panelScope, runTargets } from "./query.js";
import { drawBarGauge, drawGauge, drawStat } from "./singlevalue.js";
import { drawTable } from "./tablepanel.js";
import { drawTimeseries } from "./timeseries.js";

/** Panel type → [draws into (body, panel, results), wants instant queries]. */
const KINDS = {
  timeseries: [drawTimeseries, false],
  graph: [drawTimeseries, false],
  stat: [drawStat, false],
  singlestat: [drawStat, false],
  gauge: [drawGauge, false],
  bargauge: [drawBarGauge, false],
  table: [drawTable, true],
};

/** Variables with their display texts, for titles (`$job` in a title shows the value's text). */
function textVars(vars) {
  return Object.fromEntries(
    Object.entries(vars).map(([k, v]) => [k, { values: [(v.text ?? v.values).join(" + ")], multi: false }]),
  );
}

/**
 * A panel's element, placed on its section's grid, with `refresh(ctx)` to (re)load it:
 * ctx = { vars, range, scrapeMs, signal }. `destroy()` frees its chart.
 */
export function dashboardPanel(panel, placement) {
  const titleId = `panel-${panel.id ?? Math.random().toString(36).slice(2)}`;
  const title = h("h3", { class: "dash-panel-title", id: titleId });
  const body = h("div", { class: "dash-panel-body" });
  const el = h(
    "section",
    {
      class: "dash-panel",
      "aria-labelledby": titleId,
      style: `grid-column:${placement.column};grid-row:${placement.row}`,
      "data-type": panel.type,
    },
    title,
    body,
  );
  let drawn = null;
  let seq = 0;
  const notice = (cls, text, role) => {
    replaceChildren(body, h("div", { class: cls, role }, text));
  };
  const refresh = async ({ vars, range, scrapeMs, signal }) => {
    const texts = textVars(vars);
    title.textContent = interpolate(panel.title ?? "", texts) || "\u00a0";
    if (panel.description) title.title = panel.description;
    const kind = KINDS[panel.type];
    if (!kind) {
      notice("dash-unsupported", `panel type ${panel.type} is not supported by bongsu yet`, "note");
      return;
    }
    const mine = ++seq;
    body.setAttribute("aria-busy", "true");
    try {
      const scope = panelScope(panel, vars, range, body.clientWidth, scrapeMs);
      const results = await runTargets(panel, scope, range, { instant: kind[1], signal });
      if (mine !== seq) return;
      drawn?.destroy?.();
      drawn = null;
      replaceChildren(body);
      const out = kind[0](body, panel, results);
      if (!out) notice("dash-nodata", "No data", "status");
      else if (typeof out === "object") drawn = out;
    } catch (e) {
      if (signal.aborted || mine !== seq) return;
      drawn?.destroy?.();
      drawn = null;
      notice("error", `Error: ${e.message}`, "alert");
    } finally {
      if (mine === seq) body.removeAttribute("aria-busy");
    }
  };
  return {
    el,
    refresh,
    resize: () => drawn?.resize?.(),
    destroy: () => drawn?.destroy?.(),
  };
}
