/**
 * What s3rver cannot show: that the S3 adapter's presigned URLs are SigV4 signatures over the
 * method, the key (with the store's prefix) and the expiry. The URLs are checked by a small SigV4
 * query-string verifier written here from AWS's specification (and itself checked against AWS's
 * documented example), independent of the SDK that signed them.
 *
 * Proven: a URL verifies for exactly its method, key, expiry and query, and any change (method,
 * another tenant's key, a longer expiry, a response header override, the secret) breaks it; it is
 * refused once expired. Not proven: that real S3 computes the canonical request as this verifier
 * does for every input (our keys are restricted to `[A-Za-z0-9._-/]`, so URI encoding is trivial),
 * nor anything about IAM authorization or the bucket policy.
 */
import { createHash, createHmac } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { createS3Client, S3ResultStore } from '../../../src/storage/s3/index.js';

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

const rfc3986 = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

/** Throws unless `url` is a valid, unexpired SigV4 presigned URL for `method` (S3, unsigned payload). */
function verifyPresigned(method: string, url: string, secret: string, now = Date.now()): void {
  const u = new URL(url);
  const q = u.searchParams;
  const signature = q.get('X-Amz-Signature');
  const date = q.get('X-Amz-Date') ?? '';
  const credential = q.get('X-Amz-Credential') ?? '';
  const [, ymd, region, service, terminator] = credential.split('/');
  if (!signature || q.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256' || terminator !== 'aws4_request')
    throw new Error('not a SigV4 presigned URL');
  const signedHeaders = (q.get('X-Amz-SignedHeaders') ?? '').split(';');
  const canonicalQuery = [...q.entries()]
    .filter(([k]) => k !== 'X-Amz-Signature')
    .map(([k, v]) => [rfc3986(k), rfc3986(v)])
    .sort(([a], [b]) => (a! < b! ? -1 : a! > b! ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const headerValues: Record<string, string> = { host: u.host };
  const canonicalHeaders = signedHeaders.map((h) => `${h}:${headerValues[h] ?? ''}\n`).join('');
  const canonicalRequest = [
    method,
    u.pathname,
    canonicalQuery,
    canonicalHeaders,
    signedHeaders.join(';'),
    'UNSIGNED-PAYLOAD',
  ].join('\n');
  const scope = `${ymd}/${region}/${service}/aws4_request`;
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    date,
    scope,
    createHash('sha256').update(canonicalRequest).digest('hex'),
  ].join('\n');
  let key = hmac(`AWS4${secret}`, ymd!);
  for (const part of [region!, service!, 'aws4_request']) key = hmac(key, part);
  if (hmac(key, stringToSign).toString('hex') !== signature) throw new Error('signature mismatch');
  const signedAt = Date.parse(
    date.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'),
  );
  if (now > signedAt + Number(q.get('X-Amz-Expires')) * 1000) throw new Error('expired');
}

function edit(url: string, change: (u: URL) => void): string {
  const u = new URL(url);
  change(u);
  return u.toString();
}

const store = new S3ResultStore({
  client: createS3Client({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: SECRET },
  }),
  bucket: 'spectra-results',
  prefix: 'results/',
});

describe('S3 presigned URLs', () => {
  it('the verifier accepts AWS’s documented example and nothing altered from it', () => {
    const example =
      'https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256' +
      '&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request' +
      '&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host' +
      '&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404';
    const at = Date.parse('2013-05-24T01:00:00Z');
    expect(() => verifyPresigned('GET', example, SECRET, at)).not.toThrow();
    expect(() => verifyPresigned('GET', example.replace('test.txt', 'test.txu'), SECRET, at)).toThrow();
  });

  it('a GET URL signs the method, the prefixed key and the expiry', async () => {
    const before = Date.now();
    const { url, expiresAt } = await store.signedUrl('GET', 'acme/job-1/export.csv', 900);
    const after = Date.now();
    const u = new URL(url);
    expect(u.host).toBe('spectra-results.s3.eu-west-1.amazonaws.com');
    expect(u.pathname).toBe('/results/acme/job-1/export.csv');
    expect(u.searchParams.get('X-Amz-Expires')).toBe('900');
    // Signed at a whole second between before and after (X-Amz-Date has no milliseconds).
    expect(Date.parse(expiresAt)).toBeGreaterThanOrEqual(before - 1000 + 900_000);
    expect(Date.parse(expiresAt)).toBeLessThanOrEqual(after + 900_000);

    expect(() => verifyPresigned('GET', url, SECRET)).not.toThrow();
    const refused = (method: string, altered: string, secret = SECRET, now?: number) =>
      expect(() => verifyPresigned(method, altered, secret, now)).toThrow();
    refused('PUT', url);
    refused('DELETE', url);
    refused(
      'GET',
      edit(url, (x) => (x.pathname = '/results/globex/job-1/export.csv')),
    );
    refused(
      'GET',
      edit(url, (x) => (x.pathname = '/acme/job-1/export.csv')),
    );
    refused(
      'GET',
      edit(url, (x) => x.searchParams.set('X-Amz-Expires', '604800')),
    );
    refused(
      'GET',
      edit(url, (x) => x.searchParams.set('response-content-type', 'text/html')),
    );
    refused('GET', url, 'another-secret');
    refused('GET', url, SECRET, Date.now() + 901_000);
  });

  it('a download filename is part of the signed query', async () => {
    const { url } = await store.signedUrl('GET', 'acme/job-1/export.csv', 60, { filename: 'job-1.csv' });
    expect(new URL(url).searchParams.get('response-content-disposition')).toBe(
      'attachment; filename="job-1.csv"',
    );
    expect(() => verifyPresigned('GET', url, SECRET)).not.toThrow();
    const renamed = edit(url, (x) =>
      x.searchParams.set('response-content-disposition', 'attachment; filename="x.html"'),
    );
    expect(() => verifyPresigned('GET', renamed, SECRET)).toThrow();
  });

  it('a PUT URL is for PUT only and carries no checksum of an empty body', async () => {
    const { url } = await store.signedUrl('PUT', 'acme/bulk-1/upload.csv', 60);
    expect(() => verifyPresigned('PUT', url, SECRET)).not.toThrow();
    expect(() => verifyPresigned('GET', url, SECRET)).toThrow();
    const checksumParams = (u: string) =>
      [...new URL(u).searchParams.keys()].filter((k) => k.toLowerCase().includes('checksum'));
    expect(checksumParams(url)).toEqual([]);
    // The SDK's default would sign a checksum of an empty body into the URL (NOTES.md).
    const defaults = new S3ResultStore({
      client: new S3Client({
        region: 'eu-west-1',
        credentials: { accessKeyId: 'AKID', secretAccessKey: SECRET },
      }),
      bucket: 'spectra-results',
    });
    expect(checksumParams((await defaults.signedUrl('PUT', 'acme/bulk-1/upload.csv', 60)).url)).not.toEqual(
      [],
    );
  });

  it('expiry is clamped to SigV4’s 7 days', async () => {
    const { url } = await store.signedUrl('GET', 'acme/job-1/export.csv', 30 * 86_400);
    expect(new URL(url).searchParams.get('X-Amz-Expires')).toBe(String(7 * 86_400));
  });

  it('refuses invalid keys before signing anything', async () => {
    await expect(store.signedUrl('GET', 'acme/../globex/job-1/export.csv', 60)).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
    });
    expect(() => new S3ResultStore({ client: store.client, bucket: 'b', prefix: '../' })).toThrow();
    expect(() => new S3ResultStore({ client: store.client, bucket: 'b', prefix: 'results' })).toThrow();
  });
});
