// Builds the UI into dist/: the bundled, minified app (content-hashed names, so the server can
// let browsers cache them for good), index.html pointing at them, the favicon, and the
// bundled packages' licences. The output
// is committed and embedded into the binary, so `cargo build` needs no Node; .ci/run rebuilds
// it and fails when the committed copy differs.
import * as esbuild from "esbuild";
import { createHash } from "node:crypto";
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { basename } from "node:path";

const dist = "dist";
await rm(dist, { recursive: true, force: true });
await mkdir(`${dist}/assets`, { recursive: true });

const result = await esbuild.build({
  entryPoints: ["src/main.js"],
  bundle: true,
  minify: true,
  format: "esm",
  target: ["es2020"],
  outdir: `${dist}/assets`,
  entryNames: "[name]-[hash]",
  // Pages loaded on demand (the dashboards) come in chunks of their own.
  splitting: true,
  chunkNames: "[name]-[hash]",
  metafile: true,
  logLevel: "warning",
});

// The entry point's script and stylesheet are what index.html names; chunks load from it.
const entry = Object.entries(result.metafile.outputs).find(([, o]) => o.entryPoint === "src/main.js");
const outputs = [entry[0], entry[1].cssBundle].filter(Boolean).map((p) => basename(p));
const find = (ext) => {
  const names = outputs.filter((n) => n.endsWith(ext));
  if (names.length !== 1) throw new Error(`expected one ${ext} output, got ${names}`);
  return names[0];
};

// The licences of the packages bundled, shipped beside the bundle as their licences ask.
// Package directories, nested ones included (node_modules/a/node_modules/b).
const packages = new Set();
for (const input of Object.keys(result.metafile.inputs)) {
  const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (m) packages.add(m[1]);
}
let licenses = "";
for (const dir of [...packages].sort()) {
  const pkg = dir.replace(/^.*node_modules\//, "");
  const file = (await readdir(dir)).find((f) => /^(licen[sc]e|copying)/i.test(f));
  if (!file) throw new Error(`${pkg} has no licence file to ship`);
  const { version, license } = JSON.parse(await readFile(`${dir}/package.json`, "utf8"));
  licenses += `${"=".repeat(72)}\n${pkg} ${version} (${license})\n\n${await readFile(`${dir}/${file}`, "utf8")}\n`;
}
const hash = createHash("sha256").update(licenses).digest("hex").slice(0, 8);
const licensesFile = `licenses-${hash}.txt`;
await writeFile(`${dist}/assets/${licensesFile}`, licenses);

// A chunk's own stylesheet would never load (esbuild injects none): the styles of every page
// are in the entry's, so such files are dropped rather than shipped unused.
for (const out of Object.keys(result.metafile.outputs)) {
  if (out.endsWith(".css") && basename(out) !== find(".css")) await rm(out);
}

const html = (await readFile("index.html", "utf8"))
  .replace("%APP_JS%", find(".js"))
  .replace("%APP_CSS%", find(".css"))
  .replace("%LICENSES%", licensesFile);
await writeFile(`${dist}/index.html`, html);
await copyFile("favicon.svg", `${dist}/favicon.svg`);
