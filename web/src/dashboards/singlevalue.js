// The panels that reduce each series to one value (`options.reduceOptions.calcs`, last
// non-null by default): `stat` (value coloured by thresholds, with an area sparkline when
// `graphMode` is `area`), `gauge` (an arc between `min` and `max`) and `bargauge` (bars,
// `orientation` horizontal or vertical).

import { h } from "../dom.js";
import { sampleValue } from "../graph.js";
import { seriesText } from "../series.js";
import { legendText } from "./interpolate.js";
import { formatValue, reduce, thresholdColor } from "./units.js";

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  el.append(...children);
  return el;
}

/** Each series of the results as { name, values: [numbers|null], value } reduced by `calc`. */
export function reducedSeries(results, calc) {
  const out = [];
  for (const r of results) {
    const fmt = r.legendFormat && r.legendFormat !== "__auto" ? r.legendFormat : null;
    const series =
      r.resultType === "matrix"
        ? r.result.map((s) => ({ metric: s.metric, values: s.values.map(([, v]) => sampleValue(v)) }))
        : r.resultType === "vector"
          ? r.result.map((s) => ({ metric: s.metric, values: [sampleValue(s.value[1])] }))
          : r.resultType === "scalar"
            ? [{ metric: {}, values: [sampleValue(r.result[1])] }]
            : [];
    for (const s of series) {
      out.push({
        name: fmt ? legendText(fmt, s.metric) : seriesText(s.metric),
        values: s.values,
        value: reduce(s.values, calc),
      });
    }
  }
  return out;
}

function sparkline(values, color) {
  const nums = values.map((v, i) => [i, v]).filter(([, v]) => v !== null);
  if (nums.length < 2) return null;
  const lo = Math.min(...nums.map(([, v]) => v));
  const hi = Math.max(...nums.map(([, v]) => v));
  const n = values.length - 1 || 1;
  const pts = nums.map(([i, v]) => `${(i / n) * 100},${hi === lo ? 20 : 38 - ((v - lo) / (hi - lo)) * 34}`);
  return svg(
    "svg",
    { class: "sparkline", viewBox: "0 0 100 40", preserveAspectRatio: "none", "aria-hidden": "true" },
    svg("polygon", { points: `0,40 ${pts.join(" ")} 100,40`, fill: color, "fill-opacity": "0.2" }),
    svg("polyline", { points: pts.join(" "), fill: "none", stroke: color, "stroke-width": "1.5" }),
  );
}

/** Min and max of a gauge or bar: the field's, else 0 and the largest value (100 for percent). */
function bounds(defaults, items) {
  const min = defaults.min ?? 0;
  const fallback =
    defaults.unit === "percent"
      ? 100
      : defaults.unit === "percentunit"
        ? 1
        : Math.max(...items.map((i) => i.value ?? 0), 1);
  return [min, defaults.max ?? fallback];
}

function settings(panel) {
  const defaults = panel.fieldConfig?.defaults ?? {};
  const calc = panel.options?.reduceOptions?.calcs?.[0] ?? "lastNotNull";
  return { defaults, calc };
}

/** The `stat` panel. */
export function drawStat(body, panel, results) {
  const { defaults, calc } = settings(panel);
  const items = reducedSeries(results, calc);
  if (items.length === 0) return false;
  const colorMode = panel.options?.colorMode ?? "value";
  const graph = (panel.options?.graphMode ?? "area") === "area";
  const [min, max] = bounds(defaults, items);
  body.append(
    h(
      "div",
      { class: "dash-stats" },
      items.map((it) => {
        const color = thresholdColor(it.value ?? 0, defaults.thresholds, min, max);
        const text = it.value === null ? "No data" : formatValue(it.value, defaults.unit, defaults.decimals);
        const box = h(
          "div",
          { class: `dash-stat${colorMode === "background" ? " filled" : ""}` },
          items.length > 1 ? h("div", { class: "dash-stat-name" }, it.name) : null,
          h("div", { class: "dash-stat-value" }, text),
          graph ? sparkline(it.values, colorMode === "background" ? "#fff" : color) : null,
        );
        // The threshold colour marks the box; text keeps the theme's colour, readable on any.
        if (colorMode === "background") box.style.background = color;
        else if (colorMode !== "none") box.style.setProperty("--stat-color", color);
        return box;
      }),
    ),
  );
  return true;
}

/** The `gauge` panel: a 240° arc per series. */
export function drawGauge(body, panel, results) {
  const { defaults, calc } = settings(panel);
  const items = reducedSeries(results, calc);
  if (items.length === 0) return false;
  const [min, max] = bounds(defaults, items);
  const arc = (from, to) => {
    const a = (f) => ((-210 + 240 * f) * Math.PI) / 180;
    const p = (f) => [50 + 40 * Math.cos(a(f)), 50 + 40 * Math.sin(a(f))];
    const [x0, y0] = p(from);
    const [x1, y1] = p(to);
    return `M${x0},${y0} A40,40 0 ${(to - from) * 240 > 180 ? 1 : 0} 1 ${x1},${y1}`;
  };
  body.append(
    h(
      "div",
      { class: "dash-gauges" },
      items.map((it) => {
        const frac = it.value === null ? 0 : Math.min(Math.max((it.value - min) / (max - min || 1), 0), 1);
        const color = thresholdColor(it.value ?? min, defaults.thresholds, min, max);
        const text = it.value === null ? "No data" : formatValue(it.value, defaults.unit, defaults.decimals);
        return h(
          "div",
          { class: "dash-gauge" },
          svg(
            "svg",
            { viewBox: "0 0 100 80", role: "img", "aria-label": `${it.name}: ${text}` },
            svg("path", { d: arc(0, 1), class: "gauge-track", fill: "none", "stroke-width": "10" }),
            frac > 0.001
              ? svg("path", { d: arc(0, frac), stroke: color, fill: "none", "stroke-width": "10" })
              : "",
            svg(
              "text",
              { x: "50", y: "56", "text-anchor": "middle", class: "gauge-text", fill: "currentColor" },
              text,
            ),
          ),
          items.length > 1 ? h("div", { class: "dash-stat-name" }, it.name) : null,
        );
      }),
    ),
  );
  return true;
}

/** The `bargauge` panel: one bar per series. */
export function drawBarGauge(body, panel, results) {
  const { defaults, calc } = settings(panel);
  const items = reducedSeries(results, calc);
  if (items.length === 0) return false;
  const [min, max] = bounds(defaults, items);
  const vertical = panel.options?.orientation === "vertical";
  body.append(
    h(
      "div",
      {
        class: `dash-bars${vertical ? " vertical" : ""}`,
        tabindex: "0",
        "aria-label": panel.title || "Bars",
      },
      items.map((it) => {
        const frac = it.value === null ? 0 : Math.min(Math.max((it.value - min) / (max - min || 1), 0), 1);
        const color = thresholdColor(it.value ?? min, defaults.thresholds, min, max);
        const size = `${(frac * 100).toFixed(1)}%`;
        return h(
          "div",
          { class: "dash-bar" },
          h("div", { class: "dash-bar-name" }, it.name),
          h(
            "div",
            { class: "dash-bar-track" },
            h("div", {
              class: "dash-bar-fill",
              style: `${vertical ? "height" : "width"}:${size};background:${color}`,
            }),
          ),
          h(
            "div",
            { class: "dash-bar-value" },
            it.value === null ? "No data" : formatValue(it.value, defaults.unit, defaults.decimals),
          ),
        );
      }),
    ),
  );
  return true;
}
