// The metrics explorer: every metric name with its type and help (from /api/v1/metadata), a
// filter, and a choice that inserts the name into the expression editor, as Prometheus 3's.

import { apiCall } from "./api.js";
import { h, replaceChildren } from "./dom.js";

/** Most names listed at once; the filter narrows a longer list. */
const MAX_LISTED = 1000;

/** Opens the explorer as a modal dialog; `onPick(name)` receives the chosen metric. */
export function openMetricsExplorer(onPick) {
  const list = h(
    "div",
    { class: "explorer-list", "aria-live": "polite" },
    h("p", { class: "muted" }, "Loading…"),
  );
  const filter = h("input", {
    type: "search",
    class: "filter",
    "aria-label": "Filter metrics",
    placeholder: "Filter metrics",
  });
  const dialog = h(
    "dialog",
    { class: "explorer", "aria-label": "Metrics explorer" },
    h(
      "div",
      { class: "explorer-head" },
      h("h2", {}, "Metrics explorer"),
      h("button", { type: "button", "aria-label": "Close", onclick: () => dialog.close() }, "✕"),
    ),
    filter,
    list,
  );
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  filter.focus();

  Promise.all([
    apiCall("/api/v1/label/__name__/values", {}, { method: "GET" }),
    apiCall("/api/v1/metadata", {}, { method: "GET" }).catch(() => ({ data: {} })),
  ])
    .then(([names, meta]) => {
      const render = () => {
        const needle = filter.value.toLowerCase();
        const shown = names.data.filter((n) => n.toLowerCase().includes(needle));
        replaceChildren(
          list,
          shown.length === 0 ? h("p", { class: "muted" }, "No metric matches.") : null,
          h(
            "ul",
            {},
            shown.slice(0, MAX_LISTED).map((name) => {
              const m = meta.data[name]?.[0];
              return h(
                "li",
                {},
                h(
                  "button",
                  {
                    type: "button",
                    class: "explorer-pick",
                    onclick: () => {
                      dialog.close();
                      onPick(name);
                    },
                  },
                  name,
                ),
                m ? h("span", { class: "muted" }, ` ${m.type} · ${m.help}`) : "",
              );
            }),
          ),
          shown.length > MAX_LISTED
            ? h(
                "p",
                { class: "muted" },
                `Showing ${MAX_LISTED} of ${shown.length} metrics; filter to see others.`,
              )
            : null,
        );
      };
      filter.addEventListener("input", render);
      render();
    })
    .catch((e) =>
      replaceChildren(
        list,
        h("div", { class: "error", role: "alert" }, `Error fetching metric names: ${e.message}`),
      ),
    );
}
