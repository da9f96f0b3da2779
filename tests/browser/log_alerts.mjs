// The logs link of a log alert opens /logs on the lines that raised it: headless chromium
// loads the alert's generatorURL (contract: /logs?query=<LogQL>&from=<ms>&to=<ms>) and waits
// until the page shows 5xx lines of the alert's service, and no line of another service.
// Run by log_alerts.sh: URL is the generatorURL, SERVICE the alert's service label,
// SCREENSHOT a file to write.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";

const url = process.env.URL;
const service = process.env.SERVICE;
const shot = process.env.SCREENSHOT;
assert.ok(url && service && shot, "URL, SERVICE and SCREENSHOT must be set (log_alerts.sh sets them)");
assert.equal(new URL(url).pathname, "/logs", `the alert's link is not to /logs: ${url}`);

// Debian's /usr/bin/chromium is a wrapper script; the browser itself is here.
const executablePath = ["/usr/lib/chromium/chromium", "/usr/bin/chromium"].find(existsSync);
// --no-sandbox: CI runs as root, where chromium's sandbox refuses to start.
const browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(url);
  // An access line of the service answered 5xx, as the page renders it.
  const line = new RegExp(`"[A-Z]+ /api/v1/${service}[^"]*" 5\\d\\d `);
  await page.waitForFunction((src) => new RegExp(src).test(document.body.innerText), line.source, {
    timeout: 30_000,
  });
  const text = await page.evaluate(() => document.body.innerText);
  const shown = text.split("\n").filter((l) => /"[A-Z]+ \/\S* HTTP\/[\d.]+" \d{3} /.test(l));
  const others = shown.filter((l) => !line.test(l));
  assert.deepEqual(others, [], "the page shows lines the alert's query does not select");
  await page.screenshot({ path: shot, fullPage: true });
  assert.deepEqual(errors, [], "page errors");
  console.log(`log_alerts.mjs: /logs shows ${shown.length} 5xx lines of ${service}`);
} finally {
  await browser.close();
}
