// Links into the logs explorer (/logs?query=…&from=…&to=…, times in Unix milliseconds): the
// logs of an alert (its generatorURL when that already opens /logs, else the streams sharing
// its job, instance and service around its time) and the logs of a graph's series. The server
// builds the same links for notification templates (crates/model/src/logs_link.rs); the two
// must agree.

/** Labels naming where an alert's or a series' logs come from, in the selector's order. */
export const LOG_SOURCE_LABELS = ["job", "instance", "service"];

/** How long before an alert starts its logs link begins. */
export const LOGS_BEFORE_ALERT_MS = 10 * 60 * 1000;

/** How long after a resolved alert ends its logs link still shows. */
export const LOGS_AFTER_RESOLVED_MS = 5 * 60 * 1000;

/** `/logs?query=…&from=…&to=…`, each parameter only when given (not null/undefined). */
export function logsUrl(query, fromMs, toMs) {
  const params = new URLSearchParams();
  if (query != null) params.set("query", query);
  if (fromMs != null) params.set("from", String(Math.round(fromMs)));
  if (toMs != null) params.set("to", String(Math.round(toMs)));
  const text = params.toString();
  return text === "" ? "/logs" : `/logs?${text}`;
}

/**
 * `{job="…", instance="…", service="…"}` with those of the labels `labels` has (values quoted
 * as LogQL strings: JSON's escapes, which LogQL reads the same); null when it has none.
 */
export function logSourceSelector(labels) {
  const pairs = LOG_SOURCE_LABELS.filter((name) => typeof labels?.[name] === "string").map(
    (name) => `${name}=${JSON.stringify(labels[name])}`,
  );
  return pairs.length === 0 ? null : `{${pairs.join(", ")}}`;
}

/** Whether `url` (absolute on any host, or a path) already opens the logs explorer. */
export function isLogsUrl(url) {
  if (!url) return false;
  try {
    return new URL(url, "http://base.invalid/").pathname.endsWith("/logs");
  } catch {
    return false;
  }
}

/**
 * The logs link of an alert: `{ labels, startsAt, endsAt, generatorURL }`, times as RFC 3339
 * strings or Unix milliseconds. `resolved` says whether `endsAt` is when it resolved (a firing
 * alert's endsAt is only how long it stays valid, so its link is open-ended).
 */
export function alertLogsUrl({ labels, startsAt, endsAt, generatorURL }, resolved = false) {
  if (isLogsUrl(generatorURL)) return generatorURL;
  const ms = (t) => (typeof t === "number" ? t : Date.parse(t));
  const start = ms(startsAt);
  const end = resolved ? ms(endsAt) : NaN;
  return logsUrl(
    logSourceSelector(labels),
    Number.isFinite(start) ? start - LOGS_BEFORE_ALERT_MS : null,
    Number.isFinite(end) ? end + LOGS_AFTER_RESOLVED_MS : null,
  );
}

/** The logs of a graph's series over the graph's range (ms); null when no label names a source. */
export function seriesLogsUrl(metric, startMs, endMs) {
  const selector = logSourceSelector(metric);
  return selector === null ? null : logsUrl(selector, startMs, endMs);
}
