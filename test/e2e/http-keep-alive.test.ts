/**
 * Idle keep-alive connections (SPECTRA_KEEP_ALIVE_TIMEOUT_SECONDS): the server announces its idle
 * timeout in `Keep-Alive`, keeps the connection for the next request, and closes it itself only
 * once it has been idle that long. The default outlasts a load balancer's 60 s idle timeout, so
 * the balancer, not the server, closes idle connections (docs/operations.md).
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSpectra, type TestSpectra } from '../helpers/spectra.js';

const HEALTH = 'GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n';

/** A raw connection that reads one response at a time and reports the server's close. */
function connect(url: string) {
  const socket = net.connect(Number(new URL(url).port), '127.0.0.1');
  let buffered = '';
  let waiting: (() => void) | undefined;
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    waiting?.();
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => {});
  /** Sends `request` and resolves with the head of its response (the bodies here are short JSON). */
  const send = async (request: string): Promise<Record<string, string>> => {
    socket.write(request);
    for (;;) {
      const end = buffered.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(buffered.slice(0, end));
      if (end !== -1 && length && buffered.length >= end + 4 + Number(length[1])) {
        const head = buffered.slice(0, end);
        buffered = buffered.slice(end + 4 + Number(length[1]));
        const [status = '', ...lines] = head.split('\r\n');
        return {
          status: status.split(' ')[1]!,
          ...Object.fromEntries(
            lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
          ),
        };
      }
      await new Promise<void>((resolve) => {
        waiting = resolve;
      });
    }
  };
  return { send, closed, socket };
}

describe('keep-alive on the defaults', () => {
  let spectra: TestSpectra;
  beforeAll(async () => {
    spectra = await startSpectra();
  });
  afterAll(async () => {
    await spectra?.close();
  });

  it('announces 65 s, above a load balancer’s 60 s, and serves the next request on the same connection', async () => {
    const c = connect(spectra.url);
    try {
      const first = await c.send(HEALTH);
      expect(first).toMatchObject({ status: '200', connection: 'keep-alive', 'keep-alive': 'timeout=65' });
      expect((await c.send(HEALTH)).status).toBe('200');
    } finally {
      c.socket.destroy();
    }
  });
});

describe('SPECTRA_KEEP_ALIVE_TIMEOUT_SECONDS', () => {
  let spectra: TestSpectra;
  beforeAll(async () => {
    spectra = await startSpectra({ SPECTRA_KEEP_ALIVE_TIMEOUT_SECONDS: '1' });
  });
  afterAll(async () => {
    await spectra?.close();
  });

  it('announces the setting and closes a connection once it has stayed idle that long', async () => {
    const c = connect(spectra.url);
    const head = await c.send(HEALTH);
    expect(head).toMatchObject({ status: '200', 'keep-alive': 'timeout=1' });
    // Nothing more is sent: the server ends the idle connection by itself.
    await c.closed;
  });
});
