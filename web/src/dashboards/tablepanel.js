// The `table` panel: instant query results, one row per series, a column per label and one
// value column per query (`Value`, or `Value #A` with several), values in the field's unit.

import { h } from "../dom.js";
import { sampleValue } from "../graph.js";
import { formatValue } from "./units.js";

/** Most rows drawn; a note says how many more there were. */
export const MAX_TABLE_ROWS = 1000;

/** Draws `results` into `body`; false when there is no row to show. */
export function drawTable(body, panel, results) {
  const defaults = panel.fieldConfig?.defaults ?? {};
  const rows = new Map();
  const labelNames = new Set();
  const valueCols = results.map((r) => (results.length > 1 ? `Value #${r.refId}` : "Value"));
  results.forEach((r, i) => {
    const series =
      r.resultType === "vector"
        ? r.result.map((s) => [s.metric, s.value[1]])
        : r.resultType === "matrix"
          ? r.result.map((s) => [s.metric, s.values.at(-1)?.[1]])
          : r.resultType === "scalar"
            ? [[{}, r.result[1]]]
            : [];
    for (const [metric, v] of series) {
      Object.keys(metric).forEach((k) => labelNames.add(k));
      const key = JSON.stringify(Object.entries(metric).sort());
      const row = rows.get(key) ?? { metric, values: [] };
      row.values[i] = sampleValue(v);
      rows.set(key, row);
    }
  });
  if (rows.size === 0) return false;
  const labels = [...labelNames].sort();
  const all = [...rows.values()];
  const shown = all.slice(0, MAX_TABLE_ROWS);
  body.append(
    h(
      "div",
      { class: "dash-table-wrap", tabindex: "0", "aria-label": panel.title || "Table" },
      h(
        "table",
        { class: "data-table", "aria-label": panel.title || "Table" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            [...labels, ...valueCols].map((c) => h("th", { scope: "col" }, c)),
          ),
        ),
        h(
          "tbody",
          {},
          shown.map((r) =>
            h(
              "tr",
              {},
              labels.map((l) => h("td", {}, r.metric[l] ?? "")),
              valueCols.map((_, i) =>
                h(
                  "td",
                  { class: "value" },
                  formatValue(r.values[i] ?? null, defaults.unit, defaults.decimals),
                ),
              ),
            ),
          ),
        ),
      ),
      all.length > shown.length
        ? h("p", { class: "muted" }, `Showing ${shown.length} of ${all.length} rows.`)
        : null,
    ),
  );
  return true;
}
