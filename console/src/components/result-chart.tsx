/**
 * A chart of a result with one category column and numeric columns (uPlot): a line when the category
 * is a date or time, bars otherwise, switchable. Values that are strings (DECIMAL, BIGINT) are parsed
 * for plotting only; the grid keeps them exact.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Row } from '../api';
import { isNumericType } from './results-grid';

export type ChartKind = 'bar' | 'line';

export interface ChartPlan {
  category: string;
  series: string[];
  suggested: ChartKind;
}

const TEMPORAL = /^(DATE|TIME|TIMESTAMP)/i;
const PALETTE = ['#1f6feb', '#d97706', '#16a34a', '#db2777', '#7c3aed', '#0891b2'];

const toNumber = (v: unknown): number | null => {
  if (v === null || v === undefined || v === '') return null;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : null;
};

/** The chartable shape of a result, or null: one category column (the first non-numeric) and ≥ 1 numeric column. */
export function planChart(columns: string[], types: string[], rows: Row[]): ChartPlan | null {
  if (rows.length === 0 || rows.length > 2000 || columns.length < 2) return null;
  const numeric = columns.filter(
    (c, i) =>
      isNumericType(types[i]) || (types[i] === undefined && rows.every((r) => toNumber(r[c]) !== null)),
  );
  const categoryIndex = columns.findIndex((c) => !numeric.includes(c));
  const category = categoryIndex >= 0 ? columns[categoryIndex]! : numeric.length > 1 ? numeric[0]! : null;
  if (!category) return null;
  const series = numeric.filter((c) => c !== category).slice(0, PALETTE.length);
  if (series.length === 0) return null;
  return { category, series, suggested: TEMPORAL.test(types[categoryIndex] ?? '') ? 'line' : 'bar' };
}

export function ResultChart({ plan, kind, rows }: { plan: ChartPlan; kind: ChartKind; rows: Row[] }) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const labels = rows.map((r) => String(r[plan.category] ?? 'NULL'));
    const xs = labels.map((_, i) => i);
    const data: uPlot.AlignedData = [xs, ...plan.series.map((s) => rows.map((r) => toNumber(r[s])))];
    const dark = matchMedia('(prefers-color-scheme: dark)').matches;
    const ink = dark ? '#c9d1d9' : '#24292f';
    const grid = dark ? '#30363d' : '#e5e7eb';
    const n = plan.series.length;
    // A series far smaller than the first (a count beside a sum) gets its own axis on the right.
    const peak = (s: string) => Math.max(0, ...rows.map((r) => Math.abs(toNumber(r[s]) ?? 0)));
    const firstPeak = peak(plan.series[0]!);
    const scaleOf = (s: string, i: number) => (i > 0 && peak(s) * 20 < firstPeak ? 'y2' : 'y');
    const usesY2 = plan.series.some((s, i) => scaleOf(s, i) === 'y2');
    const yAxis = (scale: string, side: number) => ({
      scale,
      side,
      stroke: ink,
      grid: { stroke: grid, show: side === 3 },
      ticks: { stroke: grid },
      // Wide enough for the longest tick label (uPlot's default clips "3,000,000").
      size: (_u: uPlot, values: string[]) =>
        16 + 7.5 * Math.max(4, ...(values ?? []).map((v) => String(v).length)),
    });
    const bars = uPlot.paths.bars!;
    const opts: uPlot.Options = {
      width: Math.max(320, el.clientWidth),
      height: 320,
      // Bars and values compared by height need a zero baseline on both axes.
      scales: {
        x: { time: false, range: (_u, min, max) => [min - 0.5, max + 0.5] },
        y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.05 : 1] },
        y2: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.05 : 1] },
      },
      axes: [
        {
          stroke: ink,
          grid: { stroke: grid },
          ticks: { stroke: grid },
          splits: () => xs,
          values: (_u, splits) => splits.map((i) => labels[i] ?? ''),
        },
        yAxis('y', 3),
        ...(usesY2 ? [yAxis('y2', 1)] : []),
      ],
      legend: { show: true },
      series: [
        { label: plan.category, value: (_u, v) => (v === null ? '' : (labels[v] ?? '')) },
        ...plan.series.map((s, i) => {
          // On the right axis a series is a line over the bars (a combo chart), so neither hides the other.
          const asBars = kind === 'bar' && scaleOf(s, i) === 'y';
          const share = 1 - (i * 0.6) / n;
          return {
            label: scaleOf(s, i) === 'y2' ? `${s} (right axis)` : s,
            scale: scaleOf(s, i),
            stroke: PALETTE[i],
            width: asBars ? 1 : 2,
            fill: asBars ? `${PALETTE[i]}cc` : undefined,
            points: { show: !asBars && rows.length < 60 },
            // Several bar series: nested, each narrower than the one behind it.
            paths: asBars ? bars({ size: [0.8 * share, 120 * share], align: 0 }) : undefined,
          };
        }),
      ],
    };
    const plot = new uPlot(opts, data, el);
    const resize = new ResizeObserver(() =>
      plot.setSize({ width: Math.max(320, el.clientWidth), height: 320 }),
    );
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [plan, kind, rows]);
  return (
    <figure class="chart" aria-label={`${kind} chart of ${plan.series.join(', ')} by ${plan.category}`}>
      <div ref={host} class="chart-host" data-kind={kind} />
    </figure>
  );
}
