// Logs links of alerts and graph series, over the cases the server's copy of these rules
// (crates/model/src/logs_link.rs) runs too, so the two agree.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { alertLogsUrl, isLogsUrl, logSourceSelector, logsUrl, seriesLogsUrl } from "../src/logslink.js";

const cases = JSON.parse(readFileSync(new URL("../../tests/data/logs_links.json", import.meta.url), "utf8"));

for (const c of cases.alerts) {
  test(`alert: ${c.name}`, () => {
    const resolved = c.resolvedAt !== null;
    const alert = {
      labels: c.labels,
      startsAt: c.startsAt,
      endsAt: c.resolvedAt,
      generatorURL: c.generatorURL,
    };
    assert.equal(alertLogsUrl(alert, resolved), c.want);
  });
}

for (const c of cases.series) {
  test(`series: ${c.name}`, () => {
    assert.equal(seriesLogsUrl(c.metric, c.start, c.end), c.want);
  });
}

test("alert times as the Alertmanager API writes them (RFC 3339)", () => {
  const alert = {
    labels: { job: "node" },
    startsAt: "2023-11-14T22:13:20.000Z",
    endsAt: "2023-11-14T22:23:20Z",
    generatorURL: "",
  };
  const firing = new URLSearchParams(alertLogsUrl(alert).split("?")[1]);
  assert.equal(firing.get("from"), String(Date.UTC(2023, 10, 14, 22, 3, 20)));
  assert.equal(firing.get("to"), null);
  const resolved = new URLSearchParams(alertLogsUrl(alert, true).split("?")[1]);
  assert.equal(resolved.get("to"), String(Date.UTC(2023, 10, 14, 22, 28, 20)));
});

test("the query reads back as the selector, escapes and all", () => {
  const labels = { instance: 'x"\\y', job: "a b" };
  const query = new URLSearchParams(alertLogsUrl({ labels, startsAt: 0 }).split("?")[1]).get("query");
  assert.equal(query, '{job="a b", instance="x\\"\\\\y"}');
  assert.equal(query, logSourceSelector(labels));
});

test("bad times leave the range out rather than writing NaN", () => {
  assert.equal(alertLogsUrl({ labels: {}, startsAt: "not a time" }), "/logs");
  assert.equal(logsUrl(null, undefined, undefined), "/logs");
  assert.equal(isLogsUrl(undefined), false);
});
