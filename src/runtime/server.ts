/**
 * `spectra serve`: the core services behind the HTTP app on Node, listening until asked to stop.
 * Shutdown: `/ready` answers 503 at once (and for SPECTRA_SHUTDOWN_DELAY_SECONDS the server keeps
 * serving, so load balancers stop routing here), then it stops accepting, lets in-flight requests
 * finish for SPECTRA_SHUTDOWN_GRACE_SECONDS, cancels what is left (their statements are cancelled
 * in the warehouse), writes buffered audit entries, and closes pools and the embedded PostgreSQL.
 * A request is in flight from its arrival until its response is fully written (or its connection
 * closes), so buffered and streamed responses both finish within the grace period.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { getRequestListener } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Config } from '../config/index.js';
import { createApp } from '../http/app.js';
import { overloadShed } from '../http/overload-shed.js';
import type { Logger } from '../observability/logger.js';
import { type MetricsServer, startMetricsServer } from '../observability/metrics-server.js';
import { listenShared } from './acceptors.js';
import { appDepsFromCore } from './app-deps.js';
import { buildCore, type Core } from './core.js';
import type { DemoCredentials } from './demo.js';
import { answerClientError, answerExpectationFailed, answerUnparsableRequest } from './http-client-errors.js';
import { startJobWorker } from './worker.js';

export interface RunningServer {
  url: string;
  host: string;
  port: number;
  core: Core;
  credentials: DemoCredentials | null;
  /** The unauthenticated metrics listener (`--metrics-port`), when configured. */
  metricsUrl: string | null;
  /** Graceful shutdown; later calls return the same promise. */
  close(): Promise<void>;
}

/** After the grace period, how long cancelled requests get to unwind (cancel statements, record jobs). */
const CANCEL_GRACE_MS = 5000;

export async function startServer(config: Config, log: Logger): Promise<RunningServer> {
  const core = await buildCore(config, log);
  try {
    const server = await listen(core);
    if (config.worker) await startJobWorker(core);
    return server;
  } catch (e) {
    await core.close();
    throw e;
  }
}

/** Connections the kernel queues before accept (still capped by net.core.somaxconn). */
const LISTEN_BACKLOG = 4096;

export async function listen(core: Core): Promise<RunningServer> {
  const { config, log } = core;
  let shuttingDown = false;
  const ops = core.observability;
  const app = createApp(
    appDepsFromCore(core, {
      remoteAddress: (c) => getConnInfo(c).remote.address,
      isShuttingDown: () => shuttingDown,
    }),
  );

  let inFlight = 0;
  let drained: (() => void) | undefined;
  const handle = getRequestListener(app.fetch, {
    hostname: config.host,
    errorHandler: (err) => answerUnparsableRequest(err, log),
  });
  const shed = overloadShed({
    admission: ops.admission,
    authenticate: core.authenticate,
    metrics: ops.metrics,
    log,
    cors: config.corsOrigins.length > 0,
    maxBodyBytes: config.maxBodyBytes,
    rateLimiter: ops.rateLimiter,
  });
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    inFlight++;
    if (shuttingDown) res.setHeader('Connection', 'close');
    // 'close' follows 'finish' and also fires when the connection dies first: the request is over either way.
    res.once('close', () => {
      if (--inFlight === 0) drained?.();
    });
    shed(req, res, () => void handle(req, res));
  });
  // Node's default (5 s) is shorter than a load balancer's idle timeout: it would close connections
  // the balancer is about to reuse (SPECTRA_KEEP_ALIVE_TIMEOUT_SECONDS, docs/operations.md).
  server.keepAliveTimeout = config.keepAliveTimeoutSeconds * 1000;
  server.on('clientError', answerClientError);
  server.on('checkExpectation', answerExpectationFailed);
  // A burst of new connections (1,000 clients at once) must wait in the accept queue, not be reset:
  // Node's default backlog is 511. Several sockets share the port where Node can (acceptors.ts).
  const listening = await listenShared(server, {
    host: config.host,
    port: config.port,
    backlog: LISTEN_BACKLOG,
    sockets: config.listenSockets,
  });
  if (listening.sockets < config.listenSockets)
    log.info(
      { sockets: listening.sockets, wanted: config.listenSockets, node: process.version },
      'this Node cannot share a port between sockets (SO_REUSEPORT, Node 22.12+): one listening socket, so under overload new connections wait longer to be accepted',
    );
  let metricsServer: MetricsServer | null = null;
  let closing: Promise<void> | undefined;
  if (ops.metrics && config.metricsPort !== null) {
    try {
      metricsServer = await startMetricsServer(ops.metrics, {
        host: config.metricsHost,
        port: config.metricsPort,
      });
      log.info({ url: metricsServer.url }, 'metrics listener started');
    } catch (e) {
      listening.stopAccepting();
      throw e;
    }
  }
  const waitForInFlight = (ms: number) =>
    inFlight === 0
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          drained = resolve;
          setTimeout(resolve, ms).unref();
        });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;

  return {
    url: `http://${host}:${addr.port}`,
    host,
    port: addr.port,
    core,
    credentials: core.credentials,
    metricsUrl: metricsServer?.url ?? null,
    close: () => {
      closing ??= (async () => {
        shuttingDown = true;
        if (config.shutdownDelaySeconds > 0) await sleep(config.shutdownDelaySeconds * 1000);
        listening.stopAccepting();
        server.closeIdleConnections();
        log.info(
          { in_flight: inFlight, grace_seconds: config.shutdownGraceSeconds },
          'draining in-flight requests',
        );
        await waitForInFlight(config.shutdownGraceSeconds * 1000);
        if (inFlight > 0)
          log.warn({ in_flight: inFlight }, 'shutdown grace over: cancelling in-flight requests');
        // Closing the sockets aborts the requests' signals: their statements are cancelled in the warehouse.
        server.closeAllConnections();
        await waitForInFlight(CANCEL_GRACE_MS);
        shed.flush();
        await metricsServer?.close();
        await listening.closed;
        await core.close();
      })();
      return closing;
    },
  };
}
