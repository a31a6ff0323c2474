/**
 * `spectra serve`: the core services behind the HTTP app on Node, listening until asked to stop;
 * on shutdown it stops accepting, lets in-flight requests finish (bounded), then closes pools
 * and the embedded PostgreSQL.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Config } from '../config/index.js';
import { createApp } from '../http/app.js';
import { buildCore, type Core } from './core.js';
import type { DemoCredentials } from './demo.js';
import type { Logger } from './logger.js';
import { VERSION } from './version.js';

export interface RunningServer {
  url: string;
  host: string;
  port: number;
  core: Core;
  credentials: DemoCredentials | null;
  close(): Promise<void>;
}

export async function startServer(config: Config, log: Logger): Promise<RunningServer> {
  const core = await buildCore(config, log);
  try {
    return await listen(core);
  } catch (e) {
    await core.close();
    throw e;
  }
}

export async function listen(core: Core): Promise<RunningServer> {
  const { config, log } = core;
  let shuttingDown = false;
  const app = createApp({
    version: VERSION,
    maxBodyBytes: config.maxBodyBytes,
    authenticate: core.authenticate,
    trustedHeader: core.trustedHeader,
    remoteAddress: (c) => getConnInfo(c).remote.address,
    queries: core.queries,
    tenants: core.tenants,
    state: core.state,
    readiness: [
      { name: 'warehouse', check: () => core.warehouse.ping() },
      { name: 'state', check: () => core.state.ping() },
    ],
    isShuttingDown: () => shuttingDown,
    onInternalError: (err, requestId) => log.error({ err, request_id: requestId }, 'internal error'),
  });

  let inFlight = 0;
  let drained: (() => void) | undefined;
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve(
      {
        fetch: async (req, env) => {
          inFlight++;
          try {
            return await app.fetch(req, env);
          } finally {
            if (--inFlight === 0) drained?.();
          }
        },
        port: config.port,
        hostname: config.host,
      },
      () => resolve(s as Server),
    );
    s.once('error', reject);
  });
  const serverClosed = new Promise<void>((resolve) => server.once('close', () => resolve()));
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;

  return {
    url: `http://${host}:${addr.port}`,
    host,
    port: addr.port,
    core,
    credentials: core.credentials,
    close: async () => {
      if (shuttingDown) return;
      shuttingDown = true;
      server.close();
      server.closeIdleConnections();
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          drained = resolve;
          setTimeout(resolve, config.shutdownGraceSeconds * 1000).unref();
        });
      }
      server.closeAllConnections();
      await serverClosed;
      await core.close();
    },
  };
}
