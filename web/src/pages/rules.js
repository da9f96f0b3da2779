// Rule health (/rules) and alerts (/alerts), both from /api/v1/rules: every group's rules with
// their health and evaluation, and the alerting rules with their active alerts.

import { h } from "../dom.js";
import { alertLogsUrl } from "../logslink.js";
import { formatDuration } from "../time.js";
import { ago, dataPage, filterBox, labelBadges, logsButton, seconds, stateBadge, table } from "./common.js";

function groupHeader(g) {
  return h(
    "summary",
    {},
    h("strong", {}, g.name),
    h(
      "span",
      { class: "muted" },
      ` · ${g.file} · every ${g.interval}s · last evaluation `,
      ago(g.lastEvaluation),
      ` · took ${seconds(g.evaluationTime ?? 0)}`,
    ),
  );
}

export const rulesPage = dataPage("Rule health", ["/api/v1/rules"], (data) => {
  const groups = data.groups ?? [];
  if (groups.length === 0) return h("p", { class: "muted" }, "No rule groups are configured.");
  return groups.map((g) =>
    h(
      "details",
      { class: "pool", open: true },
      groupHeader(g),
      table(
        ["Rule", "State", "Error", "Last evaluation", "Evaluation time"],
        g.rules.map((r) => [
          h(
            "div",
            {},
            h("div", {}, h("strong", {}, r.type === "alerting" ? "alert: " : "record: "), r.name),
            h("code", {}, r.query),
          ),
          stateBadge(r.health),
          r.lastError ? h("span", { class: "error-text" }, r.lastError) : "",
          ago(r.lastEvaluation),
          seconds(r.evaluationTime ?? 0),
        ]),
        `Rules of ${g.name}`,
      ),
    ),
  );
});

/** The rule as written in its rule file (what Prometheus' alerts page shows). */
function ruleText(r) {
  const map = (name, m) =>
    Object.keys(m ?? {}).length
      ? [`${name}:`, ...Object.entries(m).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`)]
      : [];
  return [
    `alert: ${r.name}`,
    `expr: ${r.query}`,
    ...(r.duration ? [`for: ${formatDuration(r.duration * 1000)}`] : []),
    ...(r.keepFiringFor ? [`keep_firing_for: ${formatDuration(r.keepFiringFor * 1000)}`] : []),
    ...map("labels", r.labels),
    ...map("annotations", r.annotations),
  ].join("\n");
}

function alertingRule(r) {
  const alerts = r.alerts ?? [];
  return h(
    "details",
    { class: `alert-rule alert-${r.state}` },
    h("summary", {}, stateBadge(r.state), " ", h("strong", {}, r.name), ` (${alerts.length} active)`),
    h(
      "div",
      { class: "alert-body" },
      h("code", { class: "block" }, ruleText(r)),
      alerts.length === 0
        ? ""
        : table(
            ["Logs", "Alert labels", "State", "Active since", "Value"],
            // An active alert started at its activeAt (the API has no startsAt). Prometheus'
            // API gives it no generatorURL; one the rules engine adds (a LogQL rule's logs
            // link) is used as it is.
            alerts.map((a) => [
              logsButton(
                alertLogsUrl({ labels: a.labels, startsAt: a.activeAt, generatorURL: a.generatorURL }),
                a.labels,
              ),
              labelBadges(a.labels),
              stateBadge(a.state),
              ago(a.activeAt),
              a.value,
            ]),
            `Active alerts of ${r.name}`,
          ),
    ),
  );
}

export const alertsPage = dataPage("Alerts", ["/api/v1/rules?type=alert"], (data) => {
  const groups = (data.groups ?? []).filter((g) => g.rules.length > 0);
  if (groups.length === 0) return h("p", { class: "muted" }, "No alerting rules are configured.");
  const count = (state) => groups.flatMap((g) => g.rules).filter((r) => r.state === state).length;
  const list = h(
    "div",
    {},
    groups.map((g) =>
      h(
        "section",
        { class: "pool" },
        h("h2", {}, g.name, h("span", { class: "muted" }, ` · ${g.file}`)),
        g.rules.map(alertingRule),
      ),
    ),
  );
  return [
    h(
      "p",
      { class: "summary-line" },
      stateBadge("firing"),
      ` ${count("firing")} `,
      stateBadge("pending"),
      ` ${count("pending")} `,
      stateBadge("inactive"),
      ` ${count("inactive")}`,
    ),
    filterBox(list, "details.alert-rule", "Filter by rule name or labels"),
    list,
  ];
});
