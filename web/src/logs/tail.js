// Live tailing over Loki's `/loki/api/v1/tail` WebSocket: each message's streams handed on as
// entries; the page keeps them in a bounded buffer.

/**
 * Opens the tail of `query` from `startMs`; `onEntries(entries)` per message (entries as
 * lines.js's), `onClosed(reason)` when the server closes it or it fails. Returns `stop()`.
 */
export function startTail(query, limit, startMs, { onEntries, onClosed }) {
  const params = new URLSearchParams({ query, limit: String(limit), start: `${startMs}000000` });
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/loki/api/v1/tail?${params}`);
  let stopped = false;
  ws.onmessage = (m) => {
    let msg;
    try {
      msg = JSON.parse(m.data);
    } catch {
      return;
    }
    const entries = [];
    for (const s of msg.streams ?? []) {
      for (const v of s.values ?? []) {
        entries.push({
          ts: v[0],
          ms: Number(v[0].slice(0, -6)),
          line: v[1],
          labels: s.stream,
          meta: v[2] ?? null,
        });
      }
    }
    if (entries.length > 0) onEntries(entries);
  };
  ws.onclose = (e) => {
    if (!stopped) onClosed(e.reason || `the connection closed (code ${e.code})`);
  };
  return () => {
    stopped = true;
    ws.close();
  };
}
