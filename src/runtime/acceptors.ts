/**
 * The service's listening sockets: several bound to one port, so its event loop accepts more than
 * one new connection per turn. libuv accepts one connection each time a listening socket is ready
 * (one per turn of the loop), and under overload a turn takes milliseconds: measured with one
 * socket, about 160 connections a second were accepted while over 1,000 waited in the kernel's
 * accept queue, and their requests were answered 9–12 s after they were sent (docs/operations.md,
 * "New connections under overload"). With SO_REUSEPORT (`listen({ reusePort })`, Node 22.12+ and
 * 23.1+) the kernel spreads new connections over the sockets bound to the port, and each ready
 * socket gets its accept in the same turn. The extra sockets hand their connections to the one
 * HTTP server (its `'connection'` event), which serves, counts and closes them like its own.
 *
 * SO_REUSEPORT would also let a second process of the same user bind the port and take half of
 * the new connections (a stale instance left running, say) where it used to fail with EADDRINUSE.
 * So a given port is first bound once without it, which fails as before when anything holds the
 * port, and only then shared by our own sockets; a later process binding without SO_REUSEPORT
 * (every `spectra serve` probes so) still gets EADDRINUSE. Port 0 needs no probe: the kernel picks
 * a port no socket holds.
 */
import type { Server as HttpServer } from 'node:http';
import net from 'node:net';

export interface Listening {
  /** Sockets bound to the port, the HTTP server's own included: 1 where the runtime cannot share a port. */
  readonly sockets: number;
  /** Stops accepting on every socket, the HTTP server's included; open connections stay. */
  stopAccepting(): void;
  /** Settles once every socket has stopped accepting and every connection it accepted has closed. */
  readonly closed: Promise<void>;
}

export interface ListenOptions {
  host: string;
  /** 0 = any free port. */
  port: number;
  backlog: number;
  /** Sockets wanted on the port (SPECTRA_LISTEN_SOCKETS). */
  sockets: number;
}

/** Binds `server` to the port, with `sockets - 1` more sockets sharing it where the runtime can. */
export async function listenShared(server: HttpServer, opts: ListenOptions): Promise<Listening> {
  const { host, backlog } = opts;
  if (opts.sockets <= 1) {
    await bind(server, { host, port: opts.port, backlog });
    return listening([server]);
  }
  // Port 0: the kernel picks a port no socket is bound to (an autobind does not join a group).
  if (opts.port !== 0) await probe(host, opts.port);
  await bind(server, { host, port: opts.port, backlog, reusePort: true });
  const { port } = server.address() as net.AddressInfo;
  const extra: net.Server[] = [];
  try {
    for (let i = 1; i < opts.sockets; i++) {
      // Configured as node:http configures its own listening socket.
      const s = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) =>
        server.emit('connection', socket),
      );
      const shared = await bind(s, { host, port, backlog, reusePort: true }).then(
        () => true,
        (err: NodeJS.ErrnoException) => {
          // A runtime without SO_REUSEPORT support ignores the option: the port is not shared.
          if (err.code === 'EADDRINUSE' && i === 1) return false;
          throw err;
        },
      );
      if (!shared) break;
      extra.push(s);
    }
  } catch (e) {
    const all = listening([server, ...extra]);
    all.stopAccepting();
    await all.closed;
    throw e;
  }
  return listening([server, ...extra]);
}

function listening(servers: net.Server[]): Listening {
  const closed = Promise.all(
    servers.map((s) => new Promise<void>((resolve) => s.once('close', () => resolve()))),
  ).then(() => undefined);
  return {
    sockets: servers.length,
    stopAccepting: () => {
      for (const s of servers) if (s.listening) s.close();
    },
    closed,
  };
}

/** Binds the port alone (no SO_REUSEPORT) and lets it go: EADDRINUSE when anything holds it. */
async function probe(host: string, port: number): Promise<void> {
  const s = net.createServer();
  await bind(s, { host, port, exclusive: true });
  await new Promise<void>((resolve) => s.close(() => resolve()));
}

function bind(s: net.Server, opts: net.ListenOptions & { reusePort?: boolean }): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(opts, () => {
      s.off('error', reject);
      resolve();
    });
  });
}
