// The Explain tab: the expression's syntax tree as /api/v1/parse_query returns it, each node
// shown as the PromQL it stands for; choosing a node explains what it does. The function and
// aggregation descriptions are those of Prometheus' own completion terms.

import {
  aggregateOpTerms,
  functionIdentifierTerms,
} from "@prometheus-io/codemirror-promql/dist/esm/complete/promql.terms.js";
import { h, replaceChildren } from "./dom.js";
import { formatDuration } from "./time.js";

const docs = new Map([...functionIdentifierTerms, ...aggregateOpTerms].map((t) => [t.label, t.info]));

const duration = (ms) => (ms < 0 ? `-${formatDuration(-ms)}` : formatDuration(ms));

function modifiers(n) {
  let s = "";
  if (n.timestamp !== null && n.timestamp !== undefined) s += ` @ ${(n.timestamp / 1000).toFixed(3)}`;
  else if (n.startOrEnd) s += ` @ ${n.startOrEnd}()`;
  if (n.offset) s += ` offset ${duration(n.offset)}`;
  return s;
}

function selector(n) {
  const matchers = n.matchers.filter((m) => !(m.name === "__name__" && m.type === "=" && m.value === n.name));
  const inner = matchers.map((m) => `${m.name}${m.type}${JSON.stringify(m.value)}`).join(", ");
  return `${n.name ?? ""}${inner || !n.name ? `{${inner}}` : ""}`;
}

function matching(n) {
  const m = n.matching;
  if (!m) return "";
  let s = m.on || m.labels.length > 0 ? ` ${m.on ? "on" : "ignoring"}(${m.labels.join(", ")})` : "";
  const include = m.include.length ? `(${m.include.join(", ")})` : "";
  if (m.card === "many-to-one") s += ` group_left${include}`;
  if (m.card === "one-to-many") s += ` group_right${include}`;
  return s;
}

/** The PromQL text of a parse_query node. */
export function serialize(n) {
  switch (n.type) {
    case "aggregation": {
      const g = n.without
        ? ` without(${n.grouping.join(", ")})`
        : n.grouping.length
          ? ` by(${n.grouping.join(", ")})`
          : "";
      // `sum by(job) (x)`, but `topk(3, x)` without a grouping, as PromQL is usually written.
      return `${n.op}${g}${g ? " " : ""}(${n.param ? `${serialize(n.param)}, ` : ""}${serialize(n.expr)})`;
    }
    case "binaryExpr":
      return `${serialize(n.lhs)} ${n.op}${n.bool ? " bool" : ""}${matching(n)} ${serialize(n.rhs)}`;
    case "call":
      return `${n.func.name}(${n.args.map(serialize).join(", ")})`;
    case "matrixSelector":
      return `${selector(n)}[${duration(n.range)}]${modifiers(n)}`;
    case "subquery":
      return `${serialize(n.expr)}[${duration(n.range)}:${n.step ? duration(n.step) : ""}]${modifiers(n)}`;
    case "vectorSelector":
      return `${selector(n)}${modifiers(n)}`;
    case "numberLiteral":
      return String(n.val);
    case "stringLiteral":
      return JSON.stringify(n.val);
    case "parenExpr":
      return `(${serialize(n.expr)})`;
    case "unaryExpr":
      return `${n.op}${serialize(n.expr)}`;
    default:
      return `<${n.type}>`;
  }
}

/** The node's children, in the order they appear in the expression. */
function children(n) {
  switch (n.type) {
    case "aggregation":
      return n.param ? [n.param, n.expr] : [n.expr];
    case "binaryExpr":
      return [n.lhs, n.rhs];
    case "call":
      return n.args;
    case "subquery":
    case "parenExpr":
    case "unaryExpr":
      return [n.expr];
    default:
      return [];
  }
}

const MATCH = {
  "=": "equals",
  "!=": "does not equal",
  "=~": "matches the regular expression",
  "!~": "does not match the regular expression",
};

function matcherList(n) {
  return h(
    "ul",
    {},
    n.matchers.map((m) =>
      h(
        "li",
        {},
        h("code", {}, m.name),
        ` ${MATCH[m.type] ?? m.type} `,
        h("code", {}, JSON.stringify(m.value)),
      ),
    ),
  );
}

function timing(n) {
  const parts = [];
  if (n.timestamp !== null && n.timestamp !== undefined)
    parts.push(`evaluated at the fixed time ${new Date(n.timestamp).toISOString()}`);
  else if (n.startOrEnd) parts.push(`evaluated at the ${n.startOrEnd} of the query's range`);
  if (n.offset)
    parts.push(
      `shifted ${duration(Math.abs(n.offset))} ${n.offset > 0 ? "into the past" : "into the future"}`,
    );
  return parts.length ? ` It is ${parts.join(" and ")}.` : "";
}

/** What a node does, in a few sentences. */
function explanation(n) {
  switch (n.type) {
    case "vectorSelector":
      return [
        h(
          "p",
          {},
          "Instant vector selector: the latest sample of each series whose labels match, looking back at most the lookback delta (5m by default).",
          timing(n),
        ),
        matcherList(n),
      ];
    case "matrixSelector":
      return [
        h(
          "p",
          {},
          `Range vector selector: every sample of the last ${duration(n.range)} of each series whose labels match.`,
          timing(n),
        ),
        matcherList(n),
      ];
    case "subquery":
      return h(
        "p",
        {},
        `Subquery: evaluates the inner expression every ${n.step ? duration(n.step) : "evaluation interval (the default step)"} over the last ${duration(n.range)}, giving a range vector.`,
        timing(n),
      );
    case "aggregation": {
      const by = n.without
        ? `keeping every label except ${n.grouping.join(", ") || "none"}`
        : n.grouping.length
          ? `one result per value of ${n.grouping.join(", ")}`
          : "into a single series without labels";
      return h("p", {}, `Aggregation ${n.op}: ${docs.get(n.op) ?? ""}. Groups the input series ${by}.`);
    }
    case "call":
      return h("p", {}, `Function ${n.func.name}: ${docs.get(n.func.name) ?? "a PromQL function"}.`);
    case "binaryExpr": {
      const set = ["and", "or", "unless"].includes(n.op);
      const m = n.matching;
      const on =
        m && (m.on || m.labels.length)
          ? `${m.on ? "on the labels" : "ignoring the labels"} ${m.labels.join(", ") || "(none)"}`
          : "on all labels";
      const card =
        m?.card === "many-to-one" || m?.card === "one-to-many"
          ? ` (${m.card}: several series of one side may match one of the other; ${m.include.length ? `copying ${m.include.join(", ")} from the other side` : "copying no labels"})`
          : "";
      const cmp = ["==", "!=", ">", "<", ">=", "<="].includes(n.op);
      return h(
        "p",
        {},
        set
          ? `Set operation ${n.op}: series of the two sides are matched ${on}.`
          : `Binary operation ${n.op}: where both sides are vectors, their series are matched ${on}${card}.`,
        cmp
          ? n.bool
            ? " With bool, each comparison gives 1 or 0."
            : " A comparison keeps the series for which it holds and drops the others."
          : "",
      );
    }
    case "numberLiteral":
      return h("p", {}, "A number (a scalar).");
    case "stringLiteral":
      return h("p", {}, "A string.");
    case "parenExpr":
      return h("p", {}, "Parentheses: group the inner expression.");
    case "unaryExpr":
      return h(
        "p",
        {},
        `Unary ${n.op}: ${n.op === "-" ? "negates every value" : "leaves the values as they are"}.`,
      );
    default:
      return h("p", {}, `A ${n.type} node.`);
  }
}

/** The Explain view of a parsed expression `tree`. */
export function explainView(tree) {
  const detail = h("div", { class: "explain-detail", "aria-live": "polite" });
  let selected = null;
  const select = (node, button) => {
    selected?.setAttribute("aria-pressed", "false");
    button.setAttribute("aria-pressed", "true");
    selected = button;
    replaceChildren(detail, h("code", { class: "block" }, serialize(node)), explanation(node));
  };
  const item = (node) => {
    const button = h(
      "button",
      { type: "button", class: "tree-node", "aria-pressed": "false", onclick: () => select(node, button) },
      serialize(node),
    );
    const kids = children(node);
    return h("li", {}, button, kids.length ? h("ul", {}, kids.map(item)) : null);
  };
  const root = h("ul", { class: "tree", "aria-label": "Expression tree" }, item(tree));
  select(tree, root.querySelector("button"));
  return h(
    "div",
    { class: "explain" },
    h("p", { class: "muted" }, "The expression's parts; choose one to see what it does."),
    root,
    detail,
  );
}
