// Render time of the log explorer (/logs) in headless chromium (Debian's, driven by
// tests/browser's playwright-core), against a bongsu it starts on a temp dir and a free
// 127.0.0.1 port, with an hour of gen_logs.py's data pushed (loki-json, push_logs.py; both in
// the shared bench folder). The page opens `{job="nginx"}` over that hour with the default
// limit of 1,000 lines; measured (goal: under 500 ms):
//   - from the later of the two answers (lines, histogram) received to 1,000 rows and the
//     histogram's canvas in the page: the UI's own work;
//   - from navigation start to the same: page load, the server's two queries and the UI;
// and, to tell where the rest goes, navigation to the queries sent (page, scripts, the
// page's chunk) and the queries sent to both answered (the server).
//
//   (cd tests/browser && npm ci) && cargo build --release --bin bongsu
//   BONGSU=target/release/bongsu node benches/logs_render.mjs

import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(new URL("../tests/browser/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const RUNS = 5;
const LINES = 1000;
/** Lines generated over the hour: several times LINES in {job="nginx"}. */
const GENERATED = 30_000;
const bin = process.env.BONGSU ?? "target/release/bongsu";
if (!existsSync(bin)) throw new Error(`no bongsu binary at ${bin} (cargo build --release first)`);
const shared =
  process.env.BONGSU_SHARED ??
  [fileURLToPath(new URL("../../shared", import.meta.url)), "/work/shared"].find((d) =>
    existsSync(join(d, "bench/gen_logs.py")),
  );
if (!shared) throw new Error("no shared bench folder with gen_logs.py (set BONGSU_SHARED)");

const port = await new Promise((resolve) => {
  const s = createServer().listen(0, "127.0.0.1", () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const dir = mkdtempSync(join(tmpdir(), "bongsu-logs-bench-"));
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
    // The whole hour arrives at once: above the default ingestion rate of a tenant.
    "--logs.ingestion-rate-mb",
    "100",
    "--logs.ingestion-burst-size-mb",
    "200",
  ],
  { stdio: "ignore" },
);
process.on("exit", () => server.kill());
const base = `http://127.0.0.1:${port}`;
for (let i = 0; i < 300; i++) {
  if (
    await fetch(`${base}/ready`).then(
      (r) => r.ok,
      () => false,
    )
  )
    break;
  await new Promise((r) => setTimeout(r, 100));
}

// The last hour, ending a minute ago.
const end = Math.floor(Date.now() / 1000) - 60;
const start = end - 3600;
const data = join(dir, "push.jsonl");
execFileSync("python3", [
  join(shared, "bench/gen_logs.py"),
  "--format",
  "loki-json",
  "--lines",
  String(GENERATED),
  "--start",
  String(start),
  "--duration",
  "3600",
  "--batch",
  "1000",
  "--out",
  data,
]);
execFileSync(
  "python3",
  [join(shared, "bench/push_logs.py"), data, "--url", `${base}/loki/api/v1/push`, "--conns", "2"],
  { stdio: ["ignore", "ignore", "inherit"] },
);

const executablePath = ["/usr/lib/chromium/chromium", "/usr/bin/chromium"].find(existsSync);
const browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
const context = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const url = `${base}/logs?${new URLSearchParams({ query: '{job="nginx"}', from: String(start * 1000), to: String(end * 1000) })}`;

const load = [];
const serverTimes = [];
const ui = [];
const total = [];
for (let i = 0; i < RUNS; i++) {
  const page = await context.newPage();
  await page.addInitScript((lines) => {
    new MutationObserver((_m, obs) => {
      if (
        document.querySelector(".logs-histogram canvas") &&
        document.querySelectorAll(".log-row").length >= lines
      ) {
        window.__drawnAt = performance.now();
        obs.disconnect();
      }
    }).observe(document, { childList: true, subtree: true });
  }, LINES);
  await page.goto(url);
  await page.waitForFunction(() => window.__drawnAt !== undefined, null, { timeout: 60_000 });
  const [asked, answered, drawn] = await page.evaluate(() => {
    const queries = performance
      .getEntriesByType("resource")
      .filter((e) => e.name.includes("/loki/api/v1/query_range"));
    return [
      Math.min(...queries.map((e) => e.startTime)),
      Math.max(...queries.map((e) => e.responseEnd)),
      window.__drawnAt,
    ];
  });
  load.push(Math.round(asked));
  serverTimes.push(Math.round(answered - asked));
  ui.push(Math.round(drawn - answered));
  total.push(Math.round(drawn));
  await page.close();
}

await browser.close();
server.kill();
rmSync(dir, { recursive: true, force: true });
const line = (name, xs, goal = true) =>
  console.log(
    `${name}: ${median(xs)} ms (min ${Math.min(...xs)}, max ${Math.max(...xs)}, ${RUNS} runs)${goal ? "  [goal < 500 ms]" : ""}`,
  );
line(`/logs: navigation to the queries sent (page and script load)`, load, false);
line(`/logs: queries sent to both answered (the server)`, serverTimes, false);
line(`/logs, ${LINES} lines + histogram: answers received to drawn`, ui);
line(`/logs, ${LINES} lines + histogram: navigation to drawn`, total);
