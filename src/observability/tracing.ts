/**
 * Tracing without the OpenTelemetry SDK: W3C Trace Context (`traceparent`) is honoured and
 * propagated, every request gets a server span with child spans for its phases (auth, plan, db,
 * encode, deliver), and finished spans go to a SpanExporter when one is configured (OTLP/HTTP,
 * otlp-exporter.ts). Without an exporter spans are not recorded; the ids still flow into the
 * response `traceparent` header and every log line, so logs of one trace can be joined.
 */
import { randomFillSync } from 'node:crypto';

export interface SpanContext {
  /** 32 lower-case hex digits, not all zero. */
  traceId: string;
  /** 16 lower-case hex digits, not all zero. */
  spanId: string;
  sampled: boolean;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** Parses a `traceparent` header (W3C Trace Context level 1); null when absent or invalid. */
export function parseTraceparent(header: string | undefined | null): SpanContext | null {
  if (!header) return null;
  const m = TRACEPARENT.exec(header.trim().toLowerCase());
  if (!m) return null;
  const [, version, traceId, spanId, flags, rest] = m;
  if (version === 'ff') return null;
  // Version 00 has exactly four fields; later versions may append more, which we ignore.
  if (version === '00' && rest !== undefined) return null;
  if (/^0+$/.test(traceId!) || /^0+$/.test(spanId!)) return null;
  return { traceId: traceId!, spanId: spanId!, sampled: (Number.parseInt(flags!, 16) & 1) === 1 };
}

export function formatTraceparent(ctx: SpanContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${ctx.sampled ? '01' : '00'}`;
}

const idPool = Buffer.alloc(4096);
let idOffset = idPool.length;
function randomHex(bytes: number): string {
  if (idOffset + bytes > idPool.length) {
    randomFillSync(idPool);
    idOffset = 0;
  }
  const hex = idPool.toString('hex', idOffset, idOffset + bytes);
  idOffset += bytes;
  return /^0+$/.test(hex) ? randomHex(bytes) : hex;
}

export const newTraceId = () => randomHex(16);
export const newSpanId = () => randomHex(8);

export type SpanKind = 'internal' | 'server' | 'client';
export type AttributeValue = string | number | boolean;

export interface FinishedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  kind: SpanKind;
  /** Epoch milliseconds (fractional). */
  startMs: number;
  endMs: number;
  attributes: Record<string, AttributeValue>;
  error: string | null;
}

export interface SpanExporter {
  export(span: FinishedSpan): void;
  /** Sends what is buffered; resolves within its own timeout. */
  shutdown(): Promise<void>;
}

export class Span {
  readonly context: SpanContext;
  private readonly attributes: Record<string, AttributeValue> = {};
  private error: string | null = null;
  private ended = false;

  constructor(
    private readonly exporter: SpanExporter | null,
    private name: string,
    readonly kind: SpanKind,
    readonly parentSpanId: string | null,
    traceId: string,
    sampled: boolean,
    readonly startMs: number,
  ) {
    this.context = { traceId, spanId: newSpanId(), sampled };
  }

  /** Whether anything recorded on this span can be seen (sampled and exported). */
  get recording(): boolean {
    return this.exporter !== null && this.context.sampled;
  }

  setAttribute(key: string, value: AttributeValue | null | undefined): this {
    if (value !== null && value !== undefined && this.recording) this.attributes[key] = value;
    return this;
  }

  /** Renames the span (a server span learns its route only after routing). */
  updateName(name: string): this {
    this.name = name;
    return this;
  }

  setError(message: string): this {
    this.error = message;
    return this;
  }

  end(endMs: number = epochMs()): void {
    if (this.ended) return;
    this.ended = true;
    if (!this.recording) return;
    this.exporter!.export({
      traceId: this.context.traceId,
      spanId: this.context.spanId,
      parentSpanId: this.parentSpanId,
      name: this.name,
      kind: this.kind,
      startMs: this.startMs,
      endMs,
      attributes: this.attributes,
      error: this.error,
    });
  }
}

/** Wall-clock milliseconds with sub-millisecond precision. */
export const epochMs = () => performance.timeOrigin + performance.now();

export class Tracer {
  constructor(
    private readonly exporter: SpanExporter | null = null,
    /** Fraction of new traces (no incoming `traceparent`) to record when an exporter is set. */
    private readonly sampleRatio = 1,
  ) {}

  /** A root or child span. A child inherits the trace and the sampling decision of its parent. */
  startSpan(
    name: string,
    opts: { parent?: SpanContext | null; kind?: SpanKind; startMs?: number } = {},
  ): Span {
    const parent = opts.parent ?? null;
    const sampled = parent ? parent.sampled : this.exporter !== null && Math.random() < this.sampleRatio;
    return new Span(
      this.exporter,
      name,
      opts.kind ?? 'internal',
      parent?.spanId ?? null,
      parent?.traceId ?? newTraceId(),
      sampled,
      opts.startMs ?? epochMs(),
    );
  }

  shutdown(): Promise<void> {
    return this.exporter?.shutdown() ?? Promise.resolve();
  }
}
