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
