// Target health (/targets) and service discovery (/service-discovery), both from
// /api/v1/targets: the scrape pools' targets with their health, and the labels each target
// was discovered with beside those it kept after relabelling.

import { h } from "../dom.js";
import { ago, dataPage, filterBox, labelBadges, seconds, stateBadge, table } from "./common.js";

function byPool(targets) {
  const pools = new Map();
  for (const t of targets) {
    const pool = t.scrapePool ?? t.discoveredLabels?.job ?? "";
    if (!pools.has(pool)) pools.set(pool, []);
    pools.get(pool).push(t);
  }
  return [...pools.entries()].sort(([a], [b]) => a.localeCompare(b));
}

export const targetsPage = dataPage("Target health", ["/api/v1/targets?state=active"], (data) => {
  const pools = byPool(data.activeTargets ?? []);
  if (pools.length === 0) return h("p", { class: "muted" }, "No scrape targets are configured.");
  const list = h(
    "div",
    {},
    pools.map(([pool, targets]) => {
      const up = targets.filter((t) => t.health === "up").length;
      return h(
        "details",
        { class: "pool", open: true },
        h("summary", {}, h("strong", {}, pool), ` (${up}/${targets.length} up)`),
        table(
          ["Endpoint", "Labels", "Last scrape", "State", "Error"],
          targets.map((t) => [
            h("a", { href: t.scrapeUrl }, t.scrapeUrl),
            labelBadges(t.labels),
            h(
              "span",
              {},
              ago(t.lastScrape),
              h("br"),
              h("span", { class: "muted" }, seconds(t.lastScrapeDuration ?? 0)),
            ),
            stateBadge(t.health),
            t.lastError ? h("span", { class: "error-text" }, t.lastError) : "",
          ]),
          `Targets of ${pool}`,
        ),
      );
    }),
  );
  return [filterBox(list, "tbody tr", "Filter by endpoint or labels"), list];
});

export const serviceDiscoveryPage = dataPage("Service discovery", ["/api/v1/targets"], (data) => {
  const all = [
    ...(data.activeTargets ?? []),
    ...(data.droppedTargets ?? []).map((t) => ({ ...t, dropped: true })),
  ];
  const pools = byPool(all);
  if (pools.length === 0) return h("p", { class: "muted" }, "No targets were discovered.");
  return pools.map(([pool, targets]) => {
    const active = targets.filter((t) => !t.dropped).length;
    const dropped = data.droppedTargetCounts?.[pool] ?? targets.length - active;
    return h(
      "details",
      { class: "pool", open: true },
      h("summary", {}, h("strong", {}, pool), ` (${active} active / ${active + dropped} discovered)`),
      table(
        ["Discovered labels", "Target labels"],
        targets.map((t) => [
          labelBadges(t.discoveredLabels),
          t.dropped ? h("span", { class: "muted" }, "Dropped") : labelBadges(t.labels),
        ]),
        `Discovered targets of ${pool}`,
      ),
    );
  });
});
