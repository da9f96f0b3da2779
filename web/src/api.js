// Calls to bongsu's Prometheus-compatible HTTP API, answering its envelope:
// { status, data, warnings, infos } or { status: "error", errorType, error }.

import { parseColumns } from "./matrixjson.js";

export class ApiError extends Error {
  constructor(message, errorType) {
    super(message);
    this.errorType = errorType;
  }
}

/**
 * Calls `path` (e.g. "/api/v1/query") with `params`, POSTed as a form so long expressions do
 * not meet URL length limits. Returns { data, warnings, infos }; throws ApiError. With
 * `columns`, a matrix's series carry their samples as typed arrays (`parseColumns`).
 */
export async function apiCall(path, params = {}, { signal, method = "POST", columns = false } = {}) {
  const body = new URLSearchParams(params);
  const init = { method, signal, headers: { Accept: "application/json" } };
  let url = path;
  if (method === "POST") init.body = body;
  else if ([...body].length > 0) url += `?${body}`;
  const resp = await fetch(url, init);
  let json;
  try {
    json = columns ? parseColumns(await resp.text()) : await resp.json();
  } catch {
    throw new ApiError(`${resp.status} ${resp.statusText}: the answer is not JSON`, "client_error");
  }
  if (json.status !== "success") {
    throw new ApiError(json.error ?? `${resp.status} ${resp.statusText}`, json.errorType);
  }
  return { data: json.data, warnings: json.warnings ?? [], infos: json.infos ?? [] };
}

/**
 * Calls the Alertmanager's v2 API (plain JSON, errors as a JSON string or text): returns the
 * parsed answer (null when empty); throws ApiError with the server's message.
 */
export async function amCall(path, { method = "GET", body, signal } = {}) {
  const init = { method, signal, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const resp = await fetch(path, init);
  const text = await resp.text();
  let json = null;
  try {
    json = text === "" ? null : JSON.parse(text);
  } catch {
    json = text;
  }
  if (!resp.ok) {
    const msg = typeof json === "string" ? json : (json?.message ?? text);
    throw new ApiError(`${resp.status} ${resp.statusText}${msg ? `: ${msg}` : ""}`, "alertmanager");
  }
  return json;
}
