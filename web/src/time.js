// Prometheus' time formats: durations as `1h30m`, times as `YYYY-MM-DD HH:mm:ss` in UTC (the
// query page's URL state, as Prometheus 3 writes it).

const UNITS = [
  ["y", 365 * 24 * 3600 * 1000],
  ["w", 7 * 24 * 3600 * 1000],
  ["d", 24 * 3600 * 1000],
  ["h", 3600 * 1000],
  ["m", 60 * 1000],
  ["s", 1000],
  ["ms", 1],
];
const DURATION = /^((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$/;

/** `1h30m` → milliseconds, or null when it is not a Prometheus duration. */
export function parseDuration(text) {
  const m = DURATION.exec(text.trim());
  if (!m || text.trim() === "") return null;
  let ms = 0;
  UNITS.forEach(([, unit], i) => {
    if (m[2 * i + 2] !== undefined) ms += Number(m[2 * i + 2]) * unit;
  });
  return ms;
}

/** Milliseconds → `1h30m` (`0s` for zero). */
export function formatDuration(ms) {
  if (ms === 0) return "0s";
  let rest = ms;
  let out = "";
  for (const [name, unit] of UNITS) {
    const n = Math.floor(rest / unit);
    if (n > 0) {
      out += `${n}${name}`;
      rest -= n * unit;
    }
  }
  return out;
}

const pad = (n, w = 2) => String(n).padStart(w, "0");

/** Unix milliseconds → `2024-01-02 15:04:05` (UTC). */
export function formatTime(ms) {
  const d = new Date(ms);
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
  );
}

/** `2024-01-02 15:04:05` or `2024-01-02T15:04:05Z` (UTC) → Unix milliseconds, or null. */
export function parseTime(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?)?Z?$/.exec(
    text.trim(),
  );
  if (!m) return null;
  const [, y, mo, d, hh = "0", mi = "0", ss = "0", frac = "0"] = m;
  const ms = Date.UTC(+y, +mo - 1, +d, +hh, +mi, +ss, +frac.padEnd(3, "0"));
  return Number.isNaN(ms) ? null : ms;
}
