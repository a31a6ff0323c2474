/** The filesystem ResultStore and its URL signatures, on real files. */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsResultStore } from '../../../src/storage/fs/index.js';
import { isValidResultKey } from '../../../src/storage/port.js';

let root: string;
let store: FsResultStore;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'spectra-results-'));
  store = new FsResultStore({ root, signingKey: 'k'.repeat(64) });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function readAll(key: string, range?: { offset?: number; length?: number }): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of await store.read(key, range)) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks).toString('utf8');
}

describe('FsResultStore', () => {
  it('makes an object visible only when its writer closes, and reads it whole or from an offset', async () => {
    const w = await store.createWriter('acme/job-1/result-1.ndjson');
    await w.write('{"a":1}\n');
    await w.write(Buffer.from('{"a":2}\n'));
    expect(await store.stat('acme/job-1/result-1.ndjson')).toBeNull();
    expect(await w.close()).toEqual({ sizeBytes: 16 });
    expect(await readAll('acme/job-1/result-1.ndjson')).toBe('{"a":1}\n{"a":2}\n');
    expect(await readAll('acme/job-1/result-1.ndjson', { offset: 8 })).toBe('{"a":2}\n');
    expect(await readAll('acme/job-1/result-1.ndjson', { offset: 8, length: 3 })).toBe('{"a');
    expect((await store.list('acme/job-1/')).map((o) => o.key)).toEqual(['acme/job-1/result-1.ndjson']);
  });

  it('leaves nothing behind when a writer is aborted, and deletes a whole prefix', async () => {
    const w = await store.createWriter('acme/job-2/result-1.ndjson');
    await w.write('partial');
    await w.abort();
    expect(await readdir(path.join(root, 'acme', 'job-2'))).toEqual([]);
    const w2 = await store.createWriter('acme/job-2/export.csv');
    await w2.close();
    await store.deletePrefix('acme/job-2/');
    expect(await store.list('acme/job-2/')).toEqual([]);
  });

  it('refuses keys that could leave the folder', () => {
    for (const bad of ['../x', 'a/../../b', '/etc/passwd', 'a//b', 'a/./b', 'a\\b', '', 'a/b/']) {
      expect(isValidResultKey(bad), bad).toBe(false);
    }
    expect(isValidResultKey('acme/job-1/export.csv.gz')).toBe(true);
  });

  it('signs method, key and expiry: any change breaks the signature, and an expired URL is refused', async () => {
    const { url, expiresAt } = await store.signedUrl('GET', 'acme/job-1/result-1.ndjson', 60);
    expect(Date.parse(expiresAt)).toBeGreaterThan(Date.now() + 55_000);
    const u = new URL(url, 'http://x');
    const expires = u.searchParams.get('expires')!;
    const sig = u.searchParams.get('signature')!;
    expect(() => store.signer.verify('GET', 'acme/job-1/result-1.ndjson', expires, sig)).not.toThrow();
    const refused = (fn: () => void) => expect(fn).toThrow(expect.objectContaining({ code: 'FORBIDDEN' }));
    refused(() => store.signer.verify('PUT', 'acme/job-1/result-1.ndjson', expires, sig));
    refused(() => store.signer.verify('GET', 'globex/job-1/result-1.ndjson', expires, sig));
    refused(() => store.signer.verify('GET', 'acme/job-1/result-1.ndjson', String(Number(expires) + 1), sig));
    refused(() => store.signer.verify('GET', 'acme/job-1/result-1.ndjson', expires, undefined));
    refused(() =>
      store.signer.verify('GET', 'acme/job-1/result-1.ndjson', expires, sig, (Number(expires) + 1) * 1000),
    );
  });
});
