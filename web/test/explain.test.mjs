// The Explain tab writes each node of /api/v1/parse_query's tree back as PromQL: for these
// expressions (trees recorded from bongsu in data/parse_query.json) the root must read as the
// expression itself.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { serialize } from "../src/explain.js";

const cases = JSON.parse(readFileSync(new URL("./data/parse_query.json", import.meta.url), "utf8"));

for (const { expr, tree } of cases) {
  test(`serializes ${expr}`, () => assert.equal(serialize(tree), expr));
}
