// Grafana's time range and interval rules: relative times (`now-6h`, `now/d`, `now-1d/d`),
// absolute ones (Unix milliseconds or ISO dates, as Grafana's URL `from`/`to`), the automatic
// interval from the range and the panel's width (`$__interval`), and `$__rate_interval`.

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Start of `unit` (s, m, h, d, w, M, y) containing `d`, in UTC as the rest of the UI. */
function startOf(d, unit) {
  const t = new Date(d);
  switch (unit) {
    case "y":
      t.setUTCMonth(0, 1);
      t.setUTCHours(0, 0, 0, 0);
      break;
    case "M":
      t.setUTCDate(1);
      t.setUTCHours(0, 0, 0, 0);
      break;
    case "w":
      t.setUTCDate(t.getUTCDate() - t.getUTCDay());
      t.setUTCHours(0, 0, 0, 0);
      break;
    case "d":
      t.setUTCHours(0, 0, 0, 0);
      break;
    case "h":
      t.setUTCMinutes(0, 0, 0);
      break;
    case "m":
      t.setUTCSeconds(0, 0);
      break;
    case "s":
      t.setUTCMilliseconds(0);
      break;
    default:
      return null;
  }
  return t.getTime();
}

/** Adds `n` of `unit` to `ms` (months and years by the calendar). */
function add(ms, n, unit) {
  if (UNIT_MS[unit]) return ms + n * UNIT_MS[unit];
  const t = new Date(ms);
  if (unit === "M") t.setUTCMonth(t.getUTCMonth() + n);
  else if (unit === "y") t.setUTCFullYear(t.getUTCFullYear() + n);
  else return null;
  return t.getTime();
}

/**
 * A Grafana time (`now`, `now-6h`, `now-1d/d`, `now/w`, Unix ms, or an ISO date) → Unix ms,
 * or null when it is none of these. `roundUp` rounds `/unit` to the unit's end (for `to`).
 */
export function parseGrafanaTime(text, now = Date.now(), roundUp = false) {
  const s = String(text ?? "").trim();
  if (/^\d+$/.test(s)) return Number(s);
  if (!s.startsWith("now")) {
    const ms = Date.parse(s.includes("T") || s.length <= 10 ? s : s.replace(" ", "T") + "Z");
    return Number.isNaN(ms) ? null : ms;
  }
  let ms = now;
  const re = /([+-])(\d+)([smhdwMy])|\/([smhdwMy])/gy;
  re.lastIndex = 3;
  let m;
  while (re.lastIndex < s.length && (m = re.exec(s))) {
    if (m[4]) {
      ms = startOf(ms, m[4]);
      if (roundUp) ms = add(ms, 1, m[4]) - 1;
    } else {
      ms = add(ms, (m[1] === "-" ? -1 : 1) * Number(m[2]), m[3]);
    }
    if (ms === null) return null;
  }
  return re.lastIndex === s.length || s === "now" ? ms : null;
}

/** The range { from, to } in Unix ms of a dashboard's `from`/`to` texts, or an Error. */
export function resolveRange(fromText, toText, now = Date.now()) {
  const from = parseGrafanaTime(fromText, now, false);
  const to = parseGrafanaTime(toText, now, true);
  if (from === null) return new Error(`"${fromText}" is not a time such as now-6h or 2024-01-02 15:04:05`);
  if (to === null) return new Error(`"${toText}" is not a time such as now or 2024-01-02 15:04:05`);
  if (from >= to) return new Error(`the range starts (${fromText}) after it ends (${toText})`);
  return { from, to };
}

// Grafana's rounding of an automatic interval to a readable one: [below (ms), interval (ms)].
const ROUNDING = [
  [15, 10],
  [35, 20],
  [75, 50],
  [150, 100],
  [350, 200],
  [750, 500],
  [1500, 1000],
  [3500, 2000],
  [7500, 5000],
  [12500, 10_000],
  [17500, 15_000],
  [25000, 20_000],
  [45000, 30_000],
  [90000, 60_000],
  [210000, 120_000],
  [450000, 300_000],
  [750000, 600_000],
  [1050000, 900_000],
  [1500000, 1_200_000],
  [2700000, 1_800_000],
  [5400000, 3_600_000],
  [9000000, 7_200_000],
  [16200000, 10_800_000],
  [24300000, 21_600_000],
  [64800000, 43_200_000],
  [129600000, 86_400_000],
  [604800000, 86_400_000],
  [1814400000, 604_800_000],
  [3628800000, 2_592_000_000],
];

/** Grafana's `roundInterval`: an interval in ms rounded to one of its readable steps. */
export function roundInterval(ms) {
  for (const [below, to] of ROUNDING) if (ms < below) return to;
  return 31_536_000_000;
}

/**
 * `$__interval` in ms as Grafana computes it: the range over the data points the panel has room
 * for (`maxDataPoints`, else its width in pixels), rounded, and never below `minMs` (the panel's
 * `interval`, else the scrape interval).
 */
export function autoInterval(rangeMs, points, minMs) {
  const raw = roundInterval(rangeMs / Math.max(points, 1));
  return Math.max(raw, minMs);
}

/** Grafana's `$__rate_interval`: max(`$__interval` + scrape interval, 4 × scrape interval). */
export function rateInterval(intervalMs, scrapeMs) {
  return Math.max(intervalMs + scrapeMs, 4 * scrapeMs);
}

/** Most points a query_range answer may have per series (Prometheus refuses more). */
export const MAX_POINTS = 11_000;

/** The query_range step in seconds: the interval, raised so the range has at most MAX_POINTS. */
export function stepSeconds(rangeMs, intervalMs) {
  const safe = Math.ceil(rangeMs / MAX_POINTS / 1000);
  return Math.max(intervalMs / 1000, safe, 0.001);
}

/** Milliseconds as Grafana writes intervals: `15s`, `1m`, `2h`, `1d`, `500ms`. */
export function intervalText(ms) {
  for (const [unit, size] of [
    ["y", 31_536_000_000],
    ["w", 604_800_000],
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
  ]) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${Math.round(ms)}ms`;
}
