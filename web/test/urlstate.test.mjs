// The query page's URL state against Prometheus 3's encoding: links written by either UI open
// the same panels in the other. Run with `npm test` (node --test), no browser needed.

import assert from "node:assert/strict";
import { test } from "node:test";

import { formatDuration, formatTime, parseDuration, parseTime } from "../src/time.js";
import { decodePanels, effectiveStep, encodePanels, newPanel } from "../src/urlstate.js";

test("durations as Prometheus writes them", () => {
  for (const [text, ms] of [
    ["1h", 3600e3],
    ["1h30m", 5400e3],
    ["2w", 14 * 86400e3],
    ["1y2d", 367 * 86400e3],
    ["500ms", 500],
    ["1m1s1ms", 61001],
  ]) {
    assert.equal(parseDuration(text), ms, text);
    assert.equal(formatDuration(ms), text, text);
  }
  for (const bad of ["", "1", "h", "1.5h", "-1h", "1m1h"]) assert.equal(parseDuration(bad), null, bad);
});

test("times in UTC, in the URL's format", () => {
  const ms = Date.UTC(2024, 0, 2, 15, 4, 5);
  assert.equal(formatTime(ms), "2024-01-02 15:04:05");
  assert.equal(parseTime("2024-01-02 15:04:05"), ms);
  assert.equal(parseTime("2024-01-02T15:04:05Z"), ms);
  assert.equal(parseTime("2024-01-02 15:04"), ms - 5000);
  assert.equal(parseTime("yesterday"), null);
});

test("a Prometheus 3 link decodes to its panels and encodes back the same", () => {
  // URLSearchParams escapes as Prometheus 3 (which encodes with it too): parentheses included.
  const search =
    "g0.expr=rate%28up%5B5m%5D%29&g0.show_tree=0&g0.tab=graph&g0.end_input=2024-01-02+15%3A04%3A05" +
    "&g0.moment_input=2024-01-02+15%3A04%3A05&g0.range_input=6h&g0.res_type=custom&g0.res_step=30" +
    "&g0.display_mode=stacked&g0.show_exemplars=0" +
    "&g1.expr=up&g1.show_tree=0&g1.tab=table&g1.range_input=1h&g1.res_type=auto&g1.res_density=high" +
    "&g1.display_mode=lines&g1.show_exemplars=0";
  const panels = decodePanels(`?${search}`);
  assert.equal(panels.length, 2);
  assert.deepEqual(panels[0], {
    ...newPanel("rate(up[5m])"),
    tab: "graph",
    range: 6 * 3600e3,
    endTime: Date.UTC(2024, 0, 2, 15, 4, 5),
    resolution: { type: "custom", step: 30e3 },
    displayMode: "stacked",
  });
  assert.deepEqual(panels[1], { ...newPanel("up"), resolution: { type: "auto", density: "high" } });
  assert.equal(encodePanels(panels), search);
});

test("the old UI's parameters: numeric tabs, step_input, stacked", () => {
  const [p] = decodePanels("?g0.expr=up&g0.tab=0&g0.step_input=15&g0.stacked=1");
  assert.equal(p.tab, "graph");
  assert.deepEqual(p.resolution, { type: "custom", step: 15e3 });
  assert.equal(p.displayMode, "stacked");
  assert.equal(decodePanels("?g0.expr=up&g0.tab=1")[0].tab, "table");
});

test("no panels in the URL: one empty table panel", () => {
  assert.deepEqual(decodePanels(""), [newPanel()]);
  // Panels are read up to the first index without an expression.
  assert.equal(decodePanels("?g0.expr=a&g2.expr=c").length, 1);
});

test("automatic steps follow the density, at least a second", () => {
  assert.equal(effectiveStep({ ...newPanel(), range: 3600e3 }), 14e3);
  assert.equal(effectiveStep({ ...newPanel(), range: 60e3 }), 1e3);
  assert.equal(
    effectiveStep({ ...newPanel(), range: 3600e3, resolution: { type: "auto", density: "low" } }),
    36e3,
  );
  assert.equal(effectiveStep({ ...newPanel(), resolution: { type: "fixed", step: 5e3 } }), 5e3);
});
