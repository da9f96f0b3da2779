// The graph tab's chart: a range query's series drawn with uPlot, lines or stacked areas, a
// legend of series labels that shows the values under the cursor, each with a link to the logs
// of its series over the graph's range. Times are UTC, as the URL's.

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { h } from "./dom.js";
import { seriesLogsUrl } from "./logslink.js";
import { seriesText } from "./series.js";
import { formatTime } from "./time.js";

export const PALETTE = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
];

/** A sample value as the API writes it; non-finite ones leave a gap, as uPlot cannot draw them. */
export function sampleValue(text) {
  const v = Number(text);
  return Number.isFinite(v) ? v : null;
}

/**
 * Series on a common time axis: start, start + step, …, end (seconds). A series' `values` are
 * `[t, "v"]` pairs or `parseColumns`' typed arrays.
 */
export function align(result, start, end, step) {
  const n = Math.floor((end - start) / step) + 1;
  const xs = Array.from({ length: n }, (_, i) => start + i * step);
  const ys = result.map((s) => {
    const col = new Array(n).fill(null);
    if (s.values.times) {
      // Columns (`parseColumns`): values already numbers.
      const { times, vals } = s.values;
      for (let j = 0; j < times.length; j++) {
        const i = Math.round((times[j] - start) / step);
        if (i >= 0 && i < n && Number.isFinite(vals[j])) col[i] = vals[j];
      }
      return col;
    }
    for (const [t, v] of s.values) {
      const i = Math.round((t - start) / step);
      if (i >= 0 && i < n) col[i] = sampleValue(v);
    }
    return col;
  });
  return { xs, ys };
}

/** Each series plus all below it, so areas stack; gaps stay gaps. */
export function stack(ys) {
  const sums = [];
  let below = null;
  for (const col of ys) {
    const sum = col.map((v, i) => (v === null ? null : v + (below?.[i] ?? 0)));
    sums.push(sum);
    below = below ? below.map((b, i) => b + (col[i] ?? 0)) : col.map((v) => v ?? 0);
  }
  return sums;
}

export function themeColor(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/**
 * Draws `result` (a matrix of `/api/v1/query_range`) into `parent`; returns the uPlot, whose
 * `destroy()` removes it. `range` = { start, end, step } in seconds.
 */
export function drawGraph(parent, result, range, stacked) {
  const { xs, ys } = align(result, range.start, range.end, range.step);
  const drawn = stacked ? stack(ys) : ys;
  const fg = themeColor("--fg");
  const grid = themeColor("--grid");
  const axis = { stroke: fg, grid: { stroke: grid }, ticks: { stroke: grid } };
  // 24-hour UTC ticks (uPlot's default is a 12-hour clock), dated when the range spans days.
  const span = range.end - range.start;
  const tick = (t) => {
    const s = formatTime(t * 1000);
    return span > 2 * 86400 ? s.slice(5, 16) : span > 300 ? s.slice(11, 16) : s.slice(11, 19);
  };
  const opts = {
    width: Math.max(parent.clientWidth, 300),
    height: 320,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    cursor: { drag: { x: false, y: false } },
    legend: { live: true },
    series: [
      { label: "Time", value: (_u, v) => (v === null ? "" : formatTime(v * 1000)) },
      ...result.map((s, i) => {
        const color = PALETTE[i % PALETTE.length];
        return {
          label: seriesText(s.metric),
          stroke: color,
          width: 1.5,
          fill: stacked ? `${color}55` : undefined,
          spanGaps: false,
          points: { show: false },
          // The legend shows each series' own value, not the stacked sum drawn.
          value: (_u, _v, _si, idx) => (idx === null || ys[i][idx] === null ? "" : String(ys[i][idx])),
        };
      }),
    ],
    // Each stacked area fills only down to the series below it.
    bands: stacked ? result.slice(1).map((_, i) => ({ series: [i + 2, i + 1] })) : [],
    axes: [
      { ...axis, values: (_u, splits) => splits.map(tick) },
      { ...axis, size: 70 },
    ],
  };
  const plot = new uPlot(opts, [xs, ...drawn], parent);
  // The drawing is the image; the legend beside it holds links, which an image may not.
  const drawing = plot.root.querySelector(".u-wrap");
  drawing.setAttribute("role", "img");
  drawing.setAttribute("aria-label", `Graph of ${result.length} series`);
  addLogsLinks(plot, result, range);
  return plot;
}

/**
 * A "Logs" link in each legend entry whose series names a log source (job, instance, service),
 * in a cell of its own: uPlot toggles a series on clicks on its label, not on other cells.
 */
function addLogsLinks(plot, result, range) {
  const rows = plot.root.querySelectorAll(".u-legend .u-series");
  result.forEach((s, i) => {
    const href = seriesLogsUrl(s.metric, range.start * 1000, range.end * 1000);
    // Row 0 is the time.
    rows[i + 1]?.append(
      h(
        "td",
        { class: "legend-logs" },
        href === null
          ? null
          : h(
              "a",
              {
                href,
                class: "logs-link",
                title: "Logs of this series",
                "aria-label": `Logs of this series: ${seriesText(s.metric)}`,
              },
              "Logs",
            ),
      ),
    );
  });
}
