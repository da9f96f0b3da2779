// The fast reading of range-query answers: the same data as JSON.parse, in columns, and the
// whole text given to JSON.parse when it is not in the shape read fast.

import assert from "node:assert/strict";
import { test } from "node:test";

import { parseColumns } from "../src/matrixjson.js";

const answer = (result, type = "matrix") =>
  JSON.stringify({ status: "success", data: { resultType: type, result }, warnings: ["w"] });

test("matrix values are read into columns; everything else as JSON.parse reads it", () => {
  const result = [
    {
      metric: { __name__: "up", job: 'a "values":[' },
      values: [
        [1, "1"],
        [2.5, "NaN"],
        [3, "+Inf"],
      ],
    },
    { metric: {}, values: [] },
  ];
  const got = parseColumns(answer(result));
  assert.deepEqual(got.warnings, ["w"]);
  assert.deepEqual(got.data.result[0].metric, result[0].metric);
  assert.deepEqual([...got.data.result[0].values.times], [1, 2.5, 3]);
  const vals = [...got.data.result[0].values.vals];
  assert.equal(vals[0], 1);
  assert.ok(Number.isNaN(vals[1]) && Number.isNaN(vals[2]));
  assert.equal(got.data.result[1].values.times.length, 0);
});

test("answers of other shapes are parsed whole", () => {
  const vector = answer([{ metric: { a: "b" }, value: [1, "2"] }], "vector");
  assert.deepEqual(parseColumns(vector), JSON.parse(vector));
  // Spacing the fast reader does not expect: the plain parse, not a wrong one.
  const spaced =
    '{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1, "2"]]}]}}';
  assert.deepEqual(parseColumns(spaced), JSON.parse(spaced));
  assert.throws(() => parseColumns('{"values":[[1,"2"]'));
});

test("numbers read as Number reads them", () => {
  const texts = [
    "0",
    "-0.5",
    "0.1",
    "0.3",
    "1700000000.123",
    "123456789012345",
    "1234567890123456789",
    "1e-7",
    "-2.5e+21",
    "0.000001",
    "NaN",
    "+Inf",
    "-Inf",
    "3.14159265358979",
    "99.99999999999999",
  ];
  const body = answer([{ metric: {}, values: texts.map((v, i) => [i, v]) }]);
  const vals = [...parseColumns(body).data.result[0].values.vals];
  texts.forEach((t, i) => assert.ok(Object.is(vals[i], Number(t)), `${t}: ${vals[i]} != ${Number(t)}`));
});
