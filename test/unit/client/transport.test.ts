/** The client's pure parts: Retry-After reading and NDJSON rows split across arbitrary chunk borders. */
import { describe, expect, it } from 'vitest';
import { ndjsonRows } from '../../../src/client/ndjson.js';
import { retryAfterMs } from '../../../src/client/transport.js';

describe('retryAfterMs', () => {
  it('reads seconds and HTTP dates; absent or unreadable is null', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs('3', now)).toBe(3000);
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(retryAfterMs('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs(null, now)).toBeNull();
    expect(retryAfterMs('soon', now)).toBeNull();
  });
});

describe('ndjsonRows', () => {
  const body = (chunks: Uint8Array[]) =>
    new ReadableStream<Uint8Array>({
      start(c) {
        for (const chunk of chunks) c.enqueue(chunk);
        c.close();
      },
    });

  it('yields the same rows whatever the chunk borders, multi-byte characters included', async () => {
    const text = '{"a":1,"s":"é€😀"}\n{"a":2,"s":""}\n\n{"a":3,"s":"x"}';
    const bytes = new TextEncoder().encode(text);
    for (const size of [1, 2, 3, 7, bytes.length]) {
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.slice(i, i + size));
      const rows: unknown[] = [];
      for await (const row of ndjsonRows(body(chunks))) rows.push(row);
      expect(rows).toEqual([
        { a: 1, s: 'é€😀' },
        { a: 2, s: '' },
        { a: 3, s: 'x' },
      ]);
    }
  });
});
