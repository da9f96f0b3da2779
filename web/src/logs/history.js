// The log queries run from this browser, newest first, in localStorage (the server keeps no
// UI state).

const KEY = "bongsu.logs.history";
/** Queries remembered. */
export const HISTORY_MAX = 20;

/** The remembered queries, newest first. */
export function loadHistory(storage = localStorage) {
  try {
    const list = JSON.parse(storage.getItem(KEY) ?? "[]");
    return Array.isArray(list) ? list.filter((q) => typeof q === "string").slice(0, HISTORY_MAX) : [];
  } catch {
    return [];
  }
}

/** Remembers `query` as the newest (once), forgetting the oldest beyond HISTORY_MAX. */
export function rememberQuery(query, storage = localStorage) {
  const q = query.trim();
  if (!q) return loadHistory(storage);
  const list = [q, ...loadHistory(storage).filter((x) => x !== q)].slice(0, HISTORY_MAX);
  storage.setItem(KEY, JSON.stringify(list));
  return list;
}
