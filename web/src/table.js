// The table tab: an instant query's result, one row per series (or the scalar or string), each
// series with a link to its logs in the hour up to the evaluation time.

import { h } from "./dom.js";
import { seriesLogsUrl } from "./logslink.js";
import { seriesNode, seriesText } from "./series.js";
import { formatTime } from "./time.js";

/** How far back a table row's logs link reaches from the evaluation time (the explorer's default). */
const ROW_LOGS_MS = 60 * 60 * 1000;

/** The series' labels, and a "Logs" link when a label names a log source. */
function seriesCell(metric, evalMs) {
  const href = seriesLogsUrl(metric, evalMs - ROW_LOGS_MS, evalMs);
  return [
    seriesNode(metric),
    href === null
      ? null
      : [
          " ",
          h(
            "a",
            {
              href,
              class: "logs-link",
              title: "Logs of this series",
              "aria-label": `Logs of this series: ${seriesText(metric)}`,
            },
            "Logs",
          ),
        ],
  ];
}

/** Most rows drawn: more would stall the page; the stats line still counts every series. */
export const MAX_ROWS = 10000;

/**
 * Elements showing `data` ({ resultType, result }) of `/api/v1/query` evaluated at `evalMs`: an
 * element or a list.
 */
export function resultTable(data, evalMs) {
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
    return [cut, table(shown.map((s) => [seriesCell(s.metric, evalMs), s.value[1]]))];
  }
  // A range vector selector evaluated at one instant: every sample, with its time.
  return [
    cut,
    table(
      shown.map((s) => [
        seriesCell(s.metric, evalMs),
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
