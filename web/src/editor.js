// The PromQL expression editor: CodeMirror 6 with Prometheus' own language package
// (@prometheus-io/codemirror-promql) for highlighting, linting and completion of functions,
// keywords and metric, label and value names read from bongsu's API.

import { autocompletion, closeBrackets, closeBracketsKeymap } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap, insertNewlineAndIndent } from "@codemirror/commands";
import { bracketMatching, HighlightStyle, indentOnInput, syntaxHighlighting } from "@codemirror/language";
import { lintKeymap } from "@codemirror/lint";
import { Compartment, EditorState } from "@codemirror/state";
import { EditorView, highlightSpecialChars, keymap, placeholder } from "@codemirror/view";
import { tags } from "@lezer/highlight";
import { PromQLExtension } from "@prometheus-io/codemirror-promql";

// Colours come from CSS variables so one style serves the light and the dark theme.
const highlight = HighlightStyle.define([
  { tag: tags.number, color: "var(--hl-number)" },
  { tag: tags.string, color: "var(--hl-string)" },
  { tag: tags.keyword, color: "var(--hl-keyword)", fontWeight: "bold" },
  { tag: tags.function(tags.variableName), color: "var(--hl-function)" },
  { tag: tags.labelName, color: "var(--hl-label)" },
  { tag: tags.operator, color: "var(--hl-operator)" },
  { tag: tags.modifier, color: "var(--hl-keyword)", fontWeight: "bold" },
  { tag: tags.comment, color: "var(--muted)", fontStyle: "italic" },
  { tag: tags.invalid, color: "var(--error)" },
]);

// One completion source for the page: its caches (metric names, labels) serve every panel.
const promql = new PromQLExtension().setComplete({
  remote: { url: "", cache: { maxAge: 5 * 60 * 1000 } },
});

// The editor's accessible name, changeable when panels are renumbered.
const labelling = new Compartment();

/** Gives the editor `view` the accessible name `label`. */
export function relabel(view, label) {
  view.dispatch({ effects: labelling.reconfigure(EditorView.contentAttributes.of({ "aria-label": label })) });
}

/**
 * A single-line-first editor in `parent` holding `doc`. Enter runs `onExecute` (Shift+Enter
 * inserts a newline, as in Prometheus); every change goes to `onChange`. `language`: the
 * extension giving highlighting and completion (PromQL's unless given).
 */
export function createEditor(parent, { doc, label, onChange, onExecute, language = promql.asExtension() }) {
  const execute = () => {
    onExecute();
    return true;
  };
  return new EditorView({
    parent,
    state: EditorState.create({
      doc,
      extensions: [
        history(),
        highlightSpecialChars(),
        indentOnInput(),
        bracketMatching(),
        closeBrackets(),
        autocompletion(),
        syntaxHighlighting(highlight),
        placeholder("Enter expression (press Shift+Enter for newlines)"),
        EditorView.lineWrapping,
        labelling.of(EditorView.contentAttributes.of({ "aria-label": label })),
        language,
        // autocompletion() binds Enter at a higher precedence while its list is open, so Enter
        // picks a completion then and executes otherwise.
        keymap.of([
          { key: "Enter", run: execute },
          { key: "Shift-Enter", run: insertNewlineAndIndent },
          ...closeBracketsKeymap,
          ...defaultKeymap,
          ...historyKeymap,
          ...lintKeymap,
        ]),
        EditorView.updateListener.of((u) => {
          if (u.docChanged) onChange(u.state.doc.toString());
        }),
      ],
    }),
  });
}
