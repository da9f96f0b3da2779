// The table tab: an instant query's result, one row per series (or the scalar or string).

import { h } from "./dom.js";
import { seriesNode } from "./series.js";
import { formatTime } from "./time.js";

/** Most rows drawn: more would stall the page; the stats line still counts every series. */
export const MAX_ROWS = 10000;

/** Elements showing `data` ({ resultType, result }) of `/api/v1/query`: an element or a list. */
export function resultTable(data) {
  const { resultType, result } = data;
  if (resultType === "scalar" || resultType === "string") {
    return table([[h("span", { class: "muted" }, resultType), result[1]]]);
  }
  if (result.length === 0) {
    return h("p", { class: "notice", role: "status" }, "Empty query result: this query returned no data.");
  }
  const shown = result.slice(0, MAX_ROWS);
  const cut =
    result.length > MAX_ROWS
      ? h(
          "p",
          { class: "notice", role: "status" },
          `Showing the first ${MAX_ROWS} of ${result.length} series.`,
        )
      : null;
  if (resultType === "vector") {
    return [cut, table(shown.map((s) => [seriesNode(s.metric), s.value[1]]))];
  }
  // A range vector selector evaluated at one instant: every sample, with its time.
  return [
    cut,
    table(
      shown.map((s) => [
        seriesNode(s.metric),
        h(
          "div",
          { class: "samples" },
          s.values.map(([t, v]) =>
            h("div", {}, `${v} @${t} `, h("span", { class: "muted" }, formatTime(t * 1000))),
          ),
        ),
      ]),
    ),
  ];
}

function table(rows) {
  return h(
    "table",
    { class: "result-table" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Series"), h("th", { scope: "col" }, "Value"))),
    h(
      "tbody",
      {},
      rows.map(([series, value]) => h("tr", {}, h("td", {}, series), h("td", { class: "value" }, value))),
    ),
  );
}
