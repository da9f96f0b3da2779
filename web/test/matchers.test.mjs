// Silence matchers as typed in the form: parsed into the v2 API's shape and written back.

import assert from "node:assert/strict";
import { test } from "node:test";

import { formatMatchers, parseMatchers } from "../src/matchers.js";

test("the four operators, braces optional, escapes kept", () => {
  const text = '{alertname="Down", job=~"node.*", env!="dev", path!~"/a\\"b"}';
  const parsed = parseMatchers(text);
  assert.deepEqual(parsed, [
    { name: "alertname", value: "Down", isRegex: false, isEqual: true },
    { name: "job", value: "node.*", isRegex: true, isEqual: true },
    { name: "env", value: "dev", isRegex: false, isEqual: false },
    { name: "path", value: '/a"b', isRegex: true, isEqual: false },
  ]);
  assert.equal(formatMatchers(parsed), text);
  assert.deepEqual(parseMatchers('a="1",b="2"'), parseMatchers('{a="1", b="2"}'));
});

test("what is not a matcher list is refused with where", () => {
  assert.throws(() => parseMatchers(""), /at least one matcher/);
  assert.throws(() => parseMatchers("{}"), /at least one matcher/);
  assert.throws(() => parseMatchers('a="1" b="2"'), /cannot read a matcher at "a=/);
  assert.throws(() => parseMatchers("a=1"), /cannot read a matcher at "a=1"/);
});
