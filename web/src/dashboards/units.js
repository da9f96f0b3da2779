// Values as Grafana's field config shows them: its common units (`fieldConfig.defaults.unit`),
// `decimals`, and the colour of the threshold step a value falls in.

const SI = ["", "K", "M", "G", "T", "P", "E"];
const SI_SMALL = ["", "m", "µ", "n", "p"];
const IEC = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];

/** Digits after the point: `decimals` when set, else enough for three significant digits. */
function fixed(v, decimals) {
  if (decimals !== undefined && decimals !== null) return v.toFixed(decimals);
  const abs = Math.abs(v);
  if (abs === 0 || abs >= 100) return String(Math.round(v * 10) / 10).replace(/\.0$/, "");
  const digits = Math.min(6, Math.max(0, 2 - Math.floor(Math.log10(abs))));
  return String(Number(v.toFixed(digits)));
}

/** `v` scaled by `base` (1000 or 1024) with the prefixes given, then `suffix`. */
function scaled(v, base, prefixes, suffix, decimals, small = false) {
  let i = 0;
  let x = v;
  while (Math.abs(x) >= base && i < prefixes.length - 1) {
    x /= base;
    i++;
  }
  if (small && x !== 0) {
    let j = 0;
    while (Math.abs(x) < 1 && j < SI_SMALL.length - 1) {
      x *= 1000;
      j++;
    }
    if (j > 0) return `${fixed(x, decimals)} ${SI_SMALL[j]}${suffix}`.trimEnd();
  }
  const sep = suffix || prefixes[i] ? " " : "";
  return `${fixed(x, decimals)}${sep}${prefixes[i]}${suffix}`.replace(/ $/, "");
}

/** Seconds as the largest fitting unit: `350 ms`, `1.5 s`, `2.3 min`, `4 hour`, `2 day`. */
function duration(seconds, decimals) {
  const abs = Math.abs(seconds);
  if (abs === 0) return "0 s";
  if (abs < 1e-6) return `${fixed(seconds * 1e9, decimals)} ns`;
  if (abs < 1e-3) return `${fixed(seconds * 1e6, decimals)} µs`;
  if (abs < 1) return `${fixed(seconds * 1e3, decimals)} ms`;
  if (abs < 60) return `${fixed(seconds, decimals)} s`;
  if (abs < 3600) return `${fixed(seconds / 60, decimals)} min`;
  if (abs < 86400) return `${fixed(seconds / 3600, decimals)} hour`;
  if (abs < 604800) return `${fixed(seconds / 86400, decimals)} day`;
  return `${fixed(seconds / 604800, decimals)} week`;
}

const RATE_SUFFIX = { reqps: "req/s", rps: "rd/s", wps: "wr/s", iops: "io/s", ops: "ops/s", cps: "c/s" };

/** `v` written in Grafana's `unit` with `decimals`; unknown units are short numbers plus the unit. */
export function formatValue(v, unit = "short", decimals) {
  if (v === null || v === undefined) return "";
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
  switch (unit) {
    case "none":
      return fixed(v, decimals);
    case "":
    case "short":
      return scaled(v, 1000, SI, "", decimals);
    case "percent":
      return `${fixed(v, decimals)}%`;
    case "percentunit":
      return `${fixed(v * 100, decimals)}%`;
    case "bytes":
      return scaled(v, 1024, IEC, "B", decimals);
    case "decbytes":
      return scaled(v, 1000, SI, "B", decimals);
    case "bits":
      return scaled(v, 1024, IEC, "b", decimals);
    case "bps":
      return scaled(v, 1000, SI, "bps", decimals);
    case "Bps":
    case "binBps":
      return scaled(v, unit === "Bps" ? 1000 : 1024, unit === "Bps" ? SI : IEC, "B/s", decimals);
    case "s":
      return duration(v, decimals);
    case "ms":
      return duration(v / 1e3, decimals);
    case "µs":
    case "us":
      return duration(v / 1e6, decimals);
    case "ns":
      return duration(v / 1e9, decimals);
    case "hertz":
      return scaled(v, 1000, SI, "Hz", decimals);
    case "celsius":
      return `${fixed(v, decimals)}°C`;
    case "dateTimeAsIso":
      return new Date(v).toISOString();
    default:
      if (RATE_SUFFIX[unit]) return scaled(v, 1000, SI, ` ${RATE_SUFFIX[unit]}`, decimals).replace("  ", " ");
      return `${scaled(v, 1000, SI, "", decimals)} ${unit}`;
  }
}

// Grafana's named colours, as its classic palette draws them.
const NAMED = {
  green: "#73bf69",
  "dark-green": "#37872d",
  "semi-dark-green": "#56a64b",
  "light-green": "#96d98d",
  red: "#f2495c",
  "dark-red": "#c4162a",
  "semi-dark-red": "#e02f44",
  "light-red": "#ff7383",
  yellow: "#fade2a",
  "dark-yellow": "#e0b400",
  orange: "#ff9830",
  "dark-orange": "#fa6400",
  blue: "#5794f2",
  "dark-blue": "#1f60c4",
  purple: "#b877d9",
  "dark-purple": "#8f3bb8",
  text: "var(--fg)",
  transparent: "transparent",
};

/** A Grafana colour name or CSS colour as CSS. */
export function cssColor(name) {
  return NAMED[name] ?? name ?? "var(--fg)";
}

/**
 * The colour of the threshold step `v` reaches (`thresholds.steps`: the first has value null,
 * meaning "below all others"); percentage mode places steps between `min` and `max`.
 */
export function thresholdColor(v, thresholds, min = 0, max = 100) {
  const steps = thresholds?.steps ?? [{ color: "green", value: null }];
  let color = steps[0]?.color ?? "green";
  for (const step of steps) {
    if (step.value === null || step.value === undefined) continue;
    const at = thresholds.mode === "percentage" ? min + ((max - min) * step.value) / 100 : step.value;
    if (v >= at) color = step.color;
  }
  return cssColor(color);
}

/** Reduces a series' values (nulls and NaNs skipped where Grafana skips them) by a calc name. */
export function reduce(values, calc = "lastNotNull") {
  const nums = values.filter((v) => v !== null && !Number.isNaN(v));
  switch (calc) {
    case "last":
      return values.length ? values[values.length - 1] : null;
    case "lastNotNull":
      return nums.length ? nums[nums.length - 1] : null;
    case "first":
      return values.length ? values[0] : null;
    case "firstNotNull":
      return nums.length ? nums[0] : null;
    case "min":
      return nums.length ? Math.min(...nums) : null;
    case "max":
      return nums.length ? Math.max(...nums) : null;
    case "mean":
      return nums.length ? nums.reduce((a, b) => a + b, 0) / nums.length : null;
    case "sum":
      return nums.reduce((a, b) => a + b, 0);
    case "count":
      return values.length;
    case "range":
      return nums.length ? Math.max(...nums) - Math.min(...nums) : null;
    case "delta":
    case "diff":
      return nums.length ? nums[nums.length - 1] - nums[0] : null;
    default:
      throw new Error(`the calculation "${calc}" is not supported by bongsu yet`);
  }
}

/** The label Grafana's legend shows for a calc. */
export const CALC_NAMES = {
  last: "Last",
  lastNotNull: "Last *",
  first: "First",
  firstNotNull: "First *",
  min: "Min",
  max: "Max",
  mean: "Mean",
  sum: "Total",
  count: "Count",
  range: "Range",
  delta: "Delta",
  diff: "Difference",
};
