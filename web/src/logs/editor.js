// The LogQL editor: the query page's editor (editor.js) with LogQL completion instead of
// PromQL's: stream label names and values inside `{}`, stages after `|` (and the fields a
// parser stage extracts, from `detected_fields`), functions and keywords of metric queries.

import { completionStatus, startCompletion } from "@codemirror/autocomplete";
import { EditorState } from "@codemirror/state";
import { EditorView } from "@codemirror/view";
import { createEditor } from "../editor.js";
import { completionContext, FUNCTIONS, KEYWORDS, PARSERS, STAGES, streamSelector } from "./logql.js";

const option = (label, type, detail) => ({ label, type, detail });

/**
 * An editor in `parent`; `source` answers completion's lookups: `labels()`, `values(name)`
 * and `fields(selector)`, each a Promise of names.
 */
export function createLogQLEditor(parent, { doc, onChange, onExecute, source }) {
  const complete = async (cx) => {
    const text = cx.state.doc.toString();
    const at = completionContext(text, cx.pos);
    if (!at) return null;
    const word = text.slice(at.from, cx.pos);
    if (!cx.explicit && word === "" && at.kind === "function") return null;
    let options = [];
    let validFor = /^\w*$/;
    switch (at.kind) {
      case "labelName":
        options = (await source.labels()).map((l) => option(l, "property", "label"));
        break;
      case "labelValue":
        options = (await source.values(at.label)).map((v) => ({
          label: v,
          type: "text",
          apply: JSON.stringify(v).slice(1, -1),
        }));
        validFor = /^[^"]*$/;
        break;
      case "pipe": {
        options = [
          ...PARSERS.map((p) => option(p, "keyword", "parser")),
          ...STAGES.map((s) => option(s, "keyword", "stage")),
        ];
        const selector = streamSelector(text);
        if (at.afterParser && selector) {
          const fields = await source.fields(selector).catch(() => []);
          options.push(...fields.map((f) => option(f, "property", "field")));
        }
        break;
      }
      case "function":
        options = [
          ...FUNCTIONS.map((f) => option(f, "function", "function")),
          ...KEYWORDS.map((k) => option(k, "keyword", "keyword")),
        ];
        break;
    }
    return { from: at.from, options, validFor };
  };
  return createEditor(parent, {
    doc,
    label: "LogQL query",
    onChange,
    onExecute,
    language: [
      EditorState.languageData.of(() => [{ autocomplete: complete }]),
      // A quote opened after a matcher's operator (closed at once by closeBrackets, which
      // completion does not count as typing) opens the list of values.
      EditorView.updateListener.of((u) => {
        if (!u.docChanged || completionStatus(u.state) !== null) return;
        const pos = u.state.selection.main.head;
        const at = completionContext(u.state.doc.toString(), pos);
        if (at?.kind === "labelValue" && at.from === pos) setTimeout(() => startCompletion(u.view));
      }),
    ],
  });
}
