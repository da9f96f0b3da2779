// A panel's queries: each visible target's `expr`, with variables and the panel's built-ins
// (`$__interval`, `$__rate_interval`, `$__range`…) put in, run over bongsu's API as a range
// query (graphs, stats, gauges) or an instant one (tables, `instant` targets).

import { apiCall } from "../api.js";
import { parseDuration } from "../time.js";
import { builtins, interpolate } from "./interpolate.js";
import { autoInterval, intervalText, rateInterval, stepSeconds } from "./timerange.js";

/** A Grafana min interval (`30s`, `>1m`, `$var`), in ms, or null when unset or unreadable. */
function minInterval(text, vars) {
  if (!text) return null;
  const t = interpolate(String(text), vars).replace(/^>/, "").trim();
  return parseDuration(t);
}

/**
 * The variables one panel's queries see: the dashboard's `vars`, then the built-ins computed
 * from the range, the panel's width in pixels and the scrape interval (ms).
 */
export function panelScope(panel, vars, { from, to }, widthPx, scrapeMs) {
  const min = minInterval(panel.interval, vars) ?? scrapeMs;
  const points = panel.maxDataPoints ?? Math.max(widthPx, 100);
  const intervalMs = autoInterval(to - from, points, min);
  const rateIntervalMs = rateInterval(intervalMs, scrapeMs);
  return {
    intervalMs,
    vars: { ...vars, ...builtins({ from, to, intervalMs, rateIntervalMs, intervalText }) },
  };
}

/**
 * Runs the panel's targets; resolves to [{ refId, legendFormat, resultType, result, range }]
 * (`range` = { start, end, step } in seconds for range queries). Throws ApiError on failure.
 */
export async function runTargets(panel, scope, { from, to }, { instant, signal }) {
  const targets = (panel.targets ?? []).filter((t) => !t.hide && (t.expr ?? "").trim() !== "");
  return Promise.all(
    targets.map(async (t) => {
      const query = interpolate(t.expr, scope.vars);
      const asInstant = instant || (t.instant === true && t.range !== true);
      if (asInstant) {
        const { data } = await apiCall("/api/v1/query", { query, time: String(to / 1000) }, { signal });
        return { refId: t.refId, legendFormat: t.legendFormat, ...data };
      }
      const step = stepSeconds(to - from, scope.intervalMs);
      // Aligned to the step, as Grafana does, so that a refresh draws the same points.
      const start = Math.floor(from / 1000 / step) * step;
      const end = Math.ceil(to / 1000 / step) * step;
      const { data } = await apiCall(
        "/api/v1/query_range",
        { query, start: String(start), end: String(end), step: String(step) },
        { signal },
      );
      return { refId: t.refId, legendFormat: t.legendFormat, ...data, range: { start, end, step } };
    }),
  );
}
