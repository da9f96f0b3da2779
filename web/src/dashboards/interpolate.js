// Grafana's template syntax in PromQL: `$var`, `${var}`, `${var:format}`, `[[var]]` and
// `[[var:format]]`, with values escaped and multi values joined as Grafana's Prometheus data
// source does (`(a|b)`, each value regex-escaped), and the built-in `$__…` variables.

const REFERENCE = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:}]+))?(?::([^}]+))?\}/g;

/** The value standing for "All" in URLs and `current`, as Grafana writes it. */
export const ALL = "$__all";

/** Escapes regular-expression metacharacters, as Grafana's `prometheusSpecialRegexEscape`. */
export function regexEscape(v) {
  return String(v)
    .replace(/\\/g, "\\\\\\\\")
    .replace(/[$^*{}[\]'+?.()|]/g, "\\\\$&");
}

/** Escapes for a PromQL string of a single value, as Grafana's `prometheusRegularEscape`. */
function regularEscape(v) {
  return String(v).replace(/\\/g, "\\\\").replace(/'/g, "\\\\'");
}

/** A variable's values formatted by `format` (Grafana's names), or by the data source's rule. */
function formatValues(values, format, multi) {
  switch (format) {
    case "raw":
      return values.join(",");
    case "regex": {
      const esc = values.map((v) => String(v).replace(/[\\^$*+?.()|[\]{}/]/g, "\\$&"));
      return esc.length > 1 ? `(${esc.join("|")})` : esc[0];
    }
    case "pipe":
      return values.join("|");
    case "csv":
      return values.join(",");
    case "json":
      return JSON.stringify(values.length === 1 ? values[0] : values);
    case "singlequote":
      return values.map((v) => `'${String(v).replace(/'/g, "\\'")}'`).join(",");
    case "doublequote":
      return values.map((v) => `"${String(v).replace(/"/g, '\\"')}"`).join(",");
    case "queryparam":
      return values.map((v) => `var-${encodeURIComponent(v)}`).join("&");
    case "text":
      return values.join(" + ");
    case undefined:
      break;
    default:
      throw new Error(`variable format "${format}" is not supported by bongsu yet`);
  }
  if (!multi) return regularEscape(values[0] ?? "");
  const esc = values.map(regexEscape);
  return esc.length > 1 ? `(${esc.join("|")})` : (esc[0] ?? "");
}

/**
 * `text` with every reference to a known variable replaced; unknown ones stay as written.
 * `vars` maps a name to { values: [...], multi: bool, allValue?: string, text?: [...] }
 * (`multi` for multi-value or include-All variables: their values are regex-escaped).
 */
export function interpolate(text, vars) {
  return String(text).replace(REFERENCE, (whole, plain, bracket, bracketFmt, braced, field, fmt) => {
    const name = plain ?? bracket ?? braced;
    const v = vars[name];
    if (!v) return whole;
    const format = fmt ?? bracketFmt;
    if (v.allValue !== undefined && v.allValue !== null && v.isAll) return v.allValue;
    if (format === "text" && v.text) return v.text.join(" + ");
    return formatValues(v.values, format, v.multi);
  });
}

/** The built-in variables of a panel's query: `$__interval`, `$__rate_interval`, `$__range`…. */
export function builtins({ from, to, intervalMs, rateIntervalMs, intervalText }) {
  const rangeS = Math.round((to - from) / 1000);
  const one = (value) => ({ values: [String(value)], multi: false });
  return {
    __interval: one(intervalText(intervalMs)),
    __interval_ms: one(intervalMs),
    __rate_interval: one(intervalText(rateIntervalMs)),
    __rate_interval_ms: one(rateIntervalMs),
    __range: one(`${rangeS}s`),
    __range_s: one(rangeS),
    __range_ms: one(to - from),
    __from: one(from),
    __to: one(to),
  };
}

/** Replaces `{{label}}` in a legend format with the series' label values (Grafana's rule). */
export function legendText(format, metric) {
  return format.replace(/\{\{\s*(.+?)\s*\}\}/g, (_, name) => metric[name] ?? "");
}
