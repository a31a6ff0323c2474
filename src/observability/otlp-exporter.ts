/**
 * Span export over OTLP/HTTP with the JSON encoding (`POST <endpoint>/v1/traces`), batched, off
 * the request path. Spans beyond the buffer are dropped and counted, never queued without bound;
 * a collector that is down costs one failed POST per flush interval.
 */
import type { AttributeValue, FinishedSpan, SpanExporter } from './tracing.js';

const KIND = { internal: 1, server: 2, client: 3 } as const;
const MAX_BUFFERED = 2048;
const BATCH = 512;
const FLUSH_MS = 2000;
const POST_TIMEOUT_MS = 5000;

export interface OtlpExporterOptions {
  /** Collector base URL (`http://collector:4318`) or the full traces URL (`…/v1/traces`). */
  endpoint: string;
  headers?: Record<string, string>;
  serviceName: string;
  serviceVersion: string;
  onError?: (err: unknown) => void;
}

function attribute(key: string, value: AttributeValue) {
  if (typeof value === 'boolean') return { key, value: { boolValue: value } };
  if (typeof value === 'number')
    return Number.isInteger(value)
      ? { key, value: { intValue: String(value) } }
      : { key, value: { doubleValue: value } };
  return { key, value: { stringValue: value } };
}

const nanos = (ms: number) => (BigInt(Math.round(ms * 1000)) * 1000n).toString();

export class OtlpHttpExporter implements SpanExporter {
  private buffer: FinishedSpan[] = [];
  private readonly url: string;
  private readonly timer: NodeJS.Timeout;
  private sending: Promise<void> | null = null;
  dropped = 0;
  exported = 0;

  constructor(private readonly opts: OtlpExporterOptions) {
    const base = opts.endpoint.replace(/\/+$/, '');
    this.url = base.endsWith('/v1/traces') ? base : `${base}/v1/traces`;
    this.timer = setInterval(() => void this.flush(), FLUSH_MS);
    this.timer.unref();
  }

  export(span: FinishedSpan): void {
    if (this.buffer.length >= MAX_BUFFERED) {
      this.dropped++;
      return;
    }
    this.buffer.push(span);
    if (this.buffer.length >= BATCH) void this.flush();
  }

  /** Sends everything buffered, one batch after another. */
  async flush(): Promise<void> {
    while (this.sending) await this.sending;
    if (this.buffer.length === 0) return;
    const batch = this.buffer.splice(0, BATCH);
    this.sending = this.post(batch).finally(() => {
      this.sending = null;
    });
    await this.sending;
    if (this.buffer.length >= BATCH) await this.flush();
  }

  async shutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    if (this.buffer.length) await this.flush();
  }

  private async post(spans: FinishedSpan[]): Promise<void> {
    const body = {
      resourceSpans: [
        {
          resource: {
            attributes: [
              attribute('service.name', this.opts.serviceName),
              attribute('service.version', this.opts.serviceVersion),
            ],
          },
          scopeSpans: [
            {
              scope: { name: this.opts.serviceName, version: this.opts.serviceVersion },
              spans: spans.map((s) => ({
                traceId: s.traceId,
                spanId: s.spanId,
                ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
                name: s.name,
                kind: KIND[s.kind],
                startTimeUnixNano: nanos(s.startMs),
                endTimeUnixNano: nanos(s.endMs),
                attributes: Object.entries(s.attributes).map(([k, v]) => attribute(k, v)),
                status: s.error ? { code: 2, message: s.error } : { code: 0 },
              })),
            },
          ],
        },
      ],
    };
    try {
      const res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...this.opts.headers },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(POST_TIMEOUT_MS),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) throw new Error(`OTLP collector answered ${res.status}`);
      this.exported += spans.length;
    } catch (e) {
      this.dropped += spans.length;
      this.opts.onError?.(e);
    }
  }
}

/** `k1=v1,k2=v2` (the OTEL_EXPORTER_OTLP_HEADERS syntax) → headers. */
export function parseOtlpHeaders(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    out[decodeURIComponent(part.slice(0, i).trim())] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return out;
}
