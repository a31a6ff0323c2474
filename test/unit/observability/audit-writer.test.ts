import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { type AuditEntry, newAuditEntryId } from '../../../src/domain/audit-entry.js';
import { ApiError } from '../../../src/domain/errors.js';
import { AuditWriter } from '../../../src/observability/audit-writer.js';
import type { AuditStore } from '../../../src/state/port.js';

function entry(i: number): AuditEntry {
  return {
    entryId: newAuditEntryId(),
    at: new Date().toISOString(),
    requestId: `r${i}`,
    traceId: null,
    tenantId: 'acme',
    principal: 'k',
    authMethod: 'api_key',
    method: 'POST',
    route: '/v1/queries',
    status: 200,
    outcome: 'success',
    errorCode: null,
    jobId: null,
    sqlFingerprint: null,
    sql: null,
    paramNames: [],
    rowCount: 1,
    bytes: 10,
    durationMs: 1,
    clientIp: null,
  };
}

class FakeStore implements AuditStore {
  batches: AuditEntry[][] = [];
  failing = false;
  refuse = false;
  async append(entries: AuditEntry[]) {
    if (this.failing) throw new ApiError('WAREHOUSE_UNAVAILABLE', 'down');
    if (this.refuse) throw new Error('invalid input');
    this.batches.push([...entries]);
  }
  async list() {
    return { items: [], nextCursor: null };
  }
  async deleteBefore() {
    return 0;
  }
}

const silent = pino({ level: 'silent' });

describe('the audit writer', () => {
  it('buffers entries and writes them in batches off the request path', async () => {
    const store = new FakeStore();
    const written: number[] = [];
    const w = new AuditWriter({
      store,
      bufferSize: 10_000,
      flushIntervalMs: 60_000,
      log: silent,
      onWritten: (n) => written.push(n),
    });
    for (let i = 0; i < 1200; i++) expect(w.record(entry(i))).toBe(true);
    await w.flush();
    expect(store.batches.map((b) => b.length)).toEqual([500, 500, 200]);
    expect(written.reduce((a, b) => a + b, 0)).toBe(1200);
    await w.close();
  });

  it('keeps entries while the store is down, drops and counts what does not fit, and recovers', async () => {
    const store = new FakeStore();
    store.failing = true;
    let dropped = 0;
    const w = new AuditWriter({
      store,
      bufferSize: 3,
      flushIntervalMs: 60_000,
      log: silent,
      onDropped: (n) => {
        dropped += n;
      },
    });
    for (let i = 0; i < 5; i++) w.record(entry(i));
    await w.flush();
    expect(w.pending).toBe(3);
    expect(w.full).toBe(true);
    expect(dropped).toBe(2);
    store.failing = false;
    await w.flush();
    expect(store.batches.flat().map((e) => e.requestId)).toEqual(['r0', 'r1', 'r2']);
    expect(w.pending).toBe(0);
    await w.close();
  });

  it('drops a batch the store refuses for a reason other than being unreachable', async () => {
    const store = new FakeStore();
    store.refuse = true;
    let dropped = 0;
    const w = new AuditWriter({
      store,
      bufferSize: 100,
      flushIntervalMs: 60_000,
      log: silent,
      onDropped: (n) => {
        dropped += n;
      },
    });
    w.record(entry(1));
    await w.flush();
    expect(dropped).toBe(1);
    store.refuse = false;
    w.record(entry(2));
    await w.flush();
    expect(store.batches.flat().map((e) => e.requestId)).toEqual(['r2']);
    await w.close();
  });

  it('writes what is buffered on close and refuses entries afterwards', async () => {
    const store = new FakeStore();
    const w = new AuditWriter({ store, bufferSize: 100, flushIntervalMs: 60_000, log: silent });
    w.record(entry(1));
    await w.close();
    expect(store.batches.flat()).toHaveLength(1);
    expect(w.record(entry(2))).toBe(false);
  });
});
