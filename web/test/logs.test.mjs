// The log explorer's pure parts: its URL state (the /logs contract), where completion is in a
// LogQL query, click-to-filter, line fields, the histogram's buckets and the query history.

import assert from "node:assert/strict";
import { test } from "node:test";

import { loadHistory, rememberQuery, HISTORY_MAX } from "../src/logs/history.js";
import {
  histogramStep,
  levelBuckets,
  lineLevel,
  MAX_BARS,
  normalizeLevel,
  volumeQuery,
} from "../src/logs/levels.js";
import { flattenStreams, formatNs, splitLabels, varyingLabels } from "../src/logs/lines.js";
import {
  addFilter,
  completionContext,
  exactSelector,
  lineFields,
  parseJsonFields,
  parseLogfmt,
  queryParser,
  streamSelector,
} from "../src/logs/logql.js";
import { decodeState, encodeState, isMetricQuery, resolveTime } from "../src/logs/state.js";

test("URL state: the contract's parameters, defaults and the page's own", () => {
  const s = decodeState("?query=%7Bjob%3D%22nginx%22%7D+%7C%3D+%22error%22&from=1700000000000&to=now");
  assert.equal(s.query, '{job="nginx"} |= "error"');
  assert.equal(s.from, "1700000000000");
  assert.equal(s.to, "now");
  assert.equal(s.limit, 1000);
  assert.equal(s.direction, "backward");
  assert.equal(s.live, false);
  const empty = decodeState("");
  assert.deepEqual([empty.query, empty.from, empty.to], ["", "now-1h", "now"]);
  assert.equal(decodeState("?query=%7Ba%3D%22b%22%7D%20x").query, '{a="b"} x');
  for (const state of [
    s,
    { ...s, limit: 5000, direction: "forward", live: true },
    { ...empty, from: "now-2d", to: "now-15m" },
  ]) {
    assert.deepEqual(decodeState(`?${encodeState(state)}`), state);
  }
  assert.equal(encodeState(empty), "from=now-1h&to=now");
  assert.equal(decodeState("?limit=-3&direction=sideways&live=yes").limit, 1000);
});

test("times: Unix milliseconds and Grafana's relative forms", () => {
  const now = 1_700_000_000_000;
  assert.equal(resolveTime("now", now), now);
  assert.equal(resolveTime("now-15m", now), now - 900_000);
  assert.equal(resolveTime("now-2d", now), now - 2 * 86_400_000);
  assert.equal(resolveTime("now-1w", now), now - 604_800_000);
  assert.equal(resolveTime("now-30s", now), now - 30_000);
  assert.equal(resolveTime("1699990000000", now), 1_699_990_000_000);
  assert.equal(resolveTime("2023-11-14T22:13:20Z", now), now);
  assert.equal(resolveTime("now-3x", now), null);
  assert.equal(resolveTime("yesterday", now), null);
});

test("log queries and metric queries", () => {
  assert.equal(isMetricQuery('{job="a"} |= "x"'), false);
  assert.equal(isMetricQuery(' rate({job="a"}[5m])'), true);
  assert.equal(isMetricQuery('sum by (level) (count_over_time({job="a"}[1m]))'), true);
  assert.equal(isMetricQuery(""), false);
});

test("completion context", () => {
  const at = (text) => {
    const pos = text.indexOf("‸");
    return completionContext(text.replace("‸", ""), pos);
  };
  assert.deepEqual(at("{‸}"), { kind: "labelName", from: 1 });
  assert.deepEqual(at('{job="a", ho‸}'), { kind: "labelName", from: 10 });
  assert.deepEqual(at('{job="ng‸"}'), { kind: "labelValue", label: "job", from: 6 });
  assert.deepEqual(at('{job="a", level=~"er‸'), { kind: "labelValue", label: "level", from: 18 });
  assert.equal(at('{job="a‸\\"b"}').kind, "labelValue");
  assert.equal(at('{job="a"} |= "err‸"'), null);
  assert.equal(at('{job="a" ‸}'), null);
  assert.deepEqual(at('{job="a"} | ‸'), { kind: "pipe", from: 12, afterParser: false });
  assert.deepEqual(at('{job="a"} | js‸'), { kind: "pipe", from: 12, afterParser: false });
  assert.deepEqual(at('{job="a"} | logfmt | dur‸'), { kind: "pipe", from: 21, afterParser: true });
  assert.deepEqual(at('{job="a"} | json | ‸'), { kind: "pipe", from: 19, afterParser: true });
  // `|` inside a string is no stage.
  assert.equal(at('{job="a"} |= "a | ‸"'), null);
  assert.deepEqual(at("ra‸"), { kind: "function", from: 0 });
  assert.deepEqual(at("sum(‸"), { kind: "function", from: 4 });
  assert.deepEqual(at('sum by (lev‸) (count_over_time({a="b"}[1m]))'), { kind: "labelName", from: 8 });
  assert.deepEqual(at("sum by (job, lev‸"), { kind: "labelName", from: 13 });
  assert.deepEqual(at('sum(count_over_time({a="b"}[1m])) ‸'), { kind: "function", from: 34 });
});

test("stream selector and parser of a query", () => {
  assert.equal(streamSelector('{job="a}", x=~"{"} |= "}" | json'), '{job="a}", x=~"{"}');
  assert.equal(streamSelector('rate({job="a"} [5m])'), '{job="a"}');
  assert.equal(streamSelector("rate("), null);
  assert.equal(queryParser('{a="b"} |= "x" | logfmt | d > 1s'), "logfmt");
  assert.equal(queryParser('{a="b"} |= "| json"'), "json");
  assert.equal(queryParser('{a="b"} |= "x"'), null);
  assert.equal(exactSelector({ job: "a", path: 'C:\\x "y"' }), '{job="a", path="C:\\\\x \\"y\\""}');
});

test("click-to-filter adds a label filter, and a parser when the field needs one", () => {
  assert.equal(addFilter('{job="a"}', "host", "web-1"), '{job="a"} | host="web-1"');
  assert.equal(addFilter('{job="a"} ', "host", "web-1", { negate: true }), '{job="a"} | host!="web-1"');
  assert.equal(
    addFilter('{job="a"}', "user", "bob", { parser: "logfmt" }),
    '{job="a"} | logfmt | user="bob"',
  );
  assert.equal(
    addFilter('{job="a"} | json', "msg", 'say "hi"', { parser: "json" }),
    '{job="a"} | json | msg="say \\"hi\\""',
  );
});

test("fields of a line: logfmt, JSON (nested keys joined), the query's parser first", () => {
  assert.deepEqual(parseLogfmt('level=info msg="a \\"b\\" c" dur=1.5s empty= bare'), [
    ["level", "info"],
    ["msg", 'a "b" c'],
    ["dur", "1.5s"],
    ["empty", ""],
  ]);
  assert.deepEqual(
    parseJsonFields('{"level":"warn","user":{"id":7,"tags":["x"]},"ok":true,"n":null,"a-b":1}'),
    [
      ["level", "warn"],
      ["user_id", "7"],
      ["ok", "true"],
      ["a_b", "1"],
    ],
  );
  assert.equal(parseJsonFields("[1,2]"), null);
  assert.equal(parseJsonFields("not json"), null);
  assert.deepEqual(lineFields('{"a":"b"}', '{job="x"}'), { parser: "json", fields: [["a", "b"]] });
  assert.deepEqual(lineFields("a=b c=d", '{job="x"}').parser, "logfmt");
  assert.deepEqual(lineFields("plain text line", '{job="x"}'), { parser: null, fields: [] });
  // The query's parser wins over detection.
  assert.deepEqual(lineFields('{"a":"b"} k=v', '{job="x"} | logfmt'), {
    parser: "logfmt",
    fields: [["k", "v"]],
  });
});

test("histogram step, query and buckets by level", () => {
  for (const span of [60e3, 3600e3, 86400e3, 7 * 86400e3, 400 * 86400e3]) {
    const step = histogramStep(0, span);
    assert.ok(span / 1000 / step <= MAX_BARS, `${span}: ${step}`);
    assert.ok(span / 1000 / step > MAX_BARS / 10, `${span}: ${step}`);
  }
  assert.equal(
    volumeQuery('{job="a"} |= "x" ', 60),
    'sum by (level, detected_level) (count_over_time({job="a"} |= "x" [60s]))',
  );
  assert.equal(normalizeLevel("WARNING"), "warn");
  assert.equal(normalizeLevel("ERR"), "error");
  assert.equal(normalizeLevel("fatal"), "critical");
  assert.equal(normalizeLevel("verbose"), "unknown");
  assert.equal(normalizeLevel(undefined), "unknown");
  const result = [
    {
      metric: { level: "info" },
      values: [
        [1000, "3"],
        [1060, "4"],
      ],
    },
    { metric: {}, values: [[1120, "1"]] },
    { metric: { detected_level: "warn" }, values: [[1120, "6"]] },
    { metric: { level: "ERROR" }, values: [[1060, "2"]] },
    {
      metric: { level: "error" },
      values: [
        [1060, "1"],
        [9999, "5"],
      ],
    },
    { metric: { level: "chatty" }, values: [[1000, "2"]] },
  ];
  const b = levelBuckets(result, 1000, 1120, 60);
  assert.deepEqual(b.xs, [940, 1000, 1060]);
  assert.deepEqual(
    b.levels.map((l) => [l.level, l.counts]),
    [
      ["error", [0, 3, 0]],
      ["warn", [0, 0, 6]],
      ["info", [3, 4, 0]],
      ["unknown", [2, 0, 1]],
    ],
  );
  assert.equal(lineLevel({ level: "warning" }, "level=error"), "warn");
  assert.equal(lineLevel({}, 'time=x level=error msg="x"'), "error");
  assert.equal(lineLevel({}, '{"level":"debug"}'), "debug");
  assert.equal(lineLevel({}, "nothing here"), "unknown");
});

test("lines: streams merged by time, in either order; labels that tell streams apart", () => {
  const result = [
    {
      stream: { job: "a", host: "1" },
      values: [
        ["1700000000000000002", "a2"],
        ["1700000000000000000", "a0"],
      ],
    },
    { stream: { job: "a", host: "2" }, values: [["1700000000000000001", "b1", { trace_id: "t" }]] },
  ];
  const back = flattenStreams(result, "backward");
  assert.deepEqual(
    back.map((e) => e.line),
    ["a2", "b1", "a0"],
  );
  assert.deepEqual(back[1].meta, { trace_id: "t" });
  assert.deepEqual(
    flattenStreams(result, "forward").map((e) => e.line),
    ["a0", "b1", "a2"],
  );
  assert.deepEqual(varyingLabels(back), ["host"]);
  assert.deepEqual(varyingLabels(back.slice(0, 1)), []);
  // A label with a value per line (a parsed id) tells lines, not streams, apart.
  const perLine = Array.from({ length: 30 }, (_, i) => ({
    labels: { host: String(i % 2), id: String(i), detected_level: String(i % 3) },
  }));
  assert.deepEqual(varyingLabels(perLine), ["host"]);
  assert.equal(formatNs("1700000000123456789"), "2023-11-14 22:13:20.123");
  assert.deepEqual(splitLabels({ job: "a", detected_level: "info", user: "x" }, { job: "a", user: "y" }), [
    [["job", "a"]],
    [
      ["detected_level", "info"],
      ["user", "x"],
    ],
  ]);
});

test("query history: newest first, once each, bounded", () => {
  const store = new Map();
  const storage = { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, v) };
  assert.deepEqual(loadHistory(storage), []);
  rememberQuery('{a="1"}', storage);
  rememberQuery('{a="2"}', storage);
  assert.deepEqual(rememberQuery(' {a="1"} ', storage), ['{a="1"}', '{a="2"}']);
  for (let i = 0; i < HISTORY_MAX + 5; i++) rememberQuery(`{n="${i}"}`, storage);
  const list = loadHistory(storage);
  assert.equal(list.length, HISTORY_MAX);
  assert.equal(list[0], `{n="${HISTORY_MAX + 4}"}`);
  store.set("bongsu.logs.history", "not json");
  assert.deepEqual(loadHistory(storage), []);
});
