// The dashboards pages: `/dashboards` lists the dashboard files bongsu serves (shipped and from
// `--web.dashboards-dir`), with each bad file's error; `/d/<uid>` shows one as Grafana does:
// variables, time range and refresh pickers, the URL state as Grafana's (`from`, `to`,
// `var-<name>`, `refresh`), and the panels section by section (rows collapse and expand).

import { apiCall } from "../api.js";
import { h, replaceChildren } from "../dom.js";
import { parseDuration } from "../time.js";
import { filterBox, table } from "../pages/common.js";
import { ALL } from "./interpolate.js";
import { placements, sections } from "./layout.js";
import { dashboardPanel } from "./panel.js";
import { resolveRange } from "./timerange.js";
import { binding, loadOptions, selected, supported } from "./variables.js";

/** The scrape interval when the configuration names none: Prometheus' default. */
const DEFAULT_SCRAPE_MS = 15_000;

const QUICK_RANGES = [
  ["now-5m", "Last 5 minutes"],
  ["now-15m", "Last 15 minutes"],
  ["now-30m", "Last 30 minutes"],
  ["now-1h", "Last 1 hour"],
  ["now-3h", "Last 3 hours"],
  ["now-6h", "Last 6 hours"],
  ["now-12h", "Last 12 hours"],
  ["now-24h", "Last 24 hours"],
  ["now-2d", "Last 2 days"],
  ["now-7d", "Last 7 days"],
  ["now-30d", "Last 30 days"],
];
const REFRESH_CHOICES = ["", "5s", "10s", "30s", "1m", "5m", "15m", "30m", "1h", "2h", "1d"];

/** `/dashboards`. */
export function dashboardsPage(root) {
  const abort = new AbortController();
  const body = h("div", { "aria-busy": "true" }, h("p", { class: "muted" }, "Loading…"));
  replaceChildren(root, h("h1", {}, "Dashboards"), body);
  apiCall("/api/v1/dashboards", {}, { signal: abort.signal, method: "GET" })
    .then(({ data, warnings }) => {
      body.removeAttribute("aria-busy");
      const rows = data.map((d) => [
        d.error ? h("span", {}, d.title) : h("a", { href: `/d/${encodeURIComponent(d.uid)}` }, d.title),
        h(
          "span",
          { class: "badges" },
          d.tags.map((t) => h("span", { class: "badge" }, t)),
        ),
        h("code", {}, d.source),
        d.error ? h("span", { class: "error-text" }, d.error) : "",
      ]);
      const list = table(["Title", "Tags", "Source", "Error"], rows, "Dashboards");
      replaceChildren(
        body,
        warnings.map((w) => h("div", { class: "warning", role: "status" }, w)),
        filterBox(list, "tbody tr", "Filter dashboards"),
        list,
      );
    })
    .catch((e) => {
      if (abort.signal.aborted) return;
      body.removeAttribute("aria-busy");
      replaceChildren(
        body,
        h("div", { class: "error", role: "alert" }, `Error listing dashboards: ${e.message}`),
      );
    });
  return () => abort.abort();
}

/** The global scrape interval of bongsu's configuration, in ms (`$__rate_interval` needs it). */
async function scrapeInterval(signal) {
  try {
    const { data } = await apiCall("/api/v1/status/config", {}, { signal, method: "GET" });
    const m = /^global:[ \t]*\n(?:[ \t]+.*\n)*?[ \t]+scrape_interval:[ \t]*["']?([0-9a-z]+)/m.exec(data.yaml);
    return (m && parseDuration(m[1])) || DEFAULT_SCRAPE_MS;
  } catch {
    return DEFAULT_SCRAPE_MS;
  }
}

function field(label, control, hidden = false) {
  return h(
    "label",
    { class: "field dash-field" },
    h("span", { class: hidden ? "visually-hidden" : "" }, label),
    control,
  );
}

function select(label, options, value, onchange, multiple = false) {
  const el = h(
    "select",
    { "aria-label": label, multiple, onchange: () => onchange(el) },
    options.map(([v, text]) =>
      h("option", { value: v, selected: multiple ? value.includes(v) : v === value }, text),
    ),
  );
  return el;
}

/** `/d/<uid>[/<slug>]`. */
export function dashboardPage(root) {
  const uid = decodeURIComponent(location.pathname.split("/")[2] ?? "");
  const abort = new AbortController();
  const state = { timer: null, panels: [], observer: null };
  const body = h("div", { "aria-busy": "true" }, h("p", { class: "muted" }, "Loading…"));
  replaceChildren(root, h("h1", {}, "Dashboard"), body);
  const fail = (msg) => {
    body.removeAttribute("aria-busy");
    replaceChildren(body, h("div", { class: "error", role: "alert" }, msg));
  };
  Promise.all([
    apiCall(`/api/v1/dashboards/${encodeURIComponent(uid)}`, {}, { signal: abort.signal, method: "GET" }),
    scrapeInterval(abort.signal),
  ])
    .then(([{ data }, scrapeMs]) => {
      body.removeAttribute("aria-busy");
      try {
        show(root, data, scrapeMs, abort.signal, state);
      } catch (e) {
        fail(`Error showing dashboard ${uid}: ${e.message}`);
      }
    })
    .catch((e) => {
      if (!abort.signal.aborted) fail(`Error loading dashboard ${uid}: ${e.message}`);
    });
  return () => {
    abort.abort();
    clearInterval(state.timer);
    state.observer?.disconnect();
    for (const p of state.panels) p.destroy();
  };
}

function show(root, { dashboard: d, source }, scrapeMs, signal, state) {
  const url = new URLSearchParams(location.search);
  const time = {
    from: url.get("from") ?? d.time?.from ?? "now-6h",
    to: url.get("to") ?? d.time?.to ?? "now",
  };
  let refreshEvery = url.get("refresh") ?? (typeof d.refresh === "string" ? d.refresh : "");
  const vars = {};
  const varDefs = (d.templating?.list ?? []).filter((v) => v.name);
  const picked = Object.fromEntries(varDefs.map((v) => [v.name, url.getAll(`var-${v.name}`)]));
  const options = {};

  const writeUrl = () => {
    const q = new URLSearchParams();
    q.set("from", time.from);
    q.set("to", time.to);
    for (const v of varDefs) for (const x of picked[v.name] ?? []) q.append(`var-${v.name}`, x);
    if (refreshEvery) q.set("refresh", refreshEvery);
    history.replaceState(null, "", `${location.pathname}?${q}`);
  };

  const varBar = h("div", { class: "dash-vars", role: "group", "aria-label": "Variables" });
  const message = h("div", {});
  const grid = h("div", { class: "dash-sections" });

  const range = () => resolveRange(time.from, time.to);
  const refreshPanels = () => {
    const r = range();
    if (r instanceof Error) {
      replaceChildren(message, h("div", { class: "error", role: "alert" }, `Time range: ${r.message}`));
      return;
    }
    replaceChildren(message);
    // Panels of collapsed rows load when their row opens.
    for (const p of state.panels) if (p.el.offsetParent) p.refresh({ vars, range: r, scrapeMs, signal });
  };

  // Variables load in order: each may use those before it; a change reloads those after it.
  const loadVars = async (fromIndex) => {
    const r = range();
    if (r instanceof Error) return;
    for (const [i, v] of varDefs.entries()) {
      if (i < fromIndex) continue;
      if (!supported(v)) {
        vars[v.name] = { values: [], multi: false };
        continue;
      }
      try {
        options[v.name] = await loadOptions(v, vars, r, signal);
        v.error = null;
      } catch (e) {
        if (signal.aborted) return;
        options[v.name] = [];
        v.error = e.message;
      }
      if (v.type === "textbox" && picked[v.name]?.length) {
        picked[v.name] = picked[v.name].slice(0, 1);
      } else {
        picked[v.name] = selected(v, options[v.name], picked[v.name] ?? []);
      }
      vars[v.name] = binding(v, picked[v.name], options[v.name]);
    }
    drawVars();
    writeUrl();
  };

  const drawVars = () => {
    replaceChildren(
      varBar,
      varDefs.map((v, i) => {
        if (v.hide === 2 || v.type === "constant" || v.type === "datasource") return null;
        const label = v.label || v.name;
        if (!supported(v)) {
          return h(
            "span",
            { class: "dash-var-error" },
            `${label}: variable type ${v.type} is not supported by bongsu yet`,
          );
        }
        const changed = async (values) => {
          picked[v.name] = values;
          vars[v.name] = binding(v, values, options[v.name]);
          await loadVars(i + 1);
          refreshPanels();
        };
        let control;
        if (v.type === "textbox") {
          control = h("input", {
            type: "text",
            value: picked[v.name]?.[0] ?? "",
            "aria-label": label,
            onchange: (e) => changed([e.target.value]),
          });
        } else {
          const opts = [
            ...(v.includeAll ? [[ALL, "All"]] : []),
            ...options[v.name].map((o) => [o.value, o.text]),
          ];
          control = select(
            label,
            opts,
            v.multi ? picked[v.name] : picked[v.name]?.[0],
            (el) => changed([...el.selectedOptions].map((o) => o.value)),
            Boolean(v.multi),
          );
        }
        return h(
          "span",
          { class: "dash-var" },
          field(label, control, v.hide === 1),
          v.error ? h("span", { class: "error-text", role: "alert" }, v.error) : null,
        );
      }),
    );
  };

  // ---- time and refresh pickers
  const fromInput = h("input", { type: "text", value: time.from, size: 16, "aria-label": "From" });
  const toInput = h("input", { type: "text", value: time.to, size: 16, "aria-label": "To" });
  const applyTime = async () => {
    time.from = fromInput.value.trim();
    time.to = toInput.value.trim();
    writeUrl();
    const reload = varDefs.findIndex((v) => v.refresh === 2);
    if (reload >= 0) await loadVars(reload);
    refreshPanels();
  };
  const quick = select(
    "Time range",
    [["", "Quick ranges"], ...QUICK_RANGES],
    time.to === "now" ? time.from : "",
    (el) => {
      if (!el.value) return;
      fromInput.value = el.value;
      toInput.value = "now";
      applyTime();
    },
  );
  const refreshChoices = REFRESH_CHOICES.includes(refreshEvery)
    ? REFRESH_CHOICES
    : [...REFRESH_CHOICES, refreshEvery];
  const setTimer = () => {
    clearInterval(state.timer);
    const ms = refreshEvery ? parseDuration(refreshEvery) : null;
    if (ms) state.timer = setInterval(refreshPanels, Math.max(ms, 1000));
  };
  const refreshPicker = select(
    "Auto-refresh",
    refreshChoices.map((r) => [r, r || "Off"]),
    refreshEvery,
    (el) => {
      refreshEvery = el.value;
      writeUrl();
      setTimer();
    },
  );
  const toolbar = h(
    "div",
    { class: "dash-toolbar" },
    quick,
    field("From", fromInput, true),
    h("span", { "aria-hidden": "true" }, "to"),
    field("To", toInput, true),
    h("button", { type: "button", onclick: applyTime }, "Apply time range"),
    h("button", { type: "button", class: "primary", onclick: refreshPanels }, "Refresh"),
    refreshPicker,
  );
  for (const input of [fromInput, toInput]) {
    input.addEventListener("keydown", (e) => e.key === "Enter" && applyTime());
  }

  // ---- the panels, section by section
  for (const s of sections(d)) {
    const panelGrid = h("div", { class: "dash-grid" });
    const made = s.panels.length ? placements(s.panels).map((p, i) => dashboardPanel(s.panels[i], p)) : [];
    state.panels.push(...made);
    panelGrid.append(...made.map((p) => p.el));
    if (!s.row) {
      grid.append(panelGrid);
      continue;
    }
    const heading = h("h2", { class: "dash-row-title" });
    const toggle = h("button", {
      type: "button",
      class: "dash-row-toggle",
      "aria-expanded": String(!s.collapsed),
    });
    heading.append(toggle);
    const label = () => {
      toggle.textContent = `${s.collapsed ? "▸" : "▾"} ${s.row.title ?? ""}`;
      toggle.setAttribute("aria-expanded", String(!s.collapsed));
      panelGrid.hidden = s.collapsed;
    };
    toggle.addEventListener("click", () => {
      s.collapsed = !s.collapsed;
      label();
      if (!s.collapsed) {
        const r = range();
        if (!(r instanceof Error)) for (const p of made) p.refresh({ vars, range: r, scrapeMs, signal });
      }
    });
    label();
    grid.append(h("section", { class: "dash-row" }, heading, panelGrid));
  }

  replaceChildren(
    root,
    h(
      "div",
      { class: "dash-head" },
      h("h1", {}, d.title ?? "Dashboard"),
      h("span", { class: "muted dash-source" }, source),
    ),
    toolbar,
    varBar,
    message,
    grid,
  );
  document.title = `${d.title ?? "Dashboard"} - bongsu`;
  state.observer = new ResizeObserver(() => {
    for (const p of state.panels) p.resize();
  });
  state.observer.observe(grid);
  loadVars(0).then(() => {
    refreshPanels();
    setTimer();
  });
}
