// A tiny element builder, so pages read as the DOM they make without a framework.

/**
 * h("button", { class: "x", onclick: fn, "aria-label": "Close" }, "text", child)
 * Attributes starting with "on" become listeners; `null`/`false` attributes and children are
 * skipped; strings become text nodes (never parsed as HTML).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces all of `el`'s children. */
export function replaceChildren(el, ...children) {
  el.replaceChildren();
  append(el, children);
}
