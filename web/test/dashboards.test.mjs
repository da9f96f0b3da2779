// The dashboards' Grafana rules without a browser: variable interpolation as Grafana's
// Prometheus data source expands it, time ranges and intervals, variable options, units,
// the layout of rows, and the shipped dashboards themselves (every panel and variable of a
// kind bongsu draws, every query left with no variable unexpanded).

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";

import { ALL, builtins, interpolate, legendText } from "../src/dashboards/interpolate.js";
import { placements, sections } from "../src/dashboards/layout.js";
import {
  autoInterval,
  intervalText,
  parseGrafanaTime,
  rateInterval,
  resolveRange,
  roundInterval,
  stepSeconds,
} from "../src/dashboards/timerange.js";
import { formatValue, reduce, thresholdColor } from "../src/dashboards/units.js";
import {
  applyRegex,
  binding,
  customOptions,
  selected,
  sortOptions,
  supported,
} from "../src/dashboards/variables.js";

const one = (v) => ({ values: [v], multi: false });
const multi = (...values) => ({ values, multi: true });

test("variable references expand as Grafana's Prometheus data source does", () => {
  const vars = {
    job: one("api"),
    inst: multi("a:1", "b.2"),
    single: multi("x.y"),
    path: one("C:\\dir"),
    all: { values: ["a", "b"], multi: true, isAll: true, allValue: ".*" },
  };
  for (const [text, want] of [
    ['up{job="$job"}', 'up{job="api"}'],
    ['up{job="${job}"}', 'up{job="api"}'],
    ['up{job="[[job]]"}', 'up{job="api"}'],
    ['up{instance=~"$inst"}', 'up{instance=~"(a:1|b\\\\.2)"}'],
    ['up{instance=~"$single"}', 'up{instance=~"x\\\\.y"}'],
    ['up{instance=~"${inst:regex}"}', 'up{instance=~"(a:1|b\\.2)"}'],
    ['up{instance=~"${inst:pipe}"}', 'up{instance=~"a:1|b.2"}'],
    ["${inst:csv}", "a:1,b.2"],
    ['up{instance=~"$all"}', 'up{instance=~".*"}'],
    ['x{p="$path"}', 'x{p="C:\\\\dir"}'],
    ['up{job="$unknown"}', 'up{job="$unknown"}'],
    ["$jobs", "$jobs"],
  ]) {
    assert.equal(interpolate(text, vars), want, text);
  }
  assert.throws(() => interpolate("${job:nope}", vars), /not supported by bongsu yet/);
});

test("built-in variables of a panel", () => {
  const b = builtins({ from: 0, to: 3_600_000, intervalMs: 15_000, rateIntervalMs: 60_000, intervalText });
  assert.equal(
    interpolate("rate(x[$__rate_interval]) $__interval $__interval_ms $__range $__range_s", b),
    "rate(x[1m]) 15s 15000 3600s 3600",
  );
  assert.equal(legendText("{{ job }} on {{instance}}", { job: "a", instance: "b" }), "a on b");
});

test("Grafana times, relative and absolute", () => {
  const now = Date.UTC(2024, 4, 15, 13, 45, 30);
  for (const [text, want, up] of [
    ["now", now],
    ["now-6h", now - 6 * 3600e3],
    ["now-1d/d", Date.UTC(2024, 4, 14)],
    ["now/d", Date.UTC(2024, 4, 16) - 1, true],
    ["now-1M", Date.UTC(2024, 3, 15, 13, 45, 30)],
    ["1700000000000", 1_700_000_000_000],
    ["2024-01-02T03:04:05Z", Date.UTC(2024, 0, 2, 3, 4, 5)],
    ["2024-01-02 03:04:05", Date.UTC(2024, 0, 2, 3, 4, 5)],
  ]) {
    assert.equal(parseGrafanaTime(text, now, up), want, text);
  }
  for (const bad of ["now-6x", "yesterday", "now-"]) assert.equal(parseGrafanaTime(bad, now), null, bad);
  assert.ok(resolveRange("now", "now-1h", now) instanceof Error);
});

test("intervals: rounding, $__interval, $__rate_interval and the step", () => {
  assert.equal(roundInterval(1_000), 1_000);
  assert.equal(roundInterval(40_000), 30_000);
  assert.equal(roundInterval(100_000), 120_000);
  // An hour over 1,000 pixels: 3.6s, rounded to 5s, but not under the 15s scrape interval.
  assert.equal(autoInterval(3_600_000, 1000, 15_000), 15_000);
  assert.equal(autoInterval(24 * 3_600_000, 1000, 15_000), 60_000);
  // Grafana's rule: max($__interval + scrape, 4 × scrape).
  assert.equal(rateInterval(15_000, 15_000), 60_000);
  assert.equal(rateInterval(300_000, 15_000), 315_000);
  // Never more than 11,000 points per series.
  assert.equal(stepSeconds(30 * 86_400_000, 1000), Math.ceil((30 * 86400) / 11000));
  assert.equal(intervalText(90_000), "90s");
  assert.equal(intervalText(120_000), "2m");
});

test("variable options: custom lists, regex, sort, and the current value", () => {
  assert.deepEqual(customOptions("a, b\\,c ,Prod : prod"), [
    { text: "a", value: "a" },
    { text: "b,c", value: "b,c" },
    { text: "Prod", value: "prod" },
  ]);
  assert.deepEqual(
    applyRegex(['up{instance="h1:9100"} 1 1', 'up{instance="h2:9100"} 1 1'], '/instance="([^"]+)"/'),
    [
      { text: "h1:9100", value: "h1:9100" },
      { text: "h2:9100", value: "h2:9100" },
    ],
  );
  const opts = ["b10", "a2", "C1"].map((t) => ({ text: t, value: t }));
  assert.deepEqual(
    sortOptions(opts, 3).map((o) => o.text),
    ["C1", "a2", "b10"],
  );
  assert.deepEqual(
    sortOptions(opts, 2).map((o) => o.text),
    ["b10", "a2", "C1"],
  );
  const v = { name: "i", type: "query", multi: true, includeAll: true };
  assert.deepEqual(selected(v, opts, []), [ALL]);
  assert.deepEqual(selected(v, opts, ["a2", "C1"]), ["a2", "C1"]);
  assert.deepEqual(selected(v, opts, ["gone"]), [ALL]);
  assert.deepEqual(selected({ type: "query" }, opts, []), ["b10"]);
  assert.deepEqual(binding(v, [ALL], opts).values, ["b10", "a2", "C1"]);
  assert.equal(supported({ type: "adhoc" }), false);
});

test("units, thresholds and reductions", () => {
  for (const [v, unit, want, decimals] of [
    [1536, "bytes", "1.5 KiB"],
    [0.25, "percentunit", "25%"],
    [0.0042, "s", "4.2 ms"],
    [125, "s", "2.08 min"],
    [1234567, "short", "1.23 M"],
    [12.5, "reqps", "12.5 req/s"],
    [3.14159, "none", "3.14", 2],
    [Number.NaN, "s", "NaN"],
  ]) {
    assert.equal(formatValue(v, unit, decimals), want, `${v} ${unit}`);
  }
  const th = {
    mode: "absolute",
    steps: [
      { color: "green", value: null },
      { color: "red", value: 80 },
    ],
  };
  assert.equal(thresholdColor(10, th), "#73bf69");
  assert.equal(thresholdColor(80, th), "#f2495c");
  assert.equal(reduce([1, null, 3, null], "lastNotNull"), 3);
  assert.equal(reduce([1, null, 3], "last"), 3);
  assert.equal(reduce([1, 2, 3], "mean"), 2);
  assert.throws(() => reduce([1], "p99"), /not supported by bongsu yet/);
});

test("rows: collapsed ones carry their panels, open ones own the panels below", () => {
  const s = sections({
    panels: [
      { type: "stat", gridPos: { x: 0, y: 0, w: 12, h: 4 } },
      { type: "row", title: "Open", collapsed: false, gridPos: { x: 0, y: 4, w: 24, h: 1 } },
      { type: "timeseries", gridPos: { x: 12, y: 5, w: 12, h: 8 } },
      { type: "timeseries", gridPos: { x: 0, y: 5, w: 12, h: 8 } },
      {
        type: "row",
        title: "Shut",
        collapsed: true,
        gridPos: { x: 0, y: 13, w: 24, h: 1 },
        panels: [{ type: "table", gridPos: { x: 0, y: 14, w: 24, h: 6 } }],
      },
    ],
  });
  assert.deepEqual(
    s.map((x) => [x.row?.title ?? null, x.collapsed, x.panels.map((p) => p.gridPos.x)]),
    [
      [null, false, [0]],
      ["Open", false, [0, 12]],
      ["Shut", true, [0]],
    ],
  );
  assert.deepEqual(placements(s[1].panels), [
    { column: "1 / span 12", row: "1 / span 8" },
    { column: "13 / span 12", row: "1 / span 8" },
  ]);
  assert.throws(() => sections({ rows: [] }), /pre-Grafana 5/);
});

const DRAWN = new Set(["timeseries", "graph", "stat", "gauge", "bargauge", "table"]);

test("the shipped dashboards use only what bongsu draws, and expand fully", () => {
  const dir = new URL("../dashboards/", import.meta.url);
  const files = readdirSync(dir).filter((f) => f.endsWith(".json"));
  assert.ok(files.length >= 3);
  for (const f of files) {
    const d = JSON.parse(readFileSync(new URL(f, dir), "utf8"));
    assert.ok(d.uid && d.title, f);
    const vars = {};
    for (const v of d.templating.list) {
      assert.ok(supported(v), `${f}: variable ${v.name} of type ${v.type}`);
      vars[v.name] = multi("x");
    }
    const b = builtins({ from: 0, to: 1, intervalMs: 1, rateIntervalMs: 1, intervalText });
    for (const s of sections(d)) {
      for (const p of s.panels) {
        assert.ok(DRAWN.has(p.type), `${f}: panel ${p.title} of type ${p.type}`);
        assert.equal(p.datasource?.uid, "${datasource}", `${f}: ${p.title}'s data source`);
        for (const t of p.targets) {
          const expr = interpolate(t.expr, { ...vars, ...b });
          assert.ok(!expr.includes("$"), `${f}: ${p.title}: ${expr}`);
        }
      }
    }
  }
});
