// The volume histogram: lines per step stacked by level (levels.js's buckets), drawn as bars
// with uPlot. A click on a bar or a drag across bars zooms the page to that time range.

import uPlot from "uplot";
import { stack, themeColor } from "../graph.js";
import { formatTime } from "../time.js";
import { LEVEL_COLORS } from "./levels.js";

const HEIGHT = 130;
/** Pixels the pointer may move between press and release and still count as a click. */
const CLICK_SLOP = 3;

/**
 * Draws `buckets` (levelBuckets') into `parent`; `onZoom(fromMs, toMs)` on a click or drag.
 * Returns the uPlot (`destroy()` removes it).
 */
export function drawHistogram(parent, { xs, levels }, step, onZoom) {
  const sums = stack(levels.map((l) => l.counts));
  // Each level's bar reaches its running total; drawn from the top one down, each covers the
  // part of the taller bar behind it that belongs to the levels below.
  const order = levels.map((_, i) => i).reverse();
  const fg = themeColor("--fg");
  const grid = themeColor("--grid");
  const axis = { stroke: fg, grid: { stroke: grid }, ticks: { stroke: grid } };
  const span = (xs.at(-1) ?? 0) - (xs[0] ?? 0);
  const tick = (t) => {
    const s = formatTime(t * 1000);
    return span > 2 * 86400 ? s.slice(5, 16) : span > 300 ? s.slice(11, 16) : s.slice(11, 19);
  };
  const bars = uPlot.paths.bars({ size: [1, Infinity], gap: 1, align: 1 });
  const plot = new uPlot(
    {
      width: Math.max(parent.clientWidth, 300),
      height: HEIGHT,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false } },
      legend: { live: true },
      scales: { x: { time: true, range: () => [xs[0], (xs.at(-1) ?? 0) + step] } },
      series: [
        { label: "Time", value: (_u, v) => (v === null ? "" : formatTime(v * 1000)) },
        ...order.map((i) => ({
          label: levels[i].level,
          stroke: LEVEL_COLORS[levels[i].level],
          fill: LEVEL_COLORS[levels[i].level],
          paths: bars,
          points: { show: false },
          value: (_u, _v, _si, idx) => (idx === null ? "" : String(levels[i].counts[idx])),
        })),
      ],
      axes: [
        { ...axis, values: (_u, splits) => splits.map(tick) },
        { ...axis, size: 50 },
      ],
    },
    [xs, ...order.map((i) => sums[i])],
    parent,
  );
  plot.root.setAttribute("role", "img");
  plot.root.setAttribute(
    "aria-label",
    `Log volume by level (${levels.map((l) => l.level).join(", ") || "no lines"}); click or drag to zoom`,
  );
  let downX = null;
  plot.over.addEventListener("mousedown", (e) => {
    downX = e.offsetX;
  });
  plot.over.addEventListener("mouseup", (e) => {
    if (downX === null) return;
    const a = Math.min(downX, e.offsetX);
    const b = Math.max(downX, e.offsetX);
    downX = null;
    if (b - a < CLICK_SLOP) {
      const x = plot.posToVal(e.offsetX, "x");
      const i = xs.findLastIndex((t) => t <= x);
      if (i >= 0) onZoom(xs[i] * 1000, (xs[i] + step) * 1000);
    } else {
      onZoom(Math.round(plot.posToVal(a, "x") * 1000), Math.round(plot.posToVal(b, "x") * 1000));
    }
  });
  return plot;
}
