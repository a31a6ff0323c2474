/**
 * A virtualised results grid: only the rows in view (plus a margin) are in the DOM, so 10,000 rows
 * scroll as smoothly as 10. Fixed row height; column widths from the header and a sample of values.
 * Arrow keys move the focused cell; Ctrl/Cmd-C copies it.
 */
// biome-ignore-all lint/a11y/useSemanticElements: a virtualised grid positions rows absolutely, which a <table> cannot do
// biome-ignore-all lint/a11y/useFocusableInteractive: the grid is one tab stop; arrow keys move the active cell (ARIA grid pattern)
// biome-ignore-all lint/a11y/useKeyWithClickEvents: the grid's keydown handler is the keyboard path to every cell
import { useMemo, useRef, useState } from 'preact/hooks';
import type { Row } from '../api';

const ROW_HEIGHT = 28;
const OVERSCAN = 10;

export function formatCell(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

const NUMERIC =
  /^(SMALLINT|INT|INTEGER|BIGINT|DECIMAL|NUMERIC|REAL|FLOAT|DOUBLE|INT2|INT4|INT8|FLOAT4|FLOAT8)/i;
export const isNumericType = (t: string | undefined) => !!t && NUMERIC.test(t);

export function ResultsGrid({
  columns,
  types,
  rows,
  label,
  firstRowNumber = 1,
}: {
  firstRowNumber?: number;
  columns: string[];
  types: string[];
  rows: Row[];
  label: string;
}) {
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewHeight, setViewHeight] = useState(400);
  const [focus, setFocus] = useState<[number, number] | null>(null);

  const template = useMemo(() => {
    const sample = rows.slice(0, 200);
    const widths = columns.map((c, i) => {
      const longest = Math.max(
        c.length,
        (types[i] ?? '').length,
        ...sample.map((r) => Math.min(60, formatCell(r[c]).length)),
      );
      return Math.max(64, Math.min(420, longest * 8 + 24));
    });
    return `56px ${widths.map((w) => `${w}px`).join(' ')}`;
  }, [columns, types, rows]);

  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((scrollTop + viewHeight) / ROW_HEIGHT) + OVERSCAN);

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    setScrollTop(el.scrollTop);
    if (el.clientHeight !== viewHeight) setViewHeight(el.clientHeight);
  };

  const onKeyDown = (e: KeyboardEvent) => {
    if (!focus) return;
    const [r, c] = focus;
    const moves: Record<string, [number, number]> = {
      ArrowDown: [Math.min(rows.length - 1, r + 1), c],
      ArrowUp: [Math.max(0, r - 1), c],
      ArrowRight: [r, Math.min(columns.length - 1, c + 1)],
      ArrowLeft: [r, Math.max(0, c - 1)],
      PageDown: [Math.min(rows.length - 1, r + 20), c],
      PageUp: [Math.max(0, r - 20), c],
    };
    const next = moves[e.key];
    if (next) {
      e.preventDefault();
      setFocus(next);
      const el = scroller.current;
      if (el) {
        const top = next[0] * ROW_HEIGHT;
        if (top < el.scrollTop) el.scrollTop = top;
        else if (top + 2 * ROW_HEIGHT > el.scrollTop + el.clientHeight)
          el.scrollTop = top + 2 * ROW_HEIGHT - el.clientHeight;
      }
    } else if ((e.ctrlKey || e.metaKey) && e.key === 'c') {
      const row = rows[r];
      const col = columns[c];
      if (row && col) void navigator.clipboard?.writeText(formatCell(row[col]));
    }
  };

  const visible = [];
  for (let i = first; i < last; i++) {
    const row = rows[i]!;
    visible.push(
      <div
        class="grid-row"
        role="row"
        aria-rowindex={i + 2}
        key={i}
        style={{ transform: `translateY(${i * ROW_HEIGHT}px)`, gridTemplateColumns: template }}
      >
        <span class="grid-rownum" role="rowheader">
          {i + firstRowNumber}
        </span>
        {columns.map((c, j) => {
          const v = row[c];
          const focused = focus?.[0] === i && focus[1] === j;
          return (
            <span
              role="gridcell"
              key={c}
              class={`grid-cell${v === null || v === undefined ? ' null' : ''}${isNumericType(types[j]) ? ' num' : ''}${focused ? ' focused' : ''}`}
              onClick={() => setFocus([i, j])}
              title={formatCell(v)}
            >
              {formatCell(v)}
            </span>
          );
        })}
      </div>,
    );
  }

  return (
    <div
      class="grid"
      role="grid"
      aria-label={label}
      aria-rowcount={rows.length + 1}
      aria-colcount={columns.length}
      tabIndex={0}
      onKeyDown={onKeyDown}
      onFocus={() => focus === null && rows.length > 0 && setFocus([0, 0])}
    >
      <div class="grid-scroll" ref={scroller} onScroll={onScroll}>
        <div class="grid-header" role="row" aria-rowindex={1} style={{ gridTemplateColumns: template }}>
          <span class="grid-rownum" role="columnheader">
            #
          </span>
          {columns.map((c, i) => (
            <span role="columnheader" key={c} class="grid-head">
              <span class="col-name">{c}</span>
              <span class="col-type">{types[i] ?? ''}</span>
            </span>
          ))}
        </div>
        <div class="grid-body" style={{ height: `${rows.length * ROW_HEIGHT}px` }}>
          {visible}
        </div>
      </div>
    </div>
  );
}
