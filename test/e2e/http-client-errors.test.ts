/**
 * Requests Node's HTTP layer refuses before the app sees them get the JSON error envelope too:
 * oversized headers (431), an unknown `Expect` (417), a malformed request line and a backslash in
 * the path (400). Sent over a raw TCP socket: fetch refuses to send such requests.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSpectra, type TestSpectra } from '../helpers/spectra.js';

let spectra: TestSpectra;
beforeAll(async () => {
  spectra = await startSpectra();
});
afterAll(async () => {
  await spectra?.close();
});

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Writes `request` as is and reads until the server closes the connection. */
async function raw(request: string): Promise<RawResponse> {
  const { port } = new URL(spectra.url);
  const text = await new Promise<string>((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.once('error', reject);
    socket.end(request);
  });
  const [head = '', body = ''] = text.split('\r\n\r\n', 2) as [string, string];
  const [statusLine = '', ...headerLines] = head.split('\r\n');
  const headers = Object.fromEntries(
    headerLines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
  );
  return { status: Number(statusLine.split(' ')[1]), headers, body };
}

function expectEnvelope(res: RawResponse, status: number, code: string) {
  expect(res.status, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = JSON.parse(res.body) as { error: Record<string, unknown> };
  expect(body.error).toMatchObject({ code, message: expect.any(String), request_id: expect.any(String) });
  expect(body.error.request_id).toBe(res.headers['x-request-id']);
  return body.error;
}

describe('Node-level client errors answer with the JSON error envelope', () => {
  it('a 70 KB Authorization header → 431 HEADERS_TOO_LARGE', async () => {
    const res = await raw(
      `GET /v1/jobs HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${'a'.repeat(70_000)}\r\n\r\n`,
    );
    expectEnvelope(res, 431, 'HEADERS_TOO_LARGE');
  });

  it('an Expect header other than 100-continue → 417 EXPECTATION_FAILED', async () => {
    const res = await raw(
      'GET /health HTTP/1.1\r\nHost: localhost\r\nExpect: junk\r\nConnection: close\r\n\r\n',
    );
    const error = expectEnvelope(res, 417, 'EXPECTATION_FAILED');
    expect(error.details).toEqual({ field: 'expect' });
  });

  it('a request line the HTTP parser rejects → 400 INVALID_REQUEST', async () => {
    const res = await raw('GET /health HTTP/1.1 extra\r\nHost: localhost\r\n\r\n');
    expectEnvelope(res, 400, 'INVALID_REQUEST');
  });

  it('a backslash in the path → 400 INVALID_REQUEST', async () => {
    for (const target of ['/v1\\jobs', '/health\\', '/v1/jobs/job-1\\..\\x']) {
      const res = await raw(`GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
      expectEnvelope(res, 400, 'INVALID_REQUEST');
    }
  });

  it('a backslash in the query string is data, not an error', async () => {
    const res = await raw('GET /health?x=a\\b HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    expect(res.status).toBe(200);
  });
});
