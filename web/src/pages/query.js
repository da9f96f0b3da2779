// The query page (/query): panels from the URL (Prometheus 3's g<i>.* state), "Add query",
// and auto-refresh. Each change rewrites the URL in place, so a reload or a shared link opens
// the same panels.

import { h, replaceChildren } from "../dom.js";
import { Panel } from "../panel.js";
import { decodePanels, encodePanels, newPanel } from "../urlstate.js";

const REFRESH = [
  ["0", "Off"],
  ["5", "5s"],
  ["10", "10s"],
  ["30", "30s"],
  ["60", "1m"],
  ["300", "5m"],
];

/** Renders the page into `root`; returns its clean-up. */
export function queryPage(root) {
  let panels = [];
  let timer = null;
  const list = h("div", { class: "panels" });

  const syncUrl = () => {
    history.replaceState(null, "", `/query?${encodePanels(panels.map((p) => p.state))}`);
  };
  // Adding or removing a panel leaves the others as they are, results included.
  const add = (state) => {
    const panel = new Panel(state, panels.length, { onChange: syncUrl, onRemove: () => remove(panel) });
    panels.push(panel);
    list.append(panel.el);
    return panel;
  };
  const remove = (panel) => {
    panel.destroy();
    panel.el.remove();
    panels.splice(panels.indexOf(panel), 1);
    if (panels.length === 0) add(newPanel());
    panels.forEach((p, i) => p.setIndex(i));
    syncUrl();
  };
  decodePanels(location.search).forEach(add);

  const refresh = h(
    "select",
    {
      "aria-label": "Auto-refresh",
      onchange: (e) => {
        clearInterval(timer);
        const seconds = Number(e.target.value);
        if (seconds > 0)
          timer = setInterval(
            () => panels.forEach((p) => p.state.expr.trim() && p.execute()),
            seconds * 1000,
          );
      },
    },
    REFRESH.map(([value, text]) => h("option", { value }, text)),
  );
  replaceChildren(
    root,
    h("h1", { class: "visually-hidden" }, "Query"),
    list,
    h(
      "div",
      { class: "page-actions" },
      h(
        "button",
        {
          type: "button",
          onclick: () => {
            add(newPanel()).editor.focus();
            syncUrl();
          },
        },
        "Add query",
      ),
      h("label", {}, "Auto-refresh ", refresh),
    ),
  );
  // Redraw graphs when their width or colours change.
  const redraw = () => panels.forEach((p) => p.redraw());
  window.addEventListener("themechange", redraw);
  let width = 0;
  const resize = new ResizeObserver(([entry]) => {
    // Only a new width needs new charts; heights change with every result shown.
    if (Math.abs(entry.contentRect.width - width) < 1) return;
    width = entry.contentRect.width;
    redraw();
  });
  resize.observe(list);
  for (const p of panels) if (p.state.expr.trim() !== "") p.execute();
  return () => {
    clearInterval(timer);
    resize.disconnect();
    window.removeEventListener("themechange", redraw);
    panels.forEach((p) => p.destroy());
  };
}
