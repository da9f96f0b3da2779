// The page for a path under the UI's routes that names no page.

import { h, replaceChildren } from "../dom.js";

/** A path under the UI's routes that names no page. */
export function notFound(root) {
  replaceChildren(
    root,
    h("h1", {}, "Page not found"),
    h(
      "p",
      {},
      "No page of bongsu's UI has this address. ",
      h("a", { href: "/query" }, "Go to the query page"),
      ".",
    ),
  );
}
