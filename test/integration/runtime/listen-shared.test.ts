/**
 * The service's listening sockets (src/runtime/acceptors.ts) on real loopback sockets: several
 * sockets share the port where Node supports SO_REUSEPORT (22.12+, 23.1+), one otherwise; either
 * way every connection reaches the one HTTP server, nothing else can bind the port while it is
 * served, and closing lets the port go.
 */
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type Listening, listenShared } from '../../../src/runtime/acceptors.js';
import { nodeCanSharePort } from '../../helpers/node-features.js';

const canShare = nodeCanSharePort;
const HOST = '127.0.0.1';

const open: { server: http.Server; listening: Listening }[] = [];

async function serve(sockets: number, port = 0) {
  let requests = 0;
  const server = http.createServer((_req, res) => {
    requests++;
    res.end('ok');
  });
  const listening = await listenShared(server, { host: HOST, port, backlog: 511, sockets });
  open.push({ server, listening });
  const address = server.address() as net.AddressInfo;
  return { server, listening, port: address.port, requests: () => requests };
}

async function shutDown(s: { server: http.Server; listening: Listening }) {
  s.listening.stopAccepting();
  s.server.closeAllConnections();
  await s.listening.closed;
}

/** One request on a new connection each (no agent), all at once. */
function requestsOnNewConnections(port: number, n: number): Promise<number[]> {
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<number>((resolve, reject) => {
          const req = http.get({ host: HOST, port, path: '/', agent: false }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          });
          req.on('error', reject);
        }),
    ),
  );
}

function bindsAlone(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    s.listen({ host: HOST, port, exclusive: true }, () => s.close(() => resolve('bound')));
  });
}

afterEach(async () => {
  for (const s of open.splice(0)) await shutDown(s);
});

describe('listening sockets sharing the port', () => {
  it(`binds ${canShare ? 'every socket asked for' : 'one socket (this Node cannot share a port)'}, and every connection reaches the one server`, async () => {
    const s = await serve(4);
    expect(s.listening.sockets).toBe(canShare ? 4 : 1);
    const statuses = await requestsOnNewConnections(s.port, 200);
    expect(statuses.every((code) => code === 200)).toBe(true);
    expect(s.requests()).toBe(200);
  });

  it('keeps the port from any other process or server while it is served, with one socket or several', async () => {
    for (const sockets of [1, 4]) {
      const s = await serve(sockets);
      expect(await bindsAlone(s.port)).toBe('EADDRINUSE');
      // A second `spectra serve` on the same port fails as it always did.
      await expect(serve(4, s.port)).rejects.toMatchObject({ code: 'EADDRINUSE' });
      await shutDown(s);
      open.splice(open.indexOf(s), 1);
    }
  });

  it('stops accepting on every socket, keeps open connections until they close, then lets the port go', async () => {
    const s = await serve(4);
    const kept = net.connect({ host: HOST, port: s.port });
    await new Promise((r) => kept.once('connect', r));
    s.listening.stopAccepting();
    let closed = false;
    void s.listening.closed.then(() => {
      closed = true;
    });
    // New connections are refused once no socket accepts.
    const refused = await new Promise<string>((resolve) => {
      const c = net.connect({ host: HOST, port: s.port });
      c.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
      c.once('connect', () => {
        c.destroy();
        resolve('connected');
      });
    });
    expect(refused).toBe('ECONNREFUSED');
    expect(closed).toBe(false);
    kept.destroy();
    s.server.closeAllConnections();
    await s.listening.closed;
    expect(await bindsAlone(s.port)).toBe('bound');
    open.splice(open.indexOf(s), 1);
  });
});
