// Reading a large range-query answer fast. `JSON.parse` of a matrix makes an array and a string
// per sample (200 series × 11,000 points: millions of objects, seconds of parsing and garbage
// collection); here each series' `"values":[[t,"v"],…]` is read straight into two typed arrays
// and `JSON.parse` only sees the rest. Anything not in that exact shape falls back to
// `JSON.parse` of the whole text, so the answer read is always the server's.

const KEY = '"values":[';

/**
 * The number written in `text` from `a` to `b`, read without cutting a string out: plain
 * decimals of up to 15 significant digits, for which an integer divided by a power of ten is
 * exactly what `Number` gives (both are correctly rounded); anything else goes to `Number`.
 */
function readNumber(text, a, b) {
  let i = a;
  let c = text.charCodeAt(i);
  const neg = c === 45;
  if (neg || c === 43) i++;
  let v = 0;
  let digits = 0;
  let scale = 1;
  while (i < b && (c = text.charCodeAt(i)) >= 48 && c <= 57) {
    v = v * 10 + (c - 48);
    digits++;
    i++;
  }
  if (i < b && c === 46) {
    i++;
    while (i < b && (c = text.charCodeAt(i)) >= 48 && c <= 57) {
      v = v * 10 + (c - 48);
      scale *= 10;
      digits++;
      i++;
    }
  }
  if (i !== b || digits === 0 || digits > 15 || scale > 1e22) return Number(text.slice(a, b));
  return (neg ? -v : v) / scale;
}

/** Reads one `[[t,"v"],…]` list from `i` (just past its `[`); null when it is not that shape. */
function readPairs(text, i) {
  const times = [];
  const vals = [];
  if (text.charCodeAt(i) === 93) return { times, vals, end: i + 1 };
  for (;;) {
    if (text.charCodeAt(i) !== 91) return null; // [
    const comma = text.indexOf(",", i);
    if (comma < 0 || text.charCodeAt(comma + 1) !== 34) return null; // ,"
    const quote = text.indexOf('"', comma + 2);
    if (quote < 0 || text.charCodeAt(quote + 1) !== 93) return null; // "]
    times.push(readNumber(text, i + 1, comma));
    vals.push(readNumber(text, comma + 2, quote));
    i = quote + 2;
    const next = text.charCodeAt(i);
    if (next === 93) return { times, vals, end: i + 1 }; // ]
    if (next !== 44) return null; // ,
    i++;
  }
}

/**
 * An API answer's JSON text → the parsed answer, each matrix series' `values` as
 * `{ times: Float64Array, vals: Float64Array }` (values as numbers: "NaN" and "±Inf" become
 * NaN) instead of `[t, "v"]` pairs.
 */
export function parseColumns(text) {
  const columns = [];
  let rest = "";
  let pos = 0;
  for (;;) {
    const k = text.indexOf(KEY, pos);
    if (k < 0) break;
    const pairs = readPairs(text, k + KEY.length);
    if (!pairs) return JSON.parse(text);
    rest += `${text.slice(pos, k)}"values":${columns.length}`;
    columns.push({ times: Float64Array.from(pairs.times), vals: Float64Array.from(pairs.vals) });
    pos = pairs.end;
  }
  const json = JSON.parse(rest + text.slice(pos));
  if (columns.length === 0) return json;
  for (const s of json.data?.result ?? []) {
    if (typeof s.values === "number") s.values = columns[s.values];
  }
  return json;
}
