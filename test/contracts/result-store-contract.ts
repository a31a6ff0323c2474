/**
 * The ResultStore port's contract: what every adapter (filesystem, S3) must do, written against the
 * port only. An adapter's test file calls `resultStoreContract(name, factory)`; the factory also says
 * how to fetch one of the store's signed URLs (the fs adapter's are served by the API, S3's by S3).
 *
 * Every key made here starts with a random tenant, so stores may be shared with other tests.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResultStore } from '../../src/storage/port.js';

export interface ResultStoreUnderTest {
  store: ResultStore;
  /** Fetches a URL from `store.signedUrl` (relative ones against the API serving them). */
  fetchSigned(url: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

export type ResultStoreFactory = () => Promise<ResultStoreUnderTest>;

async function readAll(store: ResultStore, key: string, range?: { offset?: number; length?: number }) {
  const chunks: Buffer[] = [];
  for await (const c of await store.read(key, range)) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

async function put(store: ResultStore, key: string, ...chunks: (string | Uint8Array)[]) {
  const w = await store.createWriter(key);
  for (const c of chunks) await w.write(c);
  return w.close();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function resultStoreContract(name: string, factory: ResultStoreFactory): void {
  describe(`ResultStore contract: ${name}`, () => {
    let t: ResultStoreUnderTest;
    let store: ResultStore;
    const run = randomBytes(4).toString('hex');
    const acme = `acme-${run}`;
    const globex = `globex-${run}`;

    beforeAll(async () => {
      t = await factory();
      store = t.store;
    });
    afterAll(async () => {
      await t?.close();
    });

    it('streams a write and reads it back whole, from an offset, and as a slice', async () => {
      const key = `${acme}/job-1/result-1.ndjson`;
      const w = await store.createWriter(key);
      await w.write('{"a":1}\n');
      await w.write(Buffer.from('{"a":2}\n'));
      expect(w.bytesWritten).toBe(16);
      expect(await store.stat(key)).toBeNull();
      expect(await w.close()).toEqual({ sizeBytes: 16 });
      expect((await readAll(store, key)).toString()).toBe('{"a":1}\n{"a":2}\n');
      expect((await readAll(store, key, { offset: 8 })).toString()).toBe('{"a":2}\n');
      expect((await readAll(store, key, { offset: 8, length: 3 })).toString()).toBe('{"a');
      expect((await readAll(store, key, { offset: 3, length: 0 })).toString()).toBe('');
      expect((await readAll(store, key, { offset: 16 })).toString()).toBe('');
      const s = await store.stat(key);
      expect(s).toMatchObject({ key, sizeBytes: 16 });
      expect(Number.isNaN(Date.parse(s!.modifiedAt))).toBe(false);
    });

    it('writes an object larger than one multipart part byte for byte, and an empty one', async () => {
      const chunk = randomBytes(1 << 20);
      const key = `${acme}/job-big/result-1.bin`;
      const w = await store.createWriter(key);
      for (let i = 0; i < 12; i++) await w.write(chunk);
      expect(await w.close()).toEqual({ sizeBytes: 12 << 20 });
      expect((await store.stat(key))?.sizeBytes).toBe(12 << 20);
      const tail = await readAll(store, key, { offset: (11 << 20) + 5, length: 10 });
      expect(tail.equals(chunk.subarray(5, 15))).toBe(true);
      expect(await put(store, `${acme}/job-big/empty.csv`)).toEqual({ sizeBytes: 0 });
      expect((await store.stat(`${acme}/job-big/empty.csv`))?.sizeBytes).toBe(0);
    });

    it('overwrites, lists a prefix, deletes a key and a whole prefix', async () => {
      const key = `${acme}/job-2/export.csv`;
      await put(store, key, 'first version');
      await put(store, key, 'second');
      expect((await readAll(store, key)).toString()).toBe('second');
      await put(store, `${acme}/job-2/result-1.ndjson`, 'x');
      await put(store, `${acme}/job-20/result-1.ndjson`, 'not under job-2/');
      expect((await store.list(`${acme}/job-2/`)).map((o) => o.key).sort()).toEqual([
        `${acme}/job-2/export.csv`,
        `${acme}/job-2/result-1.ndjson`,
      ]);
      await store.delete(key);
      await store.delete(key); // deleting what is gone is not an error
      expect(await store.stat(key)).toBeNull();
      await expect(store.read(key)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await store.deletePrefix(`${acme}/job-2/`);
      expect(await store.list(`${acme}/job-2/`)).toEqual([]);
      expect(await store.stat(`${acme}/job-20/result-1.ndjson`)).not.toBeNull();
    });

    it('an aborted writer leaves the key as it was', async () => {
      const key = `${acme}/job-3/result-1.ndjson`;
      const w = await store.createWriter(key);
      await w.write('partial');
      await w.abort();
      expect(await store.stat(key)).toBeNull();
      await put(store, key, 'kept');
      const w2 = await store.createWriter(key);
      await w2.write('replacement');
      await w2.abort();
      expect((await readAll(store, key)).toString()).toBe('kept');
    });

    it('refuses keys and prefixes that could reach another tenant', async () => {
      await put(store, `${globex}/job-1/secret.csv`, 'globex only');
      await put(store, `${acme}x/job-1/result.csv`, 'a tenant whose id extends acme’s');
      const escapes = [
        `${acme}/../${globex}/job-1/secret.csv`,
        `${acme}/job-1/../../${globex}/job-1/secret.csv`,
        `/${globex}/job-1/secret.csv`,
        `${acme}//${globex}/job-1/secret.csv`,
        `${acme}/./job-1/x`,
        `${acme}/job-1%2F..%2F..%2F${globex}`,
        `${acme}\\..\\${globex}`,
        '',
      ];
      for (const key of escapes) {
        await expect(store.read(key), key).rejects.toThrow();
        await expect(store.stat(key), key).rejects.toThrow();
        await expect(store.createWriter(key), key).rejects.toThrow();
        await expect(store.delete(key), key).rejects.toThrow();
        await expect(store.signedUrl('GET', key, 60), key).rejects.toThrow();
        await expect(store.signedUrl('PUT', key, 60), key).rejects.toThrow();
      }
      // A prefix is a folder: `acme` alone would also match `acmex/…`.
      await expect(store.list(acme)).rejects.toThrow();
      await expect(store.deletePrefix(acme)).rejects.toThrow();
      await expect(store.list('')).rejects.toThrow();
      await expect(store.list(`${acme}/../`)).rejects.toThrow();
      expect((await store.list(`${acme}/`)).every((o) => o.key.startsWith(`${acme}/`))).toBe(true);
      expect((await readAll(store, `${globex}/job-1/secret.csv`)).toString()).toBe('globex only');
    });

    it('a GET URL returns the bytes, and stops working after it expires', async () => {
      const key = `${acme}/job-4/export.csv`;
      await put(store, key, 'id,name\n1,anvil\n');
      const before = Date.now();
      const long = await store.signedUrl('GET', key, 300, { filename: 'job-4.csv' });
      expect(Date.parse(long.expiresAt)).toBeGreaterThanOrEqual(before - 1000 + 300_000);
      expect(Date.parse(long.expiresAt)).toBeLessThanOrEqual(Date.now() + 300_000);
      const ok = await t.fetchSigned(long.url);
      expect(ok.status).toBe(200);
      expect(await ok.text()).toBe('id,name\n1,anvil\n');
      expect(ok.headers.get('content-disposition')).toContain('job-4.csv');

      const short = await store.signedUrl('GET', key, 1);
      await sleep(2100);
      const expired = await t.fetchSigned(short.url);
      expect(expired.status).toBe(403);
      await expired.body?.cancel();
    });

    it('a PUT URL accepts an upload to its key', async () => {
      const key = `${acme}/bulk-1/upload.csv`;
      const { url } = await store.signedUrl('PUT', key, 300);
      const res = await t.fetchSigned(url, { method: 'PUT', body: 'id\n1\n2\n' });
      expect(res.status).toBe(200);
      await res.body?.cancel();
      expect((await readAll(store, key)).toString()).toBe('id\n1\n2\n');
    });
  });
}
