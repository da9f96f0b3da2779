// The UI's pages that are not built yet: a clear message, and where the same data is today.

import { h, replaceChildren } from "../dom.js";

/** A page titled `title` saying it is not built yet; `api` is the endpoint with its data. */
export function notBuilt(title, api) {
  return (root) => {
    replaceChildren(
      root,
      h("h1", {}, title),
      h(
        "p",
        { class: "notice", role: "status" },
        `The ${title} page is not built yet in bongsu's UI.`,
        api ? [" Its data is available from the HTTP API: ", h("a", { href: api }, api), "."] : "",
      ),
    );
  };
}

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
