// The log explorer (/logs) in headless chromium against lines pushed with known labels: lines
// and the volume histogram appear for a contract URL (/logs?query=…&from=…&to=…), a line
// expands to its fields, click-to-filter changes the query and the lines, context shows the
// line's neighbours in its stream, back returns to the previous query, a histogram drag zooms,
// completion offers label names and values, a bad query's error is shown, a metric query is
// graphed; no console errors, no WCAG 2 A/AA violation.
// Run by run.sh, which starts the server: BASE is its URL, SCREENSHOTS a directory.

import assert from "node:assert/strict";
import { openSession } from "./session.mjs";

const base = process.env.BASE;
const shots = process.env.SCREENSHOTS;
assert.ok(base && shots, "BASE and SCREENSHOTS must be set (run.sh sets them)");

// 40 lines over the last 10 minutes: n even on host h1 (level info), odd on h2 (error);
// user alice when n % 4 < 2, else bob.
const LINES = 40;
const now = Date.now();
const t0 = now - 10 * 60_000;
const streams = [
  { stream: { job: "logsbrowser", host: "h1", level: "info" }, values: [] },
  { stream: { job: "logsbrowser", host: "h2", level: "error" }, values: [] },
];
for (let n = 0; n < LINES; n++) {
  const user = n % 4 < 2 ? "alice" : "bob";
  streams[n % 2].values.push([`${t0 + n * 15_000}000000`, `msg="request done" user=${user} n=${n} end`]);
}
const pushed = await fetch(`${base}/loki/api/v1/push`, {
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify({ streams }),
});
assert.equal(pushed.status, 204, await pushed.text());

const { browser, page, problems, accessible, step, withBadRequests } = await openSession({
  shots,
  name: "logs",
});

const rows = page.locator(".log-row");
// Text content, not innerText: rows off screen are not laid out (content-visibility).
const rowTexts = () => page.locator(".log-row .log-text").allTextContents();
const query = '{job="logsbrowser"}';
const url = `${base}/logs?${new URLSearchParams({ query, from: String(now - 3_600_000), to: String(now + 60_000) })}`;

await step("lines and histogram of a contract URL", async () => {
  await page.goto(url);
  await page.locator(".logs-histogram canvas").waitFor();
  await page.waitForFunction((n) => document.querySelectorAll(".log-row").length === n, LINES);
  const texts = await rowTexts();
  // Newest first, both streams merged.
  assert.match(texts[0], / n=39 /);
  assert.match(texts[LINES - 1], / n=0 /);
  // The host tells the two streams apart, so each line shows it.
  assert.match(await rows.first().locator(".log-labels").textContent(), /host=h2/);
  assert.equal(await page.title(), "Logs - bongsu");
  await page.locator(".logs-histogram .u-legend", { hasText: "error" }).waitFor();
  await page.locator(".logs-histogram .u-legend", { hasText: "info" }).waitFor();
  await page.screenshot({ path: `${shots}/logs.png` });
  await accessible("the log explorer");
});

await step("the order toggles to oldest first", async () => {
  await page.getByRole("button", { name: "Newest first" }).click();
  await page.waitForFunction(() =>
    / n=0 /.test(document.querySelector(".log-row .log-text")?.textContent ?? ""),
  );
  assert.match(page.url(), /direction=forward/);
  await page.goBack();
  await page.waitForFunction(() =>
    / n=39 /.test(document.querySelector(".log-row .log-text")?.textContent ?? ""),
  );
});

await step("a line expands; click-to-filter narrows query and lines", async () => {
  // n=38: host h1, user bob.
  const row = rows.filter({ hasText: " n=38 " });
  await row.locator(".log-line").click();
  const details = row.locator(".log-details");
  await details.getByText("Fields (logfmt)").waitFor();
  await details.getByText("Stream labels").waitFor();
  await accessible("an expanded line");
  await details.getByRole("button", { name: "Filter for user=bob" }).click();
  await page.waitForFunction((n) => document.querySelectorAll(".log-row").length === n, LINES / 2);
  const q = new URL(page.url()).searchParams.get("query");
  assert.equal(q, `${query} | logfmt | user="bob"`);
  for (const t of await rowTexts()) assert.match(t, /user=bob/);
  const editorText = await page.locator(".cm-content").innerText();
  assert.equal(editorText, q);
});

await step("context shows the line's neighbours in its stream", async () => {
  // n=22 (h1, bob): its stream's neighbours are n=20 (alice, filtered out above) and n=24.
  const row = rows.filter({ hasText: " n=22 " });
  await row.locator(".log-line").click();
  await row.getByRole("button", { name: "Show context" }).click();
  await row.locator(".log-context-line.current").waitFor();
  const before = await row.locator(".log-context-line.before").allTextContents();
  const after = await row.locator(".log-context-line.after").allTextContents();
  assert.ok(before.length > 0 && after.length > 0, `${before.length} before, ${after.length} after`);
  assert.match(before.at(-1), / n=20 /);
  assert.match(after[0], / n=24 /);
  for (const t of [...before, ...after]) assert.match(t, / n=\d*[02468] /, "only host h1's lines");
  await page.screenshot({ path: `${shots}/logs-context.png` });
});

await step("back returns to the unfiltered query", async () => {
  await page.goBack();
  await page.waitForFunction((n) => document.querySelectorAll(".log-row").length === n, LINES);
  assert.equal(new URL(page.url()).searchParams.get("query"), query);
});

await step("a drag across the histogram zooms the range", async () => {
  const over = page.locator(".logs-histogram .u-over");
  const box = await over.boundingBox();
  const y = box.y + box.height / 2;
  await page.mouse.move(box.x + box.width * 0.5, y);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.99, y, { steps: 5 });
  await page.mouse.up();
  await page.waitForFunction(
    (from) => new URL(location.href).searchParams.get("from") !== from,
    String(now - 3_600_000),
  );
  const p = new URL(page.url()).searchParams;
  assert.match(p.get("from"), /^\d+$/);
  assert.ok(Number(p.get("from")) > now - 3_600_000 && Number(p.get("to")) > Number(p.get("from")));
  await page.locator(".logs-histogram canvas").waitFor();
});

await step("completion offers label names and values", async () => {
  await page.goto(`${base}/logs`);
  await page.getByRole("textbox", { name: "LogQL query" }).click();
  await page.keyboard.type("{ho");
  await page.locator(".cm-tooltip-autocomplete li", { hasText: "host" }).first().waitFor();
  await page.keyboard.press("Enter");
  await page.keyboard.type('="');
  await page.locator(".cm-tooltip-autocomplete li", { hasText: "h2" }).first().waitFor();
});

await step("a bad query's error names the place", async () => {
  await withBadRequests(async () => {
    await page.goto(`${base}/logs?${new URLSearchParams({ query: '{job="logsbrowser"} |= ' })}`);
    const alert = page.locator(".messages .error").first();
    await alert.waitFor();
    assert.match(await alert.innerText(), /parse error/);
  });
});

await step("a metric query draws a graph", async () => {
  await page.goto(
    `${base}/logs?${new URLSearchParams({ query: `sum by (host) (count_over_time(${query} [1m]))`, from: "now-1h" })}`,
  );
  await page.locator(".logs-result .graph canvas").waitFor();
  await page.locator(".graph .u-legend", { hasText: 'host="h1"' }).waitFor();
});

await step("live tail shows the lines and pauses", async () => {
  await page.goto(`${base}/logs?${new URLSearchParams({ query, from: "now-1h", live: "1" })}`);
  await page.waitForFunction((n) => document.querySelectorAll(".log-row").length >= n, 1);
  await page.getByRole("button", { name: "Pause" }).click();
  await page.getByRole("button", { name: "Resume" }).waitFor();
  await page.getByRole("button", { name: "Stop live" }).click();
  assert.doesNotMatch(page.url(), /live=1/);
});

await browser.close();
assert.deepEqual(problems, [], "console errors");
console.log("browser: logs: no console errors");
