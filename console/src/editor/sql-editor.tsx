/**
 * The CodeMirror 6 SQL editor: Redshift highlighting, completion of keywords, functions and the
 * tables/columns the caller can see, Ctrl/Cmd-Enter to run the selection or the statement under the
 * cursor (Shift as well: run as a job), and guard errors drawn at their position.
 */
import { autocompletion, type Completion } from '@codemirror/autocomplete';
import { sql } from '@codemirror/lang-sql';
import { type Diagnostic, setDiagnostics } from '@codemirror/lint';
import { Compartment, EditorState, Prec } from '@codemirror/state';
import { EditorView, keymap } from '@codemirror/view';
import { basicSetup } from 'codemirror';
import { useEffect, useRef } from 'preact/hooks';
import type { CatalogTable } from '../api';
import { sqlHighlighting } from './highlight';
import { REDSHIFT_FUNCTIONS, RedshiftSQL } from './redshift-dialect';
import { indexOfCodePoint, statementAt } from './statements';

export interface RunRequest {
  sql: string;
  /** Offset of `sql` in the editor, to place errors. */
  from: number;
}

export interface EditorHandle {
  view: EditorView | null;
  /** The selection, or the statement under the cursor. */
  current(): RunRequest;
  text(): string;
  setText(text: string): void;
  insert(text: string): void;
  markError(run: RunRequest, position: number, message: string, near?: string): void;
  clearErrors(): void;
}

const functionCompletions: Completion[] = REDSHIFT_FUNCTIONS.map((f) => ({
  label: f,
  type: 'function',
  apply: `${f}()`,
  boost: -1,
}));

function languageFor(tables: CatalogTable[]) {
  const schema: Record<string, string[]> = {};
  for (const t of tables) {
    const cols = t.columns.map((c) => c.name);
    schema[t.name] = cols;
    if (t.schema && t.schema !== 'public') schema[`${t.schema}.${t.name}`] = cols;
  }
  return [
    sql({ dialect: RedshiftSQL, schema, upperCaseKeywords: true }),
    RedshiftSQL.language.data.of({
      autocomplete: (ctx: import('@codemirror/autocomplete').CompletionContext) => {
        const word = ctx.matchBefore(/\w+/);
        if (!word || (word.from === word.to && !ctx.explicit)) return null;
        return { from: word.from, options: functionCompletions, validFor: /^\w*$/ };
      },
    }),
  ];
}

export function SqlEditor({
  initial,
  tables,
  onRun,
  onChange,
  handle,
}: {
  initial: string;
  tables: CatalogTable[];
  onRun: (run: RunRequest, asJob: boolean) => void;
  onChange: (text: string) => void;
  handle: { current: EditorHandle | null };
}) {
  const host = useRef<HTMLDivElement>(null);
  const language = useRef(new Compartment());
  const viewRef = useRef<EditorView | null>(null);
  const callbacks = useRef({ onRun, onChange });
  callbacks.current = { onRun, onChange };

  useEffect(() => {
    const current = (): RunRequest => {
      const view = viewRef.current!;
      const sel = view.state.selection.main;
      if (!sel.empty) {
        const raw = view.state.sliceDoc(sel.from, sel.to);
        return { sql: raw.trim(), from: sel.from + (raw.length - raw.trimStart().length) };
      }
      return statementAt(view.state.doc.toString(), sel.head);
    };
    const run = (asJob: boolean) => () => {
      callbacks.current.onRun(current(), asJob);
      return true;
    };
    const view = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: initial,
        extensions: [
          Prec.highest(
            keymap.of([
              { key: 'Mod-Enter', run: run(false) },
              { key: 'Shift-Mod-Enter', run: run(true) },
            ]),
          ),
          Prec.high(sqlHighlighting(matchMedia('(prefers-color-scheme: dark)').matches)),
          basicSetup,
          autocompletion({ activateOnTyping: true }),
          language.current.of(languageFor(tables)),
          EditorView.lineWrapping,
          EditorView.contentAttributes.of({ 'aria-label': 'SQL editor' }),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) callbacks.current.onChange(u.state.doc.toString());
          }),
        ],
      }),
    });
    viewRef.current = view;
    handle.current = {
      view,
      current,
      text: () => view.state.doc.toString(),
      setText: (text) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } }),
      insert: (text) => {
        const sel = view.state.selection.main;
        view.dispatch({
          changes: { from: sel.from, to: sel.to, insert: text },
          selection: { anchor: sel.from + text.length },
        });
        view.focus();
      },
      markError: (r, position, message, near) => {
        const from = Math.min(view.state.doc.length, r.from + indexOfCodePoint(r.sql, position));
        const word = near?.match(/^\S+/)?.[0].length ?? 1;
        const to = Math.min(view.state.doc.length, from + Math.max(1, word));
        const diagnostic: Diagnostic = { from, to, severity: 'error', message };
        view.dispatch(setDiagnostics(view.state, [diagnostic]));
        view.dispatch({ selection: { anchor: from }, scrollIntoView: true });
      },
      clearErrors: () => view.dispatch(setDiagnostics(view.state, [])),
    };
    return () => {
      view.destroy();
      viewRef.current = null;
      handle.current = null;
    };
  }, []);

  useEffect(() => {
    viewRef.current?.dispatch({ effects: language.current.reconfigure(languageFor(tables)) });
  }, [tables]);

  return <div class="editor" ref={host} />;
}
