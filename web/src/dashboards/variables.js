// A dashboard's template variables (`templating.list`): their options, loaded from bongsu's API
// for `query` variables as Grafana's Prometheus data source does (`label_values`, `label_names`,
// `metrics`, `query_result`, with `regex` and `sort`), or read from the JSON (`custom`,
// `constant`, `interval`, `textbox`), and the current values, from the URL (`var-<name>`) first.

import { apiCall } from "../api.js";
import { ALL, interpolate } from "./interpolate.js";

/** Kinds of variable this UI handles; `datasource` has one value, bongsu itself. */
const KINDS = new Set(["query", "custom", "constant", "interval", "textbox", "datasource"]);

/** The query text of a `query` variable: Grafana writes a string, or an object since 10. */
function queryText(v) {
  return typeof v.query === "string" ? v.query : (v.query?.query ?? v.definition ?? "");
}

/** `a,b , c` or `text : value, …` (Grafana's custom variable syntax; `\,` keeps a comma). */
export function customOptions(text) {
  const parts = String(text).match(/(?:\\,|[^,])+/g) ?? [];
  return parts.map((p) => {
    const clean = p.replace(/\\,/g, ",").trim();
    const m = /^(.+?)\s:\s(.+)$/.exec(clean);
    return m ? { text: m[1].trim(), value: m[2].trim() } : { text: clean, value: clean };
  });
}

/** A query result as Grafana's `query_result` lists it: `name{l="v"} value timestamp`. */
function resultLine(s) {
  const { __name__: name = "", ...labels } = s.metric;
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return `${name}{${pairs.join(", ")}} ${s.value[1]} ${s.value[0] * 1000}`;
}

/** Values of Grafana's Prometheus variable query `q`, over the time range (ms). */
export async function queryValues(q, { from, to }, signal) {
  const range = { start: String(from / 1000), end: String(to / 1000) };
  const get = (path, params) => apiCall(path, params, { signal, method: "GET" }).then((a) => a.data);
  let m;
  if ((m = /^label_names\(\s*(.*?)\s*\)$/s.exec(q))) {
    return get("/api/v1/labels", m[1] ? { ...range, "match[]": m[1] } : range);
  }
  if ((m = /^label_values\(\s*(?:(.+?)\s*,\s*)?([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$/s.exec(q))) {
    const params = m[1] ? { ...range, "match[]": m[1] } : range;
    return get(`/api/v1/label/${encodeURIComponent(m[2])}/values`, params);
  }
  if ((m = /^metrics\(\s*(.*?)\s*\)$/s.exec(q))) {
    const re = new RegExp(m[1]);
    return (await get("/api/v1/label/__name__/values", range)).filter((n) => re.test(n));
  }
  if ((m = /^query_result\(\s*(.+)\s*\)$/s.exec(q))) {
    const data = await apiCall("/api/v1/query", { query: m[1], time: String(to / 1000) }, { signal }).then(
      (a) => a.data,
    );
    if (data.resultType === "scalar" || data.resultType === "string") return [String(data.result[1])];
    return data.result.map(resultLine);
  }
  throw new Error(
    `the variable query "${q}" is not supported by bongsu yet (label_names, label_values, metrics and query_result are)`,
  );
}

/** Grafana's `regex` on option texts: keep matches, take the first group (or `value`/`text`). */
export function applyRegex(values, regex) {
  if (!regex) return values.map((v) => ({ text: v, value: v }));
  const m = /^\/(.*)\/([gimsuy]*)$/s.exec(regex);
  const re = m ? new RegExp(m[1], m[2].replace("g", "")) : new RegExp(regex);
  const out = [];
  const seen = new Set();
  for (const v of values) {
    const r = re.exec(v);
    if (!r) continue;
    const value = r.groups?.value ?? r[1] ?? r[0];
    const text = r.groups?.text ?? value;
    if (seen.has(value)) continue;
    seen.add(value);
    out.push({ text, value });
  }
  return out;
}

/** Grafana's variable `sort`: 1/2 alphabetical, 3/4 numerical, 5/6 case-insensitive. */
export function sortOptions(options, sort) {
  const num = (t) => {
    const m = /\d+/.exec(t);
    return m ? Number(m[0]) : -Infinity;
  };
  const cmp = {
    1: (a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0),
    3: (a, b) => num(a.text) - num(b.text),
    5: (a, b) => a.text.toLowerCase().localeCompare(b.text.toLowerCase()),
  };
  const base = cmp[sort] ?? cmp[sort - 1];
  if (!sort || !base) return options;
  const sorted = [...options].sort(base);
  return sort % 2 === 0 ? sorted.reverse() : sorted;
}

/**
 * The options of variable `v` (with earlier variables' values in `vars`): [{ text, value }].
 * Throws with a message for the page on failure.
 */
export async function loadOptions(v, vars, range, signal) {
  switch (v.type) {
    case "query": {
      const q = interpolate(queryText(v), vars).trim();
      const values = await queryValues(q, range, signal);
      return sortOptions(applyRegex(values.map(String), v.regex), v.sort);
    }
    case "custom":
      return customOptions(v.query ?? "");
    case "interval":
      return customOptions(v.query ?? "").filter((o) => o.value !== "auto");
    case "constant":
    case "textbox":
      return [{ text: String(v.query ?? ""), value: String(v.query ?? "") }];
    case "datasource":
      return [{ text: "bongsu", value: "bongsu" }];
    default:
      return [];
  }
}

/** Whether this UI handles variables of `v`'s type. */
export function supported(v) {
  return KINDS.has(v.type);
}

/**
 * The selected values of `v` among `options`: the URL's `var-<name>` values, else the JSON's
 * `current`, else the first option (All when `includeAll`); values no longer offered fall back
 * the same way. Returns an array ([ALL] for All).
 */
export function selected(v, options, fromUrl) {
  const offered = new Set(options.map((o) => o.value));
  const valid = (vals) =>
    vals.length > 0 && vals.every((x) => x === ALL || offered.has(x) || v.type === "textbox");
  if (fromUrl.length && valid(fromUrl)) return v.multi ? fromUrl : fromUrl.slice(0, 1);
  const cur = v.current?.value;
  const curVals = (Array.isArray(cur) ? cur : cur === undefined || cur === null ? [] : [cur]).map((x) =>
    x === "$__all" || x === "All" ? ALL : String(x),
  );
  if (valid(curVals)) return v.multi ? curVals : curVals.slice(0, 1);
  if (v.includeAll) return [ALL];
  return options.length ? [options[0].value] : [];
}

/** What `interpolate` needs of `v` with `values` chosen among `options`. */
export function binding(v, values, options) {
  const isAll = values.includes(ALL);
  const chosen = isAll ? options.map((o) => o.value) : values;
  const text = isAll ? ["All"] : chosen.map((x) => options.find((o) => o.value === x)?.text ?? x);
  return {
    values: chosen,
    text,
    multi: Boolean(v.multi || v.includeAll),
    isAll,
    allValue: isAll && v.allValue ? v.allValue : undefined,
  };
}
