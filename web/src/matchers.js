// Alertmanager's matchers as users type them: `{alertname="Down", job=~"node.*"}` (the braces
// optional), each value a double-quoted string. The silence form reads them; the alerts page
// writes an alert's labels this way to silence it.

const MATCHER = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)/;

/** Text → [{ name, value, isRegex, isEqual }]; throws Error naming what does not parse. */
export function parseMatchers(text) {
  let rest = text.trim();
  if (rest.startsWith("{") && rest.endsWith("}")) rest = rest.slice(1, -1);
  const out = [];
  while (rest.trim() !== "") {
    const m = MATCHER.exec(rest);
    if (!m) throw new Error(`cannot read a matcher at ${JSON.stringify(rest.trim())}`);
    const [whole, name, op, quoted] = m;
    out.push({
      name,
      value: JSON.parse(`"${quoted}"`),
      isRegex: op.includes("~"),
      isEqual: !op.startsWith("!"),
    });
    rest = rest.slice(whole.length);
  }
  if (out.length === 0) throw new Error("at least one matcher is needed");
  return out;
}

/** [{ name, value, isRegex, isEqual }] → `{name="value", …}`. */
export function formatMatchers(matchers) {
  const op = (m) => (m.isEqual === false ? "!" : "=") + (m.isRegex ? "~" : m.isEqual === false ? "=" : "");
  return `{${matchers.map((m) => `${m.name}${op(m)}${JSON.stringify(m.value)}`).join(", ")}}`;
}
