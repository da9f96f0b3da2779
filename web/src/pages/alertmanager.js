// The built-in Alertmanager's pages, over its v2 API as Alertmanager's own UI: alerts by
// notification group (/alertmanager/alerts), and silences (/alertmanager/silences): listed by
// state, created from matchers (prefilled from an alert's labels) with a preview of the alerts
// they would mute, edited, recreated, expired.

import { amCall } from "../api.js";
import { h, replaceChildren } from "../dom.js";
import { alertLogsUrl } from "../logslink.js";
import { formatMatchers, parseMatchers } from "../matchers.js";
import { ago, filterBox, labelBadges, loadingPage, logsButton, stateBadge } from "./common.js";
import { formatDuration, parseDuration } from "../time.js";

function silenceLink(labels) {
  const matchers = Object.entries(labels).map(([name, value]) => ({
    name,
    value,
    isRegex: false,
    isEqual: true,
  }));
  const href = `/alertmanager/silences?filter=${encodeURIComponent(formatMatchers(matchers))}`;
  return h("a", { href, class: "button-link" }, "Silence");
}

export const amAlertsPage = loadingPage(
  "Alertmanager alerts",
  (signal) => amCall("/api/v2/alerts/groups", { signal }),
  (groups) => {
    if (groups.length === 0 || groups.every((g) => g.alerts.length === 0)) {
      return h("p", { class: "muted" }, "No alerts.");
    }
    const list = h(
      "div",
      {},
      groups
        .filter((g) => g.alerts.length > 0)
        .map((g) =>
          h(
            "section",
            { class: "pool am-group" },
            h(
              "h2",
              {},
              labelBadges(g.labels),
              h(
                "span",
                { class: "muted" },
                ` · receiver ${g.receiver?.name ?? ""} · ${g.alerts.length} alert(s)`,
              ),
            ),
            g.alerts.map((a) =>
              h(
                "div",
                { class: "am-alert" },
                h(
                  "div",
                  { class: "am-alert-head" },
                  stateBadge(a.status?.state === "active" ? "firing" : (a.status?.state ?? "")),
                  " started ",
                  ago(a.startsAt),
                  " ",
                  logsButton(alertLogsUrl(a, Date.parse(a.endsAt) <= Date.now()), a.labels),
                  silenceLink(a.labels),
                  a.generatorURL ? [" ", h("a", { href: a.generatorURL }, "Source")] : "",
                ),
                labelBadges(a.labels),
                Object.keys(a.annotations ?? {}).length
                  ? h(
                      "dl",
                      { class: "annotations" },
                      Object.entries(a.annotations).map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]),
                    )
                  : "",
              ),
            ),
          ),
        ),
    );
    return [filterBox(list, ".am-group", "Filter by label"), list];
  },
);

const STATES = ["active", "pending", "expired"];

/** Most affected alerts listed in a preview; the count still counts all. */
const PREVIEW_MAX = 100;

/**
 * The alerts a silence with `text`'s matchers would mute, as Alertmanager's "Preview alerts":
 * every alert the matchers select, silenced or inhibited already or not.
 */
async function previewAlerts(text, out) {
  const matchers = parseMatchers(text);
  const q = new URLSearchParams({ active: "true", silenced: "true", inhibited: "true", unprocessed: "true" });
  for (const m of matchers) q.append("filter", formatMatchers([m]).slice(1, -1));
  const alerts = await amCall(`/api/v2/alerts?${q}`);
  replaceChildren(
    out,
    h("h3", { class: "preview-count" }, `Affected alerts: ${alerts.length}`),
    alerts.length === 0
      ? h("p", { class: "muted" }, "No alert matches these matchers now.")
      : h(
          "ul",
          { class: "preview-list", "aria-label": "Affected alerts" },
          alerts.slice(0, PREVIEW_MAX).map((a) => h("li", {}, labelBadges(a.labels))),
        ),
    alerts.length > PREVIEW_MAX
      ? h("p", { class: "muted" }, `Showing ${PREVIEW_MAX} of ${alerts.length}.`)
      : null,
  );
}

/**
 * The new/edit silence form, open with `filter`'s matchers when given. Returns the element and
 * `fill(silence, editing)`: the form loaded with a silence's matchers, creator and comment, to
 * update it in place (`editing`, its id kept, as Alertmanager's Edit) or to recreate it.
 */
function silenceForm(reload, filter) {
  let editId = null;
  const error = h("div", { role: "alert" });
  const field = (label, input) => h("label", { class: "field" }, h("span", {}, label), input);
  const matchers = h("input", {
    type: "text",
    required: true,
    value: filter,
    placeholder: '{alertname="Down"}',
  });
  const duration = h("input", { type: "text", required: true, value: "2h" });
  const creator = h("input", {
    type: "text",
    required: true,
    value: localStorage.getItem("bongsu.silence.creator") ?? "",
  });
  const comment = h("textarea", { required: true, rows: "2" });
  const preview = h("div", { class: "silence-preview", "aria-live": "polite" });
  const runPreview = async () => {
    replaceChildren(error);
    error.className = "";
    try {
      await previewAlerts(matchers.value, preview);
    } catch (err) {
      replaceChildren(preview);
      error.className = "error";
      replaceChildren(error, `Could not preview the alerts: ${err.message}`);
    }
  };
  const submit = h("button", { type: "submit", class: "primary" }, "Create");
  const form = h(
    "form",
    {
      class: "silence-form",
      onsubmit: async (e) => {
        e.preventDefault();
        replaceChildren(error);
        error.className = "";
        try {
          const ms = parseDuration(duration.value);
          if (!ms) throw new Error(`${JSON.stringify(duration.value)} is not a duration such as 2h or 1d`);
          const start = new Date();
          await amCall("/api/v2/silences", {
            method: "POST",
            body: {
              ...(editId ? { id: editId } : {}),
              matchers: parseMatchers(matchers.value),
              startsAt: start.toISOString(),
              endsAt: new Date(start.getTime() + ms).toISOString(),
              createdBy: creator.value,
              comment: comment.value,
            },
          });
          localStorage.setItem("bongsu.silence.creator", creator.value);
          history.replaceState(null, "", "/alertmanager/silences");
          reload();
        } catch (err) {
          error.className = "error";
          replaceChildren(error, `Could not create the silence: ${err.message}`);
        }
      },
    },
    field("Matchers", matchers),
    field("Duration", duration),
    field("Creator", creator),
    field("Comment", comment),
    h(
      "div",
      { class: "silence-buttons" },
      h("button", { type: "button", onclick: runPreview }, "Preview alerts"),
      submit,
    ),
    error,
    preview,
  );
  // A form opened from an alert ("Silence") shows what it would mute straight away.
  if (filter !== "") runPreview();
  const title = h("strong", {}, "New silence");
  const el = h("details", { class: "pool", open: filter !== "" }, h("summary", {}, title), form);
  const fill = (silence, editing) => {
    editId = editing ? silence.id : null;
    matchers.value = formatMatchers(silence.matchers);
    creator.value = silence.createdBy;
    comment.value = silence.comment;
    const left = Date.parse(silence.endsAt) - Date.now();
    if (editing && left > 0) duration.value = formatDuration(Math.ceil(left / 60000) * 60000);
    title.textContent = editing ? `Edit silence ${silence.id}` : "New silence";
    submit.textContent = editing ? "Update" : "Create";
    el.open = true;
    el.scrollIntoView({ block: "start" });
    runPreview();
  };
  return { el, fill };
}

function silenceRow(s, reload, fill) {
  const failure = h("div", { role: "alert" });
  const expire = async (e) => {
    e.target.disabled = true;
    try {
      await amCall(`/api/v2/silence/${encodeURIComponent(s.id)}`, { method: "DELETE" });
      reload();
    } catch (err) {
      e.target.disabled = false;
      failure.className = "error";
      replaceChildren(failure, `Could not expire the silence: ${err.message}`);
    }
  };
  const ends = Date.parse(s.endsAt) - Date.now();
  return h(
    "div",
    { class: "am-silence" },
    h(
      "div",
      { class: "am-alert-head" },
      stateBadge(s.status.state),
      h("code", {}, formatMatchers(s.matchers)),
      s.status.state === "expired"
        ? h("span", { class: "muted" }, " ended ", ago(s.endsAt))
        : h(
            "span",
            { class: "muted" },
            ` ends in ${formatDuration(Math.max(0, Math.round(ends / 1000) * 1000))}`,
          ),
      s.status.state !== "expired"
        ? [
            h(
              "button",
              { type: "button", onclick: () => fill(s, true), "aria-label": `Edit silence ${s.id}` },
              "Edit",
            ),
            h(
              "button",
              { type: "button", onclick: expire, "aria-label": `Expire silence ${s.id}` },
              "Expire",
            ),
          ]
        : h(
            "button",
            { type: "button", onclick: () => fill(s, false), "aria-label": `Recreate silence ${s.id}` },
            "Recreate",
          ),
    ),
    h("div", { class: "muted" }, `${s.createdBy}: ${s.comment}`),
    failure,
  );
}

export const amSilencesPage = loadingPage(
  "Silences",
  (signal) => amCall("/api/v2/silences", { signal }),
  (silences, reload) => {
    const filter = new URLSearchParams(location.search).get("filter") ?? "";
    const form = silenceForm(reload, filter);
    return [
      form.el,
      STATES.map((state) => {
        const these = silences.filter((s) => s.status.state === state);
        return [
          h("h2", {}, `${state[0].toUpperCase()}${state.slice(1)} (${these.length})`),
          these.length === 0
            ? h("p", { class: "muted" }, "None.")
            : these.map((s) => silenceRow(s, reload, form.fill)),
        ];
      }),
    ];
  },
);
