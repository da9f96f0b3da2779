// The `timeseries` panel (and the old `graph`): range query results drawn with uPlot, lines or
// stacked areas (`custom.stacking.mode`), fill (`custom.fillOpacity`), the y axis in the
// field's unit within `min`/`max`, and a legend (`options.legend`: list or table, hidden,
// with `calcs`) whose rows show values under the cursor.

import uPlot from "uplot";
import { h } from "../dom.js";
import { align, PALETTE, stack, themeColor } from "../graph.js";
import { seriesText } from "../series.js";
import { formatTime } from "../time.js";
import { legendText } from "./interpolate.js";
import { CALC_NAMES, cssColor, formatValue, reduce } from "./units.js";

/** Series of all targets, with their legend names, on one time axis. */
function collect(results) {
  const named = [];
  let range = null;
  for (const r of results) {
    if (r.resultType !== "matrix") continue;
    range = r.range;
    for (const s of r.result) {
      const fmt = r.legendFormat && r.legendFormat !== "__auto" ? r.legendFormat : null;
      named.push({ ...s, name: fmt ? legendText(fmt, s.metric) : seriesText(s.metric) });
    }
  }
  return { named, range };
}

function alpha(opacity) {
  return Math.round((Math.min(Math.max(opacity, 0), 100) / 100) * 255)
    .toString(16)
    .padStart(2, "0");
}

/**
 * Draws `results` into `body` (a flex column) for `panel`; returns { destroy(), resize() } or
 * null when there is nothing to draw (the caller says "No data").
 */
export function drawTimeseries(body, panel, results) {
  const { named, range } = collect(results);
  if (named.length === 0 || !range) return null;
  const defaults = panel.fieldConfig?.defaults ?? {};
  const custom = defaults.custom ?? {};
  const legacyStack = panel.type === "graph" && panel.stack;
  const stacked = legacyStack || (custom.stacking?.mode && custom.stacking.mode !== "none");
  const fillOpacity = custom.fillOpacity ?? (panel.type === "graph" ? (panel.fill ?? 1) * 10 : 0);
  const unit = defaults.unit ?? (panel.type === "graph" ? panel.yaxes?.[0]?.format : undefined);
  const { xs, ys } = align(named, range.start, range.end, range.step);
  const drawn = stacked ? stack(ys) : ys;
  const fixed = defaults.color?.mode === "fixed" ? cssColor(defaults.color.fixedColor) : null;
  const colors = named.map((_, i) => fixed ?? PALETTE[i % PALETTE.length]);
  const fg = themeColor("--fg");
  const grid = themeColor("--grid");
  const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
  const span = range.end - range.start;
  const tick = (t) => {
    const s = formatTime(t * 1000);
    // Seconds shown up to half an hour, where ticks fall less than a minute apart.
    return span > 2 * 86400 ? s.slice(5, 16) : span > 1800 ? s.slice(11, 16) : s.slice(11, 19);
  };
  const legend = panel.options?.legend ?? {};
  const showLegend = legend.showLegend !== false && legend.displayMode !== "hidden";
  const calcs = legend.calcs ?? [];

  const chart = h("div", { class: "dash-chart" });
  body.append(chart);
  let table = null;
  if (showLegend && calcs.length > 0) {
    table = h(
      "table",
      { class: "dash-legend" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col" }, "Series"),
          calcs.map((c) => h("th", { scope: "col" }, CALC_NAMES[c] ?? c)),
        ),
      ),
      h(
        "tbody",
        {},
        named.map((s, i) =>
          h(
            "tr",
            {},
            h("td", {}, h("span", { class: "swatch", style: `background:${colors[i]}` }), s.name),
            calcs.map((c) => h("td", {}, formatValue(reduce(ys[i], c), unit, defaults.decimals))),
          ),
        ),
      ),
    );
    // Scrolls when long: focusable, so a keyboard can scroll it too.
    body.append(h("div", { class: "dash-legend-wrap", tabindex: "0", "aria-label": "Legend" }, table));
  }
  // uPlot's legend sits below the plot inside `chart`: the plot gets the height it leaves.
  let legendHeight = 0;
  const size = () => ({
    width: Math.max(chart.clientWidth, 100),
    height: Math.max(chart.clientHeight - legendHeight, 60),
  });
  const opts = {
    ...size(),
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    cursor: { drag: { x: false, y: false } },
    legend: { show: showLegend && calcs.length === 0, live: true },
    scales: {
      y: {
        range: (_u, lo, hi) => {
          const min = defaults.min ?? (lo >= 0 && (stacked || fillOpacity > 0) ? 0 : lo);
          const max = defaults.max ?? hi;
          return min === max ? [min - 1, max + 1] : [min, max];
        },
      },
    },
    series: [
      { label: "Time", value: (_u, v) => (v === null ? "" : formatTime(v * 1000)) },
      ...named.map((s, i) => ({
        label: s.name,
        stroke: colors[i],
        width: custom.lineWidth ?? 1,
        fill: fillOpacity > 0 && colors[i].startsWith("#") ? `${colors[i]}${alpha(fillOpacity)}` : undefined,
        spanGaps: false,
        points: { show: custom.showPoints === "always" },
        value: (_u, _v, _si, idx) =>
          idx === null || ys[i][idx] === null ? "" : formatValue(ys[i][idx], unit, defaults.decimals),
      })),
    ],
    bands: stacked ? named.slice(1).map((_, i) => ({ series: [i + 2, i + 1] })) : [],
    axes: [
      { ...axis, values: (_u, splits) => splits.map(tick) },
      {
        ...axis,
        // Wide enough for the longest tick label in the unit (about 7px a character).
        size: (_u, values) => 16 + 7 * Math.max(3, ...(values ?? []).map((t) => t.length)),
        values: (_u, splits) => splits.map((v) => formatValue(v, unit, defaults.decimals)),
      },
    ],
  };
  const plot = new uPlot(opts, [xs, ...drawn], chart);
  const legendEl = plot.root.querySelector(".u-legend");
  legendEl?.setAttribute("tabindex", "0");
  legendHeight = legendEl?.offsetHeight ?? 0;
  plot.setSize(size());
  plot.root.setAttribute("role", "img");
  plot.root.setAttribute("aria-label", `${panel.title ?? "Graph"}: ${named.length} series`);
  return {
    destroy: () => plot.destroy(),
    resize: () => plot.setSize(size()),
  };
}
