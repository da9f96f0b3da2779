// The headless chromium session the browser checks share: Debian's chromium, one light-themed
// 1280×800 page whose console errors and uncaught exceptions are collected, axe-core's WCAG 2
// A/AA check of the page as it is, and named steps that screenshot and stop on failure.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const axePath = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

/**
 * Opens the session. `shots` is the screenshot directory; `name`, when given, prefixes the
 * steps' lines and failure screenshots (`browser: <name>: <step>: ok`).
 */
export async function openSession({ shots, name = "" }) {
  // Debian's /usr/bin/chromium is a wrapper script; the browser itself is here.
  const executablePath = ["/usr/lib/chromium/chromium", "/usr/bin/chromium"].find(existsSync);
  // --no-sandbox: CI runs as root, where chromium's sandbox refuses to start.
  const browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    colorScheme: "light",
  });
  const problems = [];
  // Set while a step sends a bad query on purpose: chromium logs the API's 400 as an error.
  let expect400 = false;
  const page = await context.newPage();
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    if (expect400 && /status of 400/.test(m.text())) return;
    problems.push(`console error on ${page.url()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`uncaught exception on ${page.url()}: ${e.message}`));
  page.setDefaultTimeout(15_000);
  const label = name ? `${name}: ` : "";

  /** Fails on any WCAG 2 A/AA violation axe-core finds in the page as it is now. */
  async function accessible(what) {
    if (!(await page.evaluate(() => "axe" in window))) await page.addScriptTag({ path: axePath });
    const found = await page.evaluate(async () => {
      const r = await window.axe.run(document, { runOnly: ["wcag2a", "wcag2aa"] });
      return r.violations.map(
        (v) =>
          `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ") + JSON.stringify(n.any[0]?.data)).join("; ")})`,
      );
    });
    assert.deepEqual(found, [], `accessibility of ${what}`);
  }

  /** Runs one named check; on failure, screenshots the page, closes the browser and exits 1. */
  async function step(stepName, fn) {
    const started = Date.now();
    try {
      await fn();
    } catch (e) {
      const file = `${shots}/FAILED-${name ? `${name}-` : ""}${stepName}.png`;
      await page.screenshot({ path: file, fullPage: true }).catch(() => {});
      await browser.close();
      console.error(`browser: ${label}${stepName}: FAILED\n${e.stack ?? e}`);
      process.exit(1);
    }
    console.log(`browser: ${label}${stepName}: ok (${Date.now() - started} ms)`);
  }

  /** Runs `fn`, which sends a bad query on purpose: the API's 400s are not console errors. */
  async function withBadRequests(fn) {
    expect400 = true;
    try {
      await fn();
    } finally {
      expect400 = false;
    }
  }

  return { browser, page, problems, accessible, step, withBadRequests };
}
