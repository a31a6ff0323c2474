/**
 * A small Prometheus registry: counters, gauges and histograms with fixed label names, rendered in
 * the text exposition format (version 0.0.4). What `/metrics` needs without prom-client: no
 * summaries, exemplars or OpenMetrics. Label values must come from bounded sets (routes, status
 * codes, error codes) — never tenant ids or request data unless the caller bounds them.
 */

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type LabelValues<L extends string> = { readonly [K in L]: string | number };

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const escapeHelp = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}

abstract class Family<L extends string> {
  protected readonly series = new Map<string, { labels: string; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly L[],
    readonly type: 'counter' | 'gauge' | 'histogram',
  ) {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new Error(`invalid metric name ${name}`);
  }

  /** `{a="x",b="y"}` for these values, in label-name order ('' without labels). */
  protected labelText(values: LabelValues<L> | undefined, extra?: string): string {
    const parts: string[] = [];
    for (const n of this.labelNames) parts.push(`${n}="${escapeLabel(String(values?.[n] ?? ''))}"`);
    if (extra) parts.push(extra);
    return parts.length ? `{${parts.join(',')}}` : '';
  }

  protected key(values: LabelValues<L> | undefined): string {
    if (this.labelNames.length === 0) return '';
    let k = '';
    for (const n of this.labelNames) k += `${values?.[n] ?? ''}\u0001`;
    return k;
  }

  protected header(): string {
    return `# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} ${this.type}\n`;
  }

  render(): string {
    let out = this.header();
    if (this.series.size === 0 && this.labelNames.length === 0) return `${out}${this.name} 0\n`;
    for (const s of this.series.values()) out += `${this.name}${s.labels} ${formatValue(s.value)}\n`;
    return out;
  }

  /** Current value of one series (tests and collectors). */
  get(values?: LabelValues<L>): number {
    return this.series.get(this.key(values))?.value ?? 0;
  }

  protected add(values: LabelValues<L> | undefined, delta: number): void {
    const k = this.key(values);
    const s = this.series.get(k);
    if (s) s.value += delta;
    else this.series.set(k, { labels: this.labelText(values), value: delta });
  }
}

export class Counter<L extends string = never> extends Family<L> {
  constructor(name: string, help: string, labelNames: readonly L[] = []) {
    super(name, help, labelNames, 'counter');
  }
  inc(values?: LabelValues<L>, by = 1): void {
    if (by < 0) throw new Error('a counter only goes up');
    this.add(values, by);
  }
}

export class Gauge<L extends string = never> extends Family<L> {
  constructor(name: string, help: string, labelNames: readonly L[] = []) {
    super(name, help, labelNames, 'gauge');
  }
  set(values: LabelValues<L> | undefined, value: number): void {
    const k = this.key(values);
    const s = this.series.get(k);
    if (s) s.value = value;
    else this.series.set(k, { labels: this.labelText(values), value });
  }
  inc(values?: LabelValues<L>, by = 1): void {
    this.add(values, by);
  }
  /** Forgets every series (collectors that rebuild the whole family on each scrape). */
  reset(): void {
    this.series.clear();
  }
}

interface HistogramSeries {
  labels: LabelValues<string> | undefined;
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram<L extends string = never> extends Family<L> {
  private readonly buckets: number[];
  private readonly hist = new Map<string, HistogramSeries>();

  constructor(name: string, help: string, labelNames: readonly L[], buckets: readonly number[]) {
    super(name, help, labelNames, 'histogram');
    this.buckets = [...buckets].sort((a, b) => a - b);
  }

  observe(values: LabelValues<L> | undefined, v: number): void {
    const k = this.key(values);
    let s = this.hist.get(k);
    if (!s) {
      s = { labels: values, counts: new Array(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.hist.set(k, s);
    }
    const b = this.buckets;
    for (let i = 0; i < b.length; i++) {
      if (v <= b[i]!) {
        s.counts[i]!++;
        break;
      }
    }
    s.sum += v;
    s.count++;
  }

  override get(values?: LabelValues<L>): number {
    return this.hist.get(this.key(values))?.count ?? 0;
  }

  override render(): string {
    let out = this.header();
    for (const s of this.hist.values()) {
      const labels = s.labels as LabelValues<L> | undefined;
      let cumulative = 0;
      for (let i = 0; i < this.buckets.length; i++) {
        cumulative += s.counts[i]!;
        out += `${this.name}_bucket${this.labelText(labels, `le="${formatValue(this.buckets[i]!)}"`)} ${cumulative}\n`;
      }
      out += `${this.name}_bucket${this.labelText(labels, 'le="+Inf"')} ${s.count}\n`;
      out += `${this.name}_sum${this.labelText(labels)} ${formatValue(s.sum)}\n`;
      out += `${this.name}_count${this.labelText(labels)} ${s.count}\n`;
    }
    return out;
  }
}

/** Seconds buckets for request latency: 2 ms … 60 s. */
export const LATENCY_BUCKETS = [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60];

interface Renderable {
  readonly name: string;
  render(): string;
}

/** A collector slower than this is skipped for the scrape (its gauges keep their last values). */
const COLLECT_TIMEOUT_MS = 2000;

/** Collects families and renders them; collectors refresh scrape-time gauges first. */
export class Registry {
  private readonly families: Renderable[] = [];
  private readonly collectors: (() => Promise<void> | void)[] = [];

  register<F extends Renderable>(family: F): F {
    if (this.families.some((f) => f.name === family.name)) throw new Error(`duplicate metric ${family.name}`);
    this.families.push(family);
    return family;
  }

  counter<L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return this.register(new Counter<L>(name, help, labelNames));
  }

  gauge<L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
    return this.register(new Gauge<L>(name, help, labelNames));
  }

  histogram<L extends string = never>(
    name: string,
    help: string,
    labelNames: readonly L[],
    buckets: readonly number[] = LATENCY_BUCKETS,
  ): Histogram<L> {
    return this.register(new Histogram<L>(name, help, labelNames, buckets));
  }

  /** Runs before each render; a collector that fails or is slow leaves its gauges as they were. */
  addCollector(collect: () => Promise<void> | void): void {
    this.collectors.push(collect);
  }

  async render(): Promise<string> {
    await Promise.all(
      this.collectors.map(async (collect) => {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            collect(),
            new Promise<void>((resolve) => {
              timer = setTimeout(resolve, COLLECT_TIMEOUT_MS);
            }),
          ]);
        } catch {
          // A failing source must not take the other metrics down with it.
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    return this.families.map((f) => f.render()).join('');
  }
}
