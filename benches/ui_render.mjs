// Render times of the web UI in headless chromium (Debian's, driven by tests/browser's
// playwright-core), with the API answers replaced by fixtures (playwright's `page.route`) so
// that the figures measure the UI alone:
//   - /targets with 1,000 targets (goal: under 1 s from navigation to every row drawn);
//   - /alerts with 1,000 firing alerting rules (goal: at least 25 alerts visible in 1920×1080);
//   - the query page's graph of 200 series × 11,000 points (goal: under 500 ms from the answer
//     received to the chart drawn: JSON parsing, alignment and uPlot's first draw);
//   - a cold /query load's transfer size (gzipped), and the dashboards code loaded on demand.
// It starts the binary it is given on a free 127.0.0.1 port and stops it at the end.
//
//   (cd tests/browser && npm ci) && cargo build --release --bin bongsu
//   BONGSU=target/release/bongsu node benches/ui_render.mjs

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const require = createRequire(new URL("../tests/browser/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const RUNS = 5;
const bin = process.env.BONGSU ?? "target/release/bongsu";
if (!existsSync(bin)) throw new Error(`no bongsu binary at ${bin} (cargo build --release first)`);

const port = await new Promise((resolve) => {
  const s = createServer().listen(0, "127.0.0.1", () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const dir = mkdtempSync(join(tmpdir(), "bongsu-ui-bench-"));
writeFileSync(join(dir, "bongsu.yml"), "global:\n  scrape_interval: 15s\n");
const server = spawn(
  bin,
  [
    "--config.file",
    join(dir, "bongsu.yml"),
    "--storage.tsdb.path",
    join(dir, "data"),
    "--web.listen-address",
    `127.0.0.1:${port}`,
  ],
  { stdio: "ignore" },
);
const base = `http://127.0.0.1:${port}`;
for (let i = 0; i < 300; i++) {
  if (
    await fetch(`${base}/-/ready`).then(
      (r) => r.ok,
      () => false,
    )
  )
    break;
  await new Promise((r) => setTimeout(r, 100));
}

const executablePath = ["/usr/lib/chromium/chromium", "/usr/bin/chromium"].find(existsSync);
const browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
const context = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
const json = (data) => ({
  contentType: "application/json",
  body: JSON.stringify({ status: "success", data }),
});
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = [];

async function measure(name, goal, run) {
  const times = [];
  for (let i = 0; i < RUNS; i++) times.push(await run());
  results.push({ name, goal, median: median(times), min: Math.min(...times), max: Math.max(...times) });
}

// ---- /targets with 1,000 targets in 10 pools
const now = new Date().toISOString();
const targets = Array.from({ length: 1000 }, (_, i) => {
  const job = `job-${i % 10}`;
  const instance = `host-${i}.example.org:9100`;
  return {
    discoveredLabels: { __address__: instance, job },
    labels: { instance, job, env: i % 3 ? "prod" : "dev" },
    scrapePool: job,
    scrapeUrl: `http://${instance}/metrics`,
    globalUrl: `http://${instance}/metrics`,
    lastError: i % 50 === 0 ? "connection refused" : "",
    lastScrape: now,
    lastScrapeDuration: 0.012,
    health: i % 50 === 0 ? "down" : "up",
    scrapeInterval: "15s",
    scrapeTimeout: "10s",
  };
});
await measure("/targets, 1,000 targets: navigation to all rows drawn", "< 1000 ms", async () => {
  const page = await context.newPage();
  await page.route("**/api/v1/targets?*", (r) =>
    r.fulfill(json({ activeTargets: targets, droppedTargets: [] })),
  );
  const t0 = Date.now();
  await page.goto(`${base}/targets`);
  await page.waitForFunction(() => document.querySelectorAll("main tbody tr").length === 1000);
  const ms = Date.now() - t0;
  await page.close();
  return ms;
});

// ---- /alerts with 1,000 firing alerting rules
const rules = Array.from({ length: 1000 }, (_, i) => ({
  type: "alerting",
  name: `HighLatency${i}`,
  query: `histogram_quantile(0.99, rate(http_request_duration_seconds_bucket{job="svc-${i}"}[5m])) > 0.5`,
  duration: 300,
  labels: { severity: "warning" },
  annotations: { summary: `svc-${i} is slow` },
  state: "firing",
  health: "ok",
  alerts: [
    {
      labels: { alertname: `HighLatency${i}`, job: `svc-${i}`, severity: "warning" },
      annotations: { summary: `svc-${i} is slow` },
      state: "firing",
      activeAt: now,
      value: "0.73",
    },
  ],
  lastEvaluation: now,
  evaluationTime: 0.001,
}));
const groups = [
  {
    name: "latency",
    file: "rules/latency.yml",
    interval: 15,
    rules,
    lastEvaluation: now,
    evaluationTime: 0.1,
  },
];
let visible = 0;
await measure("/alerts, 1,000 firing alerts: navigation to all drawn", "-", async () => {
  const page = await context.newPage();
  await page.route("**/api/v1/rules?*", (r) => r.fulfill(json({ groups })));
  const t0 = Date.now();
  await page.goto(`${base}/alerts`);
  await page.waitForFunction(() => document.querySelectorAll("details.alert-rule").length === 1000);
  const ms = Date.now() - t0;
  visible = await page.evaluate(
    () =>
      [...document.querySelectorAll("details.alert-rule")].filter((d) => {
        const r = d.getBoundingClientRect();
        return r.top >= 0 && r.bottom <= innerHeight;
      }).length,
  );
  await page.close();
  return ms;
});
results.push({
  name: "/alerts, alerts visible in 1920×1080 without scrolling",
  goal: ">= 25",
  median: visible,
});

// ---- a graph of 200 series × 11,000 points
const SERIES = 200;
const POINTS = 11_000;
let matrix = null;
function matrixFor(start, step) {
  const parts = [];
  for (let s = 0; s < SERIES; s++) {
    const values = [];
    for (let i = 0; i < POINTS; i++) {
      values.push(`[${(start + i * step).toFixed(3)},"${(s * 10 + Math.sin(i / 200 + s) * 5).toFixed(3)}"]`);
    }
    parts.push(`{"metric":{"__name__":"bench_series","series":"${s}"},"values":[${values.join(",")}]}`);
  }
  return `{"status":"success","data":{"resultType":"matrix","result":[${parts.join(",")}]}}`;
}
await measure(
  `graph, ${SERIES} series × ${POINTS} points: answer received to chart drawn`,
  "< 500 ms",
  async () => {
    const page = await context.newPage();
    await page.route("**/api/v1/query_range", (r) => {
      const form = new URLSearchParams(r.request().postData() ?? "");
      const start = Number(form.get("start"));
      const step = Number(form.get("step"));
      matrix =
        matrix?.start === start && matrix?.step === step
          ? matrix
          : { start, step, body: matrixFor(start, step) };
      return r.fulfill({ contentType: "application/json", body: matrix.body });
    });
    // The time the chart's canvas enters the page, seen by the page itself.
    await page.addInitScript(() => {
      new MutationObserver((_m, obs) => {
        if (document.querySelector(".graph canvas")) {
          window.__drawnAt = performance.now();
          obs.disconnect();
        }
      }).observe(document, { childList: true, subtree: true });
    });
    // 11,000 s at a 1 s step: 11,000 points (the end is fixed so the fixture is reused).
    await page.goto(
      `${base}/query?g0.expr=bench_series&g0.tab=graph&g0.range_input=3h3m19s&g0.end_input=2024-01-01%2000%3A00%3A00&g0.step_input=1`,
    );
    await page.waitForFunction(() => window.__drawnAt !== undefined, null, { timeout: 120_000 });
    const ms = await page.evaluate(() => {
      const r = performance.getEntriesByType("resource").find((e) => e.name.includes("/api/v1/query_range"));
      return window.__drawnAt - r.responseEnd;
    });
    await page.close();
    return Math.round(ms);
  },
);

// ---- what a cold /query load transfers, and the dashboards' on-demand code
{
  const fresh = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
  const page = await fresh.newPage();
  await page.goto(`${base}/query`);
  await page.getByRole("button", { name: "Execute" }).waitFor();
  const kib = (entries) => (entries.reduce((s, e) => s + e.transferSize, 0) / 1024).toFixed(1);
  const loaded = () =>
    page.evaluate(() =>
      [...performance.getEntriesByType("navigation"), ...performance.getEntriesByType("resource")]
        .filter((e) => !e.name.includes("/api/"))
        .map((e) => ({ name: e.name, transferSize: e.transferSize })),
    );
  const cold = await loaded();
  results.push({
    name: "cold /query load, gzipped transfer (API calls aside)",
    goal: "-",
    median: `${kib(cold)} KiB`,
  });
  await page.getByRole("link", { name: "Dashboards" }).click();
  await page.locator("main table").waitFor();
  const more = (await loaded()).filter((e) => !cold.some((c) => c.name === e.name));
  results.push({
    name: "dashboards code loaded on first visit, gzipped",
    goal: "-",
    median: `${kib(more)} KiB`,
  });
  await page.close();
}

await browser.close();
server.kill();
rmSync(dir, { recursive: true, force: true });
for (const r of results) {
  const spread = r.min !== undefined ? ` (min ${r.min}, max ${r.max}, ${RUNS} runs)` : "";
  console.log(
    `${r.name}: ${r.median}${typeof r.median === "number" && r.min !== undefined ? " ms" : ""}${spread}  [goal ${r.goal}]`,
  );
}
