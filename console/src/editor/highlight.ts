/**
 * Syntax colours for light and dark (CodeMirror's default style is for light backgrounds only), picked
 * by the system preference when the editor is created. `@lezer/highlight` is CodeMirror's own tag set,
 * installed with @codemirror/language.
 */
import { HighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { tags as t } from '@lezer/highlight';

const palette = (dark: boolean) =>
  dark
    ? {
        keyword: '#ff7b72',
        string: '#a5d6ff',
        number: '#79c0ff',
        fn: '#d2a8ff',
        comment: '#8b949e',
        type: '#ffa657',
        op: '#e6edf3',
      }
    : {
        keyword: '#cf222e',
        string: '#0a3069',
        number: '#0550ae',
        fn: '#8250df',
        comment: '#6e7781',
        type: '#953800',
        op: '#1f2328',
      };

export function sqlHighlighting(dark: boolean) {
  const c = palette(dark);
  return syntaxHighlighting(
    HighlightStyle.define([
      { tag: t.keyword, color: c.keyword, fontWeight: '600' },
      { tag: [t.string, t.special(t.string)], color: c.string },
      { tag: [t.number, t.bool, t.null], color: c.number },
      { tag: [t.function(t.variableName), t.standard(t.name)], color: c.fn },
      { tag: [t.typeName, t.standard(t.typeName)], color: c.type },
      { tag: [t.lineComment, t.blockComment], color: c.comment, fontStyle: 'italic' },
      { tag: [t.operator, t.punctuation], color: c.op },
      { tag: t.special(t.name), color: c.type },
    ]),
  );
}
