// How a series' labels are written: `name{label="value", …}`, as Prometheus prints them.

import { h } from "./dom.js";

/** The plain-text form, for legends and accessible names. */
export function seriesText(metric) {
  const { __name__: name = "", ...labels } = metric;
  const pairs = Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return pairs.length === 0 && name !== "" ? name : `${name}{${pairs.join(", ")}}`;
}

/** The same, as elements the stylesheet colours (name, label names, label values). */
export function seriesNode(metric) {
  const { __name__: name, ...labels } = metric;
  const parts = [];
  if (name !== undefined) parts.push(h("span", { class: "metric-name" }, name));
  const entries = Object.entries(labels);
  if (entries.length > 0 || name === undefined) {
    parts.push("{");
    entries.forEach(([k, v], i) => {
      if (i > 0) parts.push(", ");
      parts.push(
        h("span", { class: "label-name" }, k),
        "=",
        h("span", { class: "label-value" }, JSON.stringify(v)),
      );
    });
    parts.push("}");
  }
  return h("span", { class: "series" }, parts);
}
