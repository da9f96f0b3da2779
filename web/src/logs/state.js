// The log explorer's URL state (/logs?query=…&from=…&to=…, the contract links to the page
// write), plus the page's own parameters: `limit`, `direction` and `live`. Times are Unix
// milliseconds or Grafana's relative `now`, `now-15m` (units s m h d w); relative ones stay
// relative in the URL, so a shared link shows the same window before the moment it is opened.

export const DEFAULT_FROM = "now-1h";
export const DEFAULT_TO = "now";
export const DEFAULT_LIMIT = 1000;
/** The line limits offered; the server refuses more than its `max_entries_limit_per_query`. */
export const LIMITS = [100, 500, 1000, 5000];

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `now`, `now-15m`, Unix milliseconds, or an ISO date → Unix milliseconds; null if none. */
export function resolveTime(text, now) {
  const t = String(text ?? "").trim();
  if (t === "now") return now;
  const rel = /^now-(\d+)([smhdw])$/.exec(t);
  if (rel) return now - Number(rel[1]) * UNIT_MS[rel[2]];
  if (/^\d+$/.test(t)) return Number(t);
  if (/^\d{4}-\d{2}-\d{2}/.test(t)) {
    const ms = Date.parse(t.includes("T") || t.length === 10 ? t : `${t.replace(" ", "T")}Z`);
    return Number.isNaN(ms) ? null : ms;
  }
  return null;
}

/** The page's state from a query string (`location.search`). */
export function decodeState(search) {
  const p = new URLSearchParams(search);
  const limit = Number(p.get("limit"));
  return {
    query: p.get("query") ?? "",
    from: p.get("from") || DEFAULT_FROM,
    to: p.get("to") || DEFAULT_TO,
    limit: Number.isInteger(limit) && limit > 0 ? limit : DEFAULT_LIMIT,
    direction: p.get("direction") === "forward" ? "forward" : "backward",
    live: p.get("live") === "1",
  };
}

/** The query string (without `?`) of `state`: the contract's three first, defaults left out. */
export function encodeState(state) {
  const p = new URLSearchParams();
  if (state.query) p.set("query", state.query);
  p.set("from", state.from);
  p.set("to", state.to);
  if (state.limit !== DEFAULT_LIMIT) p.set("limit", String(state.limit));
  if (state.direction !== "backward") p.set("direction", state.direction);
  if (state.live) p.set("live", "1");
  return p.toString();
}

/** A metric query (`rate(…)`, `sum by …`) rather than a log query, which starts with `{`. */
export function isMetricQuery(query) {
  const q = query.trim();
  return q !== "" && !q.startsWith("{");
}
