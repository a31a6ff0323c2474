import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { OtlpHttpExporter, parseOtlpHeaders } from '../../../src/observability/otlp-exporter.js';
import { formatTraceparent, parseTraceparent, Tracer } from '../../../src/observability/tracing.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

describe('W3C traceparent', () => {
  it('parses a valid header and formats it back', () => {
    const ctx = parseTraceparent(`00-${TRACE}-${SPAN}-01`);
    expect(ctx).toEqual({ traceId: TRACE, spanId: SPAN, sampled: true });
    expect(formatTraceparent(ctx!)).toBe(`00-${TRACE}-${SPAN}-01`);
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-00`)?.sampled).toBe(false);
  });

  it.each([
    ['', 'empty'],
    [`00-${'0'.repeat(32)}-${SPAN}-01`, 'all-zero trace id'],
    [`00-${TRACE}-${'0'.repeat(16)}-01`, 'all-zero span id'],
    [`ff-${TRACE}-${SPAN}-01`, 'version ff'],
    [`00-${TRACE}-${SPAN}-01-extra`, 'extra fields on version 00'],
    [`00-${TRACE.slice(1)}-${SPAN}-01`, 'short trace id'],
    ['garbage', 'garbage'],
  ])('rejects %s (%s)', (header) => {
    expect(parseTraceparent(header)).toBeNull();
  });

  it('accepts a later version with extra fields', () => {
    expect(parseTraceparent(`01-${TRACE}-${SPAN}-01-whatever`)?.traceId).toBe(TRACE);
  });
});

describe('the tracer', () => {
  it('continues the caller’s trace with a new span id and its sampling decision', () => {
    const tracer = new Tracer(null);
    const span = tracer.startSpan('GET /x', { parent: { traceId: TRACE, spanId: SPAN, sampled: true } });
    expect(span.context.traceId).toBe(TRACE);
    expect(span.context.spanId).not.toBe(SPAN);
    expect(span.context.sampled).toBe(true);
    expect(span.parentSpanId).toBe(SPAN);
    // Without an exporter nothing is recorded, whatever the flag says.
    expect(span.recording).toBe(false);
  });

  it('starts new traces unsampled when nothing exports them', () => {
    const span = new Tracer(null).startSpan('root');
    expect(span.context.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(span.context.sampled).toBe(false);
  });
});

describe('the OTLP/HTTP exporter', () => {
  it('posts finished spans as OTLP JSON to <endpoint>/v1/traces', async () => {
    const bodies: { url: string; headers: http.IncomingHttpHeaders; body: unknown }[] = [];
    const collector = http.createServer((req, res) => {
      let raw = '';
      req.on('data', (d) => {
        raw += d;
      });
      req.on('end', () => {
        bodies.push({ url: req.url ?? '', headers: req.headers, body: JSON.parse(raw) });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
    try {
      const exporter = new OtlpHttpExporter({
        endpoint: `http://127.0.0.1:${(collector.address() as AddressInfo).port}`,
        headers: parseOtlpHeaders('x-api-key=abc%3D1'),
        serviceName: 'redshift-spectra',
        serviceVersion: '9.9.9',
      });
      const tracer = new Tracer(exporter);
      const root = tracer.startSpan('POST /v1/queries', {
        kind: 'server',
        parent: { traceId: TRACE, spanId: SPAN, sampled: true },
      });
      root.setAttribute('http.response.status_code', 200).setAttribute('spectra.tenant_id', 'acme');
      const child = tracer.startSpan('db', { parent: root.context });
      child.setError('boom').end();
      root.end();
      await tracer.shutdown();
      expect(bodies).toHaveLength(1);
      expect(bodies[0]!.url).toBe('/v1/traces');
      expect(bodies[0]!.headers['x-api-key']).toBe('abc=1');
      const payload = bodies[0]!.body as {
        resourceSpans: {
          resource: { attributes: { key: string; value: Record<string, unknown> }[] };
          scopeSpans: { spans: Record<string, unknown>[] }[];
        }[];
      };
      const rs = payload.resourceSpans[0]!;
      expect(rs.resource.attributes).toContainEqual({
        key: 'service.name',
        value: { stringValue: 'redshift-spectra' },
      });
      const spans = rs.scopeSpans[0]!.spans;
      expect(spans.map((s) => s.name)).toEqual(['db', 'POST /v1/queries']);
      const [db, server] = spans as [Record<string, unknown>, Record<string, unknown>];
      expect(server).toMatchObject({ traceId: TRACE, parentSpanId: SPAN, kind: 2, status: { code: 0 } });
      expect(server.attributes).toContainEqual({
        key: 'http.response.status_code',
        value: { intValue: '200' },
      });
      expect(db).toMatchObject({ traceId: TRACE, parentSpanId: server.spanId, kind: 1 });
      expect(db.status).toEqual({ code: 2, message: 'boom' });
      expect(BigInt(db.endTimeUnixNano as string)).toBeGreaterThanOrEqual(
        BigInt(db.startTimeUnixNano as string),
      );
    } finally {
      collector.close();
    }
  });

  it('drops spans when the collector is down instead of queueing them forever', async () => {
    const errors: unknown[] = [];
    const exporter = new OtlpHttpExporter({
      endpoint: 'http://127.0.0.1:9/v1/traces',
      serviceName: 's',
      serviceVersion: '1',
      onError: (e) => errors.push(e),
    });
    const tracer = new Tracer(exporter);
    tracer.startSpan('x').end();
    await tracer.shutdown();
    expect(exporter.dropped).toBe(1);
    expect(errors).toHaveLength(1);
  });
});
