// The UI's shell: the navigation bar, the light/dark theme, and client-side routing between
// pages at Prometheus 3's paths. The server answers every UI path with this same app; the
// path picks the page here.

import "./styles/theme.css";
import "./styles/base.css";
import "./styles/query.css";
import "./styles/pages.css";
import "./styles/dashboards.css";
import "./styles/logs.css";
import { h, replaceChildren } from "./dom.js";
import { amAlertsPage, amSilencesPage } from "./pages/alertmanager.js";
import { notFound } from "./pages/notfound.js";
import { queryPage } from "./pages/query.js";
import { alertsPage, rulesPage } from "./pages/rules.js";
import {
  alertmanagerDiscoveryPage,
  configPage,
  flagsPage,
  statusPage,
  tsdbStatusPage,
} from "./pages/status.js";
import { serviceDiscoveryPage, targetsPage } from "./pages/targets.js";

/** Path → [title, page]. A page renders into its root and may return a clean-up function. */
const PAGES = {
  "/query": ["Query", queryPage],
  "/alerts": ["Alerts", alertsPage],
  "/rules": ["Rule health", rulesPage],
  "/targets": ["Target health", targetsPage],
  "/service-discovery": ["Service discovery", serviceDiscoveryPage],
  "/alertmanager-discovery": ["Alertmanager discovery", alertmanagerDiscoveryPage],
  "/status": ["Runtime & build information", statusPage],
  "/tsdb-status": ["TSDB status", tsdbStatusPage],
  "/flags": ["Command-line flags", flagsPage],
  "/config": ["Configuration", configPage],
  "/alertmanager/alerts": ["Alertmanager alerts", amAlertsPage],
  "/alertmanager/silences": ["Silences", amSilencesPage],
  "/dashboards": ["Dashboards", lazy(dashboards, "dashboardsPage")],
  "/logs": ["Logs", lazy(() => import("./logs/page.js"), "logsPage")],
};

function dashboards() {
  return import("./dashboards/page.js");
}

/**
 * The page `name` of a chunk `load`ed when first shown (the dashboards, the log explorer), so
 * that other pages' loads do not carry it. Leaving before it loads cancels showing it.
 */
function lazy(load, name) {
  return (root) => {
    let left = false;
    let cleanup = null;
    load().then(
      (m) => {
        if (!left) cleanup = m[name](root);
      },
      (e) => {
        if (!left)
          replaceChildren(
            root,
            h("div", { class: "error", role: "alert" }, `Error loading the page: ${e.message}`),
          );
      },
    );
    return () => {
      left = true;
      cleanup?.();
    };
  };
}

function pageFor(path) {
  if (PAGES[path]) return PAGES[path];
  if (path.startsWith("/d/")) return ["Dashboard", lazy(dashboards, "dashboardPage")];
  return ["Page not found", notFound];
}

const STATUS_LINKS = [
  "/targets",
  "/rules",
  "/service-discovery",
  "/alertmanager-discovery",
  "/status",
  "/tsdb-status",
  "/flags",
  "/config",
];

// ---- theme: the system's (prefers-color-scheme) unless the toggle chose one, remembered.

const THEME_KEY = "bongsu.theme";

function effectiveTheme() {
  return (
    document.documentElement.dataset.theme ??
    (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light")
  );
}

function applyTheme(theme) {
  if (theme) document.documentElement.dataset.theme = theme;
  window.dispatchEvent(new Event("themechange"));
}

function themeButton() {
  const button = h("button", { type: "button", class: "theme-toggle" });
  const label = () => {
    const next = effectiveTheme() === "dark" ? "light" : "dark";
    button.setAttribute("aria-label", `Switch to ${next} theme`);
    button.title = `Switch to ${next} theme`;
    button.textContent = next === "dark" ? "☾" : "☀";
  };
  button.addEventListener("click", () => {
    const next = effectiveTheme() === "dark" ? "light" : "dark";
    localStorage.setItem(THEME_KEY, next);
    applyTheme(next);
  });
  window.addEventListener("themechange", label);
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => applyTheme(null));
  label();
  return button;
}

// ---- navigation

function navLink(path, text = PAGES[path][0]) {
  return h("a", { href: path, class: "nav-link" }, text);
}

function header() {
  const menu = (title, links) =>
    h(
      "details",
      { class: "menu" },
      h("summary", {}, title),
      h(
        "div",
        { class: "menu-items" },
        links.map(([path, text]) => navLink(path, text)),
      ),
    );
  return h(
    "header",
    { class: "topbar" },
    h("a", { href: "/query", class: "brand" }, "bongsu"),
    h(
      "nav",
      { "aria-label": "Main" },
      navLink("/query"),
      navLink("/alerts"),
      menu(
        "Status",
        STATUS_LINKS.map((p) => [p, PAGES[p][0]]),
      ),
      menu("Alertmanager", [
        ["/alertmanager/alerts", "Alerts"],
        ["/alertmanager/silences", "Silences"],
      ]),
      navLink("/dashboards"),
      navLink("/logs"),
    ),
    themeButton(),
  );
}

const main = h("main", { id: "main" });
let cleanup = null;

function render() {
  cleanup?.();
  const [title, page] = pageFor(location.pathname);
  document.title = `${title} - bongsu`;
  for (const a of document.querySelectorAll(".topbar a.nav-link")) {
    if (a.pathname === location.pathname) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  for (const d of document.querySelectorAll(".topbar details")) d.open = false;
  cleanup = page(main) ?? null;
}

// Links to UI pages change the page here instead of reloading the app.
document.addEventListener("click", (e) => {
  const a = e.target.closest?.("a[href]");
  if (!a || a.origin !== location.origin || e.defaultPrevented || e.button !== 0) return;
  if (a.getAttribute("href").startsWith("#")) return;
  if (e.metaKey || e.ctrlKey || e.shiftKey || e.altKey || a.target) return;
  if (a.pathname.startsWith("/api/") || !(a.pathname in PAGES || a.pathname.startsWith("/d/"))) return;
  e.preventDefault();
  if (a.pathname + a.search !== location.pathname + location.search) {
    history.pushState(null, "", a.pathname + a.search);
  }
  render();
});
window.addEventListener("popstate", render);

// An open menu closes on a click elsewhere or on Escape, as menus do.
const closeMenus = (except) => {
  for (const d of document.querySelectorAll(".topbar details[open]")) if (d !== except) d.open = false;
};
document.addEventListener("click", (e) => closeMenus(e.target.closest?.(".topbar details")));
document.addEventListener("keydown", (e) => {
  if (e.key !== "Escape") return;
  const open = document.querySelector(".topbar details[open]");
  if (!open) return;
  open.open = false;
  open.querySelector("summary")?.focus();
});

applyTheme(localStorage.getItem(THEME_KEY));
replaceChildren(
  document.body,
  h("a", { href: "#main", class: "skip-link" }, "Skip to content"),
  header(),
  main,
);
render();
