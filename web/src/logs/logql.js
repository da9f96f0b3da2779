// What the log explorer reads from a LogQL query's text without a parser: where the cursor is
// for completion, the stream selector, the parser stage in use, and filters added by a click.
// And the fields of one log line, found as Loki's `json` and `logfmt` parsers find them.

/** Parser stages: after one, the fields it extracts may be filtered on. */
export const PARSERS = ["json", "logfmt", "regexp", "pattern", "unpack"];
/** Other pipeline stages and keywords offered after `|`. */
export const STAGES = ["line_format", "label_format", "keep", "drop", "decolorize", "unwrap"];
/** Range functions, aggregations and keywords of metric queries. */
export const FUNCTIONS = [
  "count_over_time",
  "rate",
  "rate_counter",
  "bytes_over_time",
  "bytes_rate",
  "sum_over_time",
  "avg_over_time",
  "min_over_time",
  "max_over_time",
  "stddev_over_time",
  "stdvar_over_time",
  "quantile_over_time",
  "first_over_time",
  "last_over_time",
  "absent_over_time",
  "sum",
  "avg",
  "min",
  "max",
  "count",
  "stddev",
  "stdvar",
  "topk",
  "bottomk",
  "sort",
  "sort_desc",
  "label_replace",
  "vector",
];
export const KEYWORDS = ["by", "without", "offset", "bool", "on", "ignoring", "group_left", "group_right"];

const PARSER_STAGE = new RegExp(`\\|\\s*(${PARSERS.join("|")})\\b`);

/**
 * What may be completed at `pos` in `text`:
 *   { kind: "labelName", from }          a stream label's name inside `{}` or `by (…)`
 *   { kind: "labelValue", label, from }  inside the quotes of a matcher's value
 *   { kind: "pipe", from, afterParser }  a stage after `|`; fields too when a parser came before
 *   { kind: "function", from }           a metric query's function or keyword
 * or null (inside another string, after a value, …). `from` is where the word being typed starts.
 */
export function completionContext(text, pos) {
  const prefix = text.slice(0, pos);
  let inBrace = false;
  let quote = null;
  let quoteAt = -1;
  for (let i = 0; i < prefix.length; i++) {
    const c = prefix[i];
    if (quote) {
      if (c === "\\" && quote === '"') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "`") {
      quote = c;
      quoteAt = i;
    } else if (c === "{") inBrace = true;
    else if (c === "}") inBrace = false;
  }
  if (quote) {
    if (!inBrace) return null;
    const m = /([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*$/.exec(prefix.slice(0, quoteAt));
    return m ? { kind: "labelValue", label: m[1], from: quoteAt + 1 } : null;
  }
  const word = /[A-Za-z_][A-Za-z0-9_]*$/.exec(prefix)?.[0] ?? "";
  const from = pos - word.length;
  const before = prefix.slice(0, from).trimEnd();
  if (inBrace) return /[{,]$/.test(before) ? { kind: "labelName", from } : null;
  if (/\|$/.test(before) && !/\|\|$/.test(before)) {
    return { kind: "pipe", from, afterParser: PARSER_STAGE.test(before) };
  }
  if (/\b(by|without)\s*\(([A-Za-z0-9_]+\s*,\s*)*$/.test(before)) return { kind: "labelName", from };
  if (before === "" || /[(,+\-*/^%<>=]$/.test(before) || /\)$/.test(before))
    return { kind: "function", from };
  return null;
}

/** The query's first stream selector (`{…}`, strings respected), or null. */
export function streamSelector(query) {
  const start = query.indexOf("{");
  if (start < 0) return null;
  let quote = null;
  for (let i = start; i < query.length; i++) {
    const c = query[i];
    if (quote) {
      if (c === "\\" && quote === '"') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "`") quote = c;
    else if (c === "}") return query.slice(start, i + 1);
  }
  return null;
}

/** The parser stage the query uses (`json`, `logfmt`, …), or null. */
export function queryParser(query) {
  return PARSER_STAGE.exec(query)?.[1] ?? null;
}

/** A LogQL double-quoted string of `value` (Go's escapes are a superset of JSON's). */
export function quote(value) {
  return JSON.stringify(value);
}

/** A stream selector matching exactly `labels`. */
export function exactSelector(labels) {
  return `{${Object.entries(labels)
    .map(([k, v]) => `${k}=${quote(v)}`)
    .join(", ")}}`;
}

/**
 * `query` with a label filter `| name="value"` (`!=` when `negate`) appended; a detected
 * field's `parser` stage goes in first when the query has no parser yet, so the field exists.
 */
export function addFilter(query, name, value, { negate = false, parser = null } = {}) {
  let q = query.trimEnd();
  if (parser && !queryParser(q)) q += ` | ${parser}`;
  return `${q} | ${name}${negate ? "!=" : "="}${quote(value)}`;
}

/** A field name as Loki's parsers write label names: invalid characters become `_`. */
export function sanitizeName(name) {
  const s = name.replace(/[^A-Za-z0-9_]/g, "_");
  return /^[0-9]/.test(s) ? `_${s}` : s;
}

/** logfmt's `key=value` pairs (quoted values unescaped); keys without `=` are skipped. */
export function parseLogfmt(line) {
  const out = [];
  const re = /([^\s="]+)=("((?:[^"\\]|\\.)*)"|[^\s]*)/g;
  let m;
  while ((m = re.exec(line)) !== null) {
    let value = m[2];
    if (m[3] !== undefined) {
      try {
        value = JSON.parse(`"${m[3]}"`);
      } catch {
        value = m[3];
      }
    }
    out.push([sanitizeName(m[1]), value]);
  }
  return out;
}

/** A JSON object line's fields as Loki's `json` parser names them: nested keys joined by `_`. */
export function parseJsonFields(line) {
  let obj;
  try {
    obj = JSON.parse(line);
  } catch {
    return null;
  }
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) return null;
  const out = [];
  const walk = (o, prefix) => {
    for (const [k, v] of Object.entries(o)) {
      const name = prefix ? `${prefix}_${sanitizeName(k)}` : sanitizeName(k);
      if (v !== null && typeof v === "object") {
        if (!Array.isArray(v)) walk(v, name);
      } else if (v !== null) out.push([name, String(v)]);
    }
  };
  walk(obj, "");
  return out;
}

/**
 * The fields of `line`: with the query's parser when it is `json` or `logfmt`, otherwise as
 * detected (a JSON object, else logfmt pairs). Returns { parser, fields: [[name, value]] }.
 */
export function lineFields(line, query) {
  const parser = queryParser(query);
  const json = () => ({ parser: "json", fields: parseJsonFields(line) ?? [] });
  const logfmt = () => ({ parser: "logfmt", fields: parseLogfmt(line) });
  if (parser === "json") return json();
  if (parser === "logfmt") return logfmt();
  if (line.trimStart().startsWith("{") && parseJsonFields(line)) return json();
  const lf = logfmt();
  return lf.fields.length > 0 ? lf : { parser: null, fields: [] };
}
