// Walks bongsu's web UI in headless chromium: every page loads with no console error, the
// query page shows bongsu's own `up` series in the table tab, draws it in the graph tab and
// offers metric names in the editor's completion; the shipped health dashboard draws every
// panel with data; a silence made in the UI (after its preview) is listed by the real amtool
// and expired from the UI; both themes are screenshotted.
// Run by run.sh, which starts the server: BASE is its URL, SCREENSHOTS a directory.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { openSession } from "./session.mjs";

const base = process.env.BASE;
const shots = process.env.SCREENSHOTS;
const amtool = process.env.AMTOOL;
assert.ok(base && shots && amtool, "BASE, SCREENSHOTS and AMTOOL must be set (run.sh sets them)");

/** The silences the real amtool lists from bongsu's Alertmanager API (`extra`: more flags). */
function amtoolSilences(...extra) {
  const out = execFileSync(
    amtool,
    [`--alertmanager.url=${base}`, "silence", "query", "-o", "json", ...extra],
    // amtool warns that its version differs from bongsu's: expected, not worth printing.
    { encoding: "utf8", timeout: 15_000, stdio: ["ignore", "pipe", "ignore"] },
  );
  return JSON.parse(out);
}

const { browser, page, problems, accessible, step, withBadRequests } = await openSession({ shots });

/** A link's href read as the logs explorer reads it: path, query and time range. */
async function logsHref(link) {
  const url = new URL(await link.getAttribute("href"), base);
  const p = url.searchParams;
  const time = (k) => (p.has(k) ? Number(p.get(k)) : null);
  return { path: url.pathname, query: p.get("query"), from: time("from"), to: time("to") };
}

await step("table tab shows bongsu's own up series", async () => {
  await page.goto(`${base}/query?g0.expr=up&g0.tab=table`);
  const row = page.locator(".result-table tbody tr", {
    hasText: 'job="bongsu"',
  });
  await row.first().waitFor();
  assert.match(await row.first().innerText(), /^up\{.*instance="127\.0\.0\.1:\d+".*\}\s+Logs\s+1$/s);
  // Its logs link: the hour up to the evaluation time (now).
  const logs = await logsHref(row.first().getByRole("link", { name: /^Logs of this series/ }));
  assert.equal(logs.query, `{job="bongsu", instance="${new URL(base).host}"}`);
  assert.equal(logs.to - logs.from, 3_600_000);
  assert.ok(Math.abs(logs.to - Date.now()) < 60_000, `ends now: ${logs.to}`);
  assert.equal(await page.title(), "Query - bongsu");
  // What a cold load of the page cost on the wire (compressed bodies and headers), for the record.
  const bytes = await page.evaluate(() =>
    [...performance.getEntriesByType("navigation"), ...performance.getEntriesByType("resource")]
      .filter((e) => !e.name.includes("/api/"))
      .reduce((sum, e) => sum + e.transferSize, 0),
  );
  console.log(`browser: a cold /query load transferred ${(bytes / 1024).toFixed(1)} KiB (API calls aside)`);
  await page.screenshot({ path: `${shots}/query-table.png`, fullPage: true });
  await accessible("the table tab");
});

await step("graph tab draws a chart with a legend", async () => {
  await page.getByRole("tab", { name: "Graph" }).click();
  // The server has scraped for seconds only: a one-minute range has points to draw.
  await page.getByRole("textbox", { name: "Range" }).fill("1m");
  await page.getByRole("textbox", { name: "Range" }).press("Enter");
  await page.locator(".graph canvas").waitFor();
  assert.match(page.url(), /g0\.range_input=1m/);
  await page.locator(".graph .u-legend", { hasText: 'job="bongsu"' }).waitFor();
  assert.match(page.url(), /g0\.tab=graph/);
  await page.getByRole("combobox", { name: "Display mode" }).selectOption("stacked");
  await page.locator(".graph canvas").waitFor();
  assert.match(page.url(), /g0\.display_mode=stacked/);
  await page.screenshot({ path: `${shots}/query-graph.png`, fullPage: true });
  await accessible("the graph tab");
});

await step("each graph series links to its logs over the graph's range", async () => {
  const entry = page.locator(".graph .u-legend .u-series", { hasText: 'job="bongsu"' });
  const link = entry.getByRole("link", { name: /^Logs of this series/ });
  const got = await logsHref(link);
  const instance = new URL(base).host;
  assert.equal(got.path, "/logs");
  assert.equal(got.query, `{job="bongsu", instance="${instance}"}`);
  assert.equal(got.to - got.from, 60_000, "the graph's one-minute range");
  assert.ok(Math.abs(got.to - Date.now()) < 60_000, `range ends now: ${got.to}`);
  // Clicking the link's cell leaves the series shown (uPlot toggles on the label only).
  assert.equal(await entry.evaluate((e) => e.classList.contains("u-off")), false);
});

await step("autocomplete offers a metric name", async () => {
  await page.goto(`${base}/query`);
  const editor = page.getByRole("textbox", { name: "Expression (query 1)" });
  await editor.click();
  await page.keyboard.type("prometheus_http_req");
  const option = page.locator(".cm-tooltip-autocomplete li", {
    hasText: "prometheus_http_requests_total",
  });
  await option.first().waitFor();
  await page.screenshot({ path: `${shots}/query-autocomplete.png` });
  // Taking the completion fills the name in; Enter then executes.
  await option.first().click();
  await page.keyboard.press("Enter");
  await page.locator(".result-table", { hasText: "prometheus_http_requests_total" }).waitFor();
});

await step("keyboard: arrow keys move between tabs, Enter in the editor executes", async () => {
  await page.goto(`${base}/query?g0.expr=up&g0.tab=table`);
  await page.locator(".result-table").waitFor();
  await page.getByRole("tab", { name: "Table" }).focus();
  await page.keyboard.press("ArrowRight");
  await page.getByRole("tab", { name: "Graph", selected: true }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Graph");
  await page.keyboard.press("ArrowRight");
  await page.getByRole("tab", { name: "Explain", selected: true }).waitFor();
  await page.keyboard.press("ArrowLeft");
  await page.keyboard.press("ArrowLeft");
  await page.getByRole("tab", { name: "Table", selected: true }).waitFor();
  await page.getByRole("textbox", { name: "Expression (query 1)" }).focus();
  await page.keyboard.press("End");
  await page.keyboard.type(" * 2");
  await page.keyboard.press("Escape"); // closes a completion list, if one opened
  await page.keyboard.press("Enter");
  await page.locator(".result-table td.value", { hasText: /^2$/ }).first().waitFor();
  assert.match(page.url(), /g0\.expr=up\+\*\+2/);
});

await step("the metrics explorer inserts a metric name", async () => {
  await page.goto(`${base}/query`);
  await page.getByRole("button", { name: "Open metrics explorer" }).click();
  const dialog = page.getByRole("dialog", { name: "Metrics explorer" });
  await dialog.getByRole("searchbox", { name: "Filter metrics" }).fill("http_requests_tot");
  const pick = dialog.getByRole("button", { name: "prometheus_http_requests_total", exact: true });
  await pick.waitFor();
  await page.screenshot({ path: `${shots}/query-metrics-explorer.png` });
  await accessible("the metrics explorer");
  await pick.click();
  await page
    .getByRole("textbox", { name: "Expression (query 1)" })
    .filter({ hasText: "prometheus_http_requests_total" })
    .waitFor();
  assert.equal(await dialog.count(), 0);
});

await step("panels added and removed; the others keep their results", async () => {
  await page.goto(`${base}/query?g0.expr=up&g0.tab=table&g1.expr=vector(7)&g1.tab=table`);
  const seven = page.locator(".result-table td.value", { hasText: /^7$/ });
  await seven.waitFor();
  await page.getByRole("button", { name: "Add query" }).click();
  assert.equal(await page.locator("section.panel").count(), 3);
  await page.getByRole("region", { name: "Query 1" }).getByRole("button", { name: "Remove query" }).click();
  assert.equal(await page.locator("section.panel").count(), 2);
  await seven.waitFor();
  await page
    .getByRole("region", { name: "Query 1" })
    .getByRole("textbox", { name: "Expression (query 1)" })
    .filter({ hasText: "vector(7)" })
    .waitFor();
  assert.match(page.url(), /\?g0\.expr=vector%287%29&.*g1\.expr=&/);
  await accessible("two panels");
});

await step("a Prometheus 3 link asking for a heatmap says it is not built yet", async () => {
  await page.goto(`${base}/query?g0.expr=up&g0.tab=graph&g0.range_input=1m&g0.display_mode=heatmap`);
  await page.getByText("The heatmap display is not built yet").waitFor();
  await page.locator(".graph canvas").waitFor();
});

await step("/graph keeps the panels on its way to /query", async () => {
  await page.goto(`${base}/graph?g0.expr=up&g0.tab=0&g1.expr=vector(1)&g1.tab=1`);
  assert.match(page.url(), /\/query\?g0\.expr=up/);
  assert.equal(await page.locator("section.panel").count(), 2);
  await page.getByRole("tab", { name: "Graph", selected: true }).waitFor();
});

await step("warnings and errors are shown", async () => {
  await page.goto(`${base}/query?g0.expr=${encodeURIComponent("rate(up[1m])")}&g0.tab=table`);
  await page.locator(".warning, .info", { hasText: "counter" }).first().waitFor();
  await withBadRequests(async () => {
    await page.goto(`${base}/query?g0.expr=${encodeURIComponent("sum(")}&g0.tab=table`);
    await page.getByRole("alert").filter({ hasText: "Error executing query" }).waitFor();
  });
});

await step("explain tab shows the tree and explains a node", async () => {
  const expr = 'sum by(job) (rate(prometheus_http_requests_total{code="200"}[5m]))';
  await page.goto(`${base}/query?g0.expr=${encodeURIComponent(expr)}&g0.tab=explain`);
  const tree = page.getByRole("list", { name: "Expression tree" });
  // Each node shows its own PromQL: the root is the whole expression, as written.
  await tree.getByRole("button", { name: expr, exact: true }).waitFor();
  await tree
    .getByRole("button", { name: 'prometheus_http_requests_total{code="200"}[5m]', exact: true })
    .click();
  await page.locator(".explain-detail", { hasText: "Range vector selector" }).waitFor();
  await tree.getByRole("button", { name: /^rate\(/ }).click();
  await page.locator(".explain-detail", { hasText: "per-second" }).waitFor();
  await page.screenshot({ path: `${shots}/query-explain.png`, fullPage: true });
  await accessible("the explain tab");
});

await step("dark theme", async () => {
  await page.goto(`${base}/query?g0.expr=up&g0.tab=graph&g0.range_input=1m`);
  await page.getByRole("button", { name: "Switch to dark theme" }).click();
  await page.getByRole("button", { name: "Switch to light theme" }).waitFor();
  await page.locator(".graph canvas").waitFor();
  await page.screenshot({
    path: `${shots}/query-graph-dark.png`,
    fullPage: true,
  });
  await accessible("the graph tab, dark");
  await page.goto(`${base}/alerts`);
  await page.locator("main", { hasText: "TargetDown" }).waitFor();
  await page.screenshot({ path: `${shots}/page_alerts-dark.png`, fullPage: true });
  await accessible("the alerts page, dark");
  await page.getByRole("button", { name: "Switch to light theme" }).click();
});

// Each page with a text it must show: the status pages read bongsu's own state.
const pages = [
  ["/alerts", "TargetDown"],
  ["/rules", "ScrapeJobMostlyDown"],
  ["/targets", 'job="bongsu"'],
  ["/service-discovery", "__address__"],
  ["/alertmanager-discovery", "Active Alertmanagers"],
  ["/status", "Build information"],
  ["/tsdb-status", "Head statistics"],
  ["/flags", "--web.listen-address"],
  ["/config", "scrape_configs"],
  ["/alertmanager/alerts", "ServiceScraped"],
  ["/alertmanager/silences", "New silence"],
  ["/dashboards", "bongsu health"],
];
for (const [path, text] of pages) {
  await step(`page ${path}`, async () => {
    await page.goto(`${base}${path}`);
    await page.locator("main", { hasText: text }).waitFor();
    await page.screenshot({
      path: `${shots}/page${path.replaceAll("/", "_")}.png`,
      fullPage: true,
    });
    await accessible(path);
  });
}

await step("a firing alert links to its logs on /alerts and /alertmanager/alerts", async () => {
  const rules = await (await page.request.get(`${base}/api/v1/alerts`)).json();
  const firing = rules.data.alerts.find((a) => a.labels.alertname === "ServiceScraped");
  const query = `{job="service", instance="${firing.labels.instance}"}`;
  await page.goto(`${base}/alerts`);
  const rule = page.locator("details.alert-rule", { hasText: "ServiceScraped" });
  await rule.locator("summary").click();
  const onAlerts = await logsHref(rule.getByRole("link", { name: /^Logs of ServiceScraped/ }));
  assert.deepEqual(onAlerts, {
    path: "/logs",
    query,
    from: Date.parse(firing.activeAt) - 10 * 60_000,
    to: null,
  });
  await page.screenshot({ path: `${shots}/alerts-logs-link.png`, fullPage: true });
  await accessible("the alerts page with an alert open");

  const am = await (
    await page.request.get(`${base}/api/v2/alerts?filter=alertname%3D%22ServiceScraped%22`)
  ).json();
  assert.equal(am.length, 1, JSON.stringify(am));
  await page.goto(`${base}/alertmanager/alerts`);
  const alert = page.locator(".am-alert", { hasText: 'alertname="ServiceScraped"' });
  const onAm = await logsHref(alert.getByRole("link", { name: /^Logs of ServiceScraped/ }));
  assert.deepEqual(onAm, {
    path: "/logs",
    query,
    from: Date.parse(am[0].startsAt) - 10 * 60_000,
    to: null,
  });
});

await step("an alert in the Alertmanager, silenced and the silence expired", async () => {
  const posted = await page.request.post(`${base}/api/v2/alerts`, {
    data: [
      {
        labels: { alertname: "BrowserTest", severity: "none" },
        annotations: { summary: "posted by ui.mjs" },
      },
    ],
  });
  assert.equal(posted.status(), 200);
  await page.goto(`${base}/alertmanager/alerts`);
  const alert = page.locator(".am-alert", { hasText: 'alertname="BrowserTest"' });
  await alert.waitFor();
  await page.screenshot({ path: `${shots}/alertmanager-alerts.png`, fullPage: true });
  await accessible("the Alertmanager's alerts");
  await alert.getByRole("link", { name: "Silence" }).click();
  const matchers = page.getByRole("textbox", { name: "Matchers" });
  assert.match(await matchers.inputValue(), /alertname="BrowserTest"/);
  // The form opened from the alert previews it at once; a wider matcher is previewed on demand.
  await page.getByText("Affected alerts: 1").waitFor();
  await matchers.fill('{alertname=~"Browser.*|NoSuch"}');
  await page.getByRole("button", { name: "Preview alerts" }).click();
  await page.getByRole("list", { name: "Affected alerts" }).getByText('alertname="BrowserTest"').waitFor();
  await page.getByText("Affected alerts: 1").waitFor();
  await matchers.fill('{alertname="BrowserTest"}');
  await page.getByRole("textbox", { name: "Creator" }).fill("ui.mjs");
  await page.getByRole("textbox", { name: "Comment" }).fill("the browser test");
  await page.screenshot({ path: `${shots}/alertmanager-silence-preview.png`, fullPage: true });
  await accessible("the silence form with its preview");
  await page.getByRole("button", { name: "Create" }).click();
  await page.locator("h2", { hasText: "Active (1)" }).waitFor();
  await page.screenshot({ path: `${shots}/alertmanager-silences.png`, fullPage: true });
  await accessible("the silences");
  // The real amtool sees the silence the UI made, matcher, creator and comment as typed.
  const listed = amtoolSilences();
  assert.equal(listed.length, 1, JSON.stringify(listed));
  assert.equal(listed[0].createdBy, "ui.mjs");
  assert.equal(listed[0].comment, "the browser test");
  assert.deepEqual(
    listed[0].matchers.map((m) => [m.name, m.value, m.isRegex, m.isEqual ?? true]),
    [["alertname", "BrowserTest", false, true]],
  );
  await page.getByRole("button", { name: `Expire silence ${listed[0].id}` }).click();
  await page.locator("h2", { hasText: "Expired (1)" }).waitFor();
  assert.deepEqual(amtoolSilences(), [], "amtool lists no active silence once expired in the UI");
  assert.equal(amtoolSilences("--expired")[0]?.id, listed[0].id);
});

await step("the shipped health dashboard draws every panel with data", async () => {
  await page.goto(`${base}/d/bongsu-health?from=now-5m&to=now`);
  await page.locator("main h1", { hasText: "bongsu health" }).waitFor();
  const panels = page.locator(".dash-panel");
  await panels.first().waitFor();
  const count = await panels.count();
  assert.ok(count >= 10, `${count} panels`);
  // Every panel has loaded once its body is no longer busy and holds something drawn.
  const drawn =
    ".dash-panel-body > :is(.dash-chart, .dash-stats, .dash-gauges, .dash-bars, .dash-table-wrap, .dash-nodata, .error, .dash-unsupported)";
  await page.waitForFunction(
    ([n, sel]) =>
      document.querySelectorAll(sel).length >= n && !document.querySelector(".dash-panel-body[aria-busy]"),
    [count, drawn],
  );
  const empty = await page
    .locator(".dash-panel", { has: page.locator(".dash-nodata, .error, .dash-unsupported") })
    .allInnerTexts();
  assert.deepEqual(empty, [], "panels without data");
  assert.equal((await page.locator(".dash-chart canvas").count()) > 0, true);
  assert.match(page.url(), /var-job=bongsu/);
  assert.match(page.url(), /var-instance=%24__all/);
  await page.screenshot({ path: `${shots}/dashboard-bongsu-health.png`, fullPage: true });
  await accessible("the health dashboard");
});

await step("dashboard variables and time range write Grafana's URL state", async () => {
  const instance = page.getByRole("listbox", { name: "Instance" });
  const value = await instance.locator("option").nth(1).getAttribute("value");
  await instance.selectOption(value);
  await page.waitForFunction((v) => location.search.includes(`var-instance=${encodeURIComponent(v)}`), value);
  await page.getByRole("combobox", { name: "Time range" }).selectOption("now-15m");
  await page.waitForFunction(() => location.search.includes("from=now-15m"));
  await page.waitForFunction(() => !document.querySelector(".dash-panel-body[aria-busy]"));
  assert.equal(await page.locator(".dash-nodata").count(), 0);
  // Reloading keeps the choices, as a Grafana link would.
  await page.reload();
  await page.locator(".dash-chart canvas").first().waitFor();
  assert.deepEqual(await instance.evaluate((s) => [...s.selectedOptions].map((o) => o.value)), [value]);
});

await step("the service RED dashboard draws the fake service's traffic, errors and latency", async () => {
  await page.goto(`${base}/d/service-red?from=now-5m&to=now`);
  const drawn =
    ".dash-panel-body > :is(.dash-chart, .dash-stats, .dash-gauges, .dash-bars, .dash-table-wrap, .dash-nodata, .error)";
  await page.locator(".dash-panel").first().waitFor();
  const count = await page.locator(".dash-panel").count();
  await page.waitForFunction(
    ([n, sel]) =>
      document.querySelectorAll(sel).length >= n && !document.querySelector(".dash-panel-body[aria-busy]"),
    [count, drawn],
  );
  const empty = await page
    .locator(".dash-panel", { has: page.locator(".dash-nodata, .error") })
    .allInnerTexts();
  assert.deepEqual(empty, [], "panels without data");
  assert.match(page.url(), /var-job=service/);
  await page.screenshot({ path: `${shots}/dashboard-service-red-data.png`, fullPage: true });
});

await step("the other shipped dashboards open; a collapsed row opens", async () => {
  for (const uid of ["node-exporter", "service-red"]) {
    await page.goto(`${base}/d/${uid}`);
    await page.locator(".dash-panel").first().waitFor();
    await page.waitForFunction(() => !document.querySelector(".dash-panel-body[aria-busy]"));
    await page.screenshot({ path: `${shots}/dashboard-${uid}.png`, fullPage: true });
    // Without node_exporter or a service scraped, panels may have no data, but every query
    // must be one bongsu accepts.
    assert.deepEqual(await page.locator(".dash-panel .error").allInnerTexts(), [], `${uid}: query errors`);
  }
  await page.goto(`${base}/d/node-exporter`);
  const row = page.getByRole("button", { name: /Disk and network/ });
  assert.equal(await row.getAttribute("aria-expanded"), "false");
  await row.click();
  assert.equal(await row.getAttribute("aria-expanded"), "true");
  await page.locator(".dash-panel", { hasText: "Network received" }).waitFor();
  await accessible("the node dashboard");
});

await step("filtering the targets", async () => {
  await page.goto(`${base}/targets`);
  const rows = page.locator("main tbody tr");
  await rows.first().waitFor();
  await page.getByRole("searchbox", { name: "Filter by endpoint or labels" }).fill("no-such-target");
  assert.equal(await rows.filter({ visible: true }).count(), 0);
});

await step("navigation in the app", async () => {
  await page.goto(`${base}/query`);
  await page.getByText("Status", { exact: true }).click();
  await page.getByRole("link", { name: "Target health" }).click();
  await page.locator("main h1", { hasText: "Target health" }).waitFor();
  assert.equal(new URL(page.url()).pathname, "/targets");
  await page.goBack();
  await page.getByRole("button", { name: "Execute" }).waitFor();
});

await browser.close();
if (problems.length > 0) {
  console.error(`browser: ${problems.length} console error(s):\n${problems.join("\n")}`);
  process.exit(1);
}
console.log("browser: passed, no console errors");
