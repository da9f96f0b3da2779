// The volume histogram's numbers: the step for a time range, the metric query that counts
// lines per step and level, and its answer read into one count column per level. Drawing is
// histogram.js's.

/** Most bars drawn across the range. */
export const MAX_BARS = 120;

/** Steps a histogram uses, seconds: the first that keeps the bars at most MAX_BARS. */
const STEPS = [
  1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800,
];

/** Levels in stacking order (bottom first), as Grafana names and colours them. */
export const LEVELS = ["critical", "error", "warn", "info", "debug", "trace", "unknown"];
export const LEVEL_COLORS = {
  critical: "#a21caf",
  error: "#e03131",
  warn: "#f59f00",
  info: "#2f9e44",
  debug: "#1c7ed6",
  trace: "#74c0fc",
  unknown: "#868e96",
};
const ALIASES = {
  crit: "critical",
  fatal: "critical",
  emerg: "critical",
  alert: "critical",
  panic: "critical",
  err: "error",
  eror: "error",
  warning: "warn",
  wrn: "warn",
  information: "info",
  notice: "info",
  inf: "info",
  dbg: "debug",
  dbug: "debug",
  trc: "trace",
};

/** A level as one of LEVELS: known spellings mapped, anything else "unknown". */
export function normalizeLevel(level) {
  const l = String(level ?? "").toLowerCase();
  const n = ALIASES[l] ?? l;
  return LEVELS.includes(n) ? n : "unknown";
}

/** The histogram's step in seconds for `[startMs, endMs]`. */
export function histogramStep(startMs, endMs) {
  const span = Math.max(endMs - startMs, 1000) / 1000;
  return STEPS.find((s) => span / s <= MAX_BARS) ?? Math.ceil(span / MAX_BARS / 86400) * 86400;
}

/**
 * Lines of `logQuery` per `step` seconds and level: the `level` label (stream or parsed), else
 * the `detected_level` the server found in the line.
 */
export function volumeQuery(logQuery, step) {
  return `sum by (level, detected_level) (count_over_time(${logQuery.trim()} [${step}s]))`;
}

/**
 * A `query_range` matrix of `volumeQuery` (evaluated at start, start + step, …, end, seconds)
 * → { xs: each bar's start (seconds), levels: [{ level, counts }] } in LEVELS order, only the
 * levels present; each point counts the lines of the step before its time.
 */
export function levelBuckets(result, start, end, step) {
  const n = Math.floor((end - start) / step) + 1;
  const xs = Array.from({ length: n }, (_, i) => start + (i - 1) * step);
  const byLevel = new Map();
  for (const s of result) {
    const level = normalizeLevel(s.metric?.level || s.metric?.detected_level);
    if (!byLevel.has(level)) byLevel.set(level, new Array(n).fill(0));
    const counts = byLevel.get(level);
    for (const [t, v] of s.values) {
      const i = Math.round((t - start) / step);
      const c = Number(v);
      if (i >= 0 && i < n && Number.isFinite(c)) counts[i] += c;
    }
  }
  const levels = LEVELS.filter((l) => byLevel.has(l)).map((level) => ({ level, counts: byLevel.get(level) }));
  return { xs, levels };
}

/** The level a line shows: its stream's `level` label, else a `level=`/`"level":` in the text. */
export function lineLevel(labels, line) {
  if (labels.level) return normalizeLevel(labels.level);
  const m = /\b(?:level|lvl|severity)"?\s*[=:]\s*"?([A-Za-z]+)/i.exec(line);
  return m ? normalizeLevel(m[1]) : "unknown";
}
