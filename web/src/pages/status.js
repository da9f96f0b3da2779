// The status pages read straight from the status API: runtime and build information,
// command-line flags, the configuration, the TSDB's head statistics and the Alertmanagers
// alerts are sent to.

import { h } from "../dom.js";
import { dataPage, filterBox, kvTable, table } from "./common.js";

export const statusPage = dataPage(
  "Runtime & build information",
  ["/api/v1/status/runtimeinfo", "/api/v1/status/buildinfo"],
  (runtime, build) => [
    h("h2", {}, "Runtime information"),
    kvTable(
      [
        ["Start time", runtime.startTime],
        ["Working directory", runtime.CWD],
        ["Hostname", runtime.hostname],
        ["Configuration reload", runtime.reloadConfigSuccess ? "Successful" : "Unsuccessful"],
        ["Last successful configuration reload", runtime.lastConfigTime],
        ["WAL corruptions", String(runtime.corruptionCount)],
        ["Storage retention", runtime.storageRetention],
      ].filter(([, v]) => v !== undefined),
      "Runtime information",
    ),
    h("h2", {}, "Build information"),
    kvTable(
      Object.entries(build).map(([k, v]) => [k, String(v)]),
      "Build information",
    ),
  ],
);

export const flagsPage = dataPage("Command-line flags", ["/api/v1/status/flags"], (flags) => {
  const t = table(
    ["Flag", "Value"],
    Object.entries(flags).map(([k, v]) => [`--${k}`, v]),
    "Command-line flags",
  );
  return [filterBox(t, "tbody tr", "Filter by flag name or value"), t];
});

export const configPage = dataPage("Configuration", ["/api/v1/status/config"], (config) =>
  h("pre", { class: "config", tabindex: "0", "aria-label": "Configuration YAML" }, config.yaml),
);

const TOP = [
  ["seriesCountByMetricName", "Top 10 series count by metric names", "Name", "Count"],
  ["labelValueCountByLabelName", "Top 10 label names with value count", "Name", "Count"],
  ["memoryInBytesByLabelName", "Top 10 label names with high memory usage", "Name", "Bytes"],
  ["seriesCountByLabelValuePair", "Top 10 series count by label value pairs", "Name", "Count"],
];

export const tsdbStatusPage = dataPage("TSDB status", ["/api/v1/status/tsdb"], (tsdb) => {
  const head = tsdb.headStats;
  const time = (ms) => (Number.isFinite(ms) && Math.abs(ms) < 1e15 ? new Date(ms).toISOString() : "no data");
  return [
    h("h2", {}, "Head statistics"),
    kvTable(
      [
        ["Number of series", String(head.numSeries)],
        ["Number of chunks", String(head.chunkCount)],
        ["Number of label pairs", String(head.numLabelPairs)],
        ["Current min time", time(head.minTime)],
        ["Current max time", time(head.maxTime)],
      ],
      "Head statistics",
    ),
    TOP.map(([key, title, ...headers]) => [
      h("h2", {}, title),
      table(
        headers,
        (tsdb[key] ?? []).map((e) => [e.name, String(e.value)]),
        title,
      ),
    ]),
  ];
});

export const alertmanagerDiscoveryPage = dataPage(
  "Alertmanager discovery",
  ["/api/v1/alertmanagers"],
  (am) => {
    const list = (title, items) => [
      h("h2", {}, title),
      items.length === 0
        ? h("p", { class: "muted" }, "None.")
        : table(
            ["Endpoint"],
            items.map((a) => [a.url]),
            title,
          ),
    ];
    return [
      list("Active Alertmanagers", am.activeAlertmanagers ?? []),
      list("Dropped Alertmanagers", am.droppedAlertmanagers ?? []),
    ];
  },
);
