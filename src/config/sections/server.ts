/**
 * The server process: where it listens and keeps its files, its log level, the demo data, CORS, download
 * origins, shutdown, idempotency keys, the AWS region of every SDK client.
 */
import path from 'node:path';
import * as z from 'zod/mini';
import { bool, type ConfigOf, int, type Setting } from '../setting.js';

export const SERVER_SETTINGS = {
  home: {
    env: 'SPECTRA_HOME',
    flag: 'home',
    cli: { arg: 'DIR', help: 'state folder' },
    schema: z.string().check(z.minLength(1)),
    default: './.spectra',
    doc: 'Folder for everything the embedded shape writes: PostgreSQL data, secrets, credentials.json, result files.',
  },
  host: {
    env: 'SPECTRA_HOST',
    flag: 'host',
    cli: { arg: 'HOST', help: 'bind address' },
    schema: z.string().check(z.minLength(1)),
    default: '127.0.0.1',
    doc: 'Address the HTTP server binds to. Use 0.0.0.0 to accept remote connections.',
  },
  port: {
    env: 'SPECTRA_PORT',
    flag: 'port',
    cli: { arg: 'N', help: 'HTTP port, 0 = any free port' },
    schema: int(0, 65535),
    default: 8080,
    doc: 'HTTP port; 0 picks any free port (the chosen one is printed).',
  },
  listenSockets: {
    env: 'SPECTRA_LISTEN_SOCKETS',
    schema: int(1, 64),
    default: 8,
    doc: 'Listening sockets sharing the HTTP port (SO_REUSEPORT, Node 22.12+; older Node uses one and logs so at start). Node accepts one new connection per socket per turn of its event loop, so under overload more sockets keep new connections from waiting seconds in the accept queue. Another process still cannot bind the port while it is served.',
  },
  keepAliveTimeoutSeconds: {
    env: 'SPECTRA_KEEP_ALIVE_TIMEOUT_SECONDS',
    schema: int(1, 3600),
    default: 65,
    doc: 'How long an idle keep-alive connection stays open (announced in `Keep-Alive: timeout=N`). Keep it above the idle timeout of any load balancer or proxy in front (AWS ALB: 60 s), so that they, not the server, close idle connections: a connection the server closes just as the balancer reuses it fails that request (a 502 from the balancer).',
  },
  logLevel: {
    env: 'SPECTRA_LOG_LEVEL',
    flag: 'log-level',
    cli: { arg: 'LEVEL', help: 'debug|info|warn|error|silent' },
    schema: z.enum(['debug', 'info', 'warn', 'error', 'silent']),
    default: 'info',
    doc: 'Log level of the JSON logs written to stderr.',
  },
  demo: {
    env: 'SPECTRA_DEMO',
    flag: 'demo',
    cli: { help: 'do not create demo tenants' },
    schema: bool,
    default: true,
    doc: 'Embedded mode: seed the demo tenants (acme, globex, initech) and write credentials.json on first start.',
  },
  demoRows: {
    env: 'SPECTRA_DEMO_ROWS',
    flag: 'demo-rows',
    cli: { arg: 'N', help: 'rows of the demo sales table on first start' },
    schema: int(0, 100_000_000),
    default: 1_000_000,
    doc: 'Rows of the demo `sales` table, split unevenly across the demo tenants (first start only).',
  },
  corsOrigins: {
    env: 'SPECTRA_CORS_ORIGINS',
    schema: z.pipe(
      z.union([z.array(z.string()), z.string()]),
      z.transform((v: string[] | string, ctx) => {
        let origins: unknown = v;
        // The Python original's JSON list form (`["*"]`) is accepted beside the comma-separated one.
        if (typeof v === 'string' && v.trim().startsWith('[')) {
          try {
            origins = JSON.parse(v);
          } catch {
            origins = null;
          }
        } else if (typeof v === 'string') origins = v.split(',');
        if (!Array.isArray(origins) || origins.some((o) => typeof o !== 'string')) {
          ctx.issues.push({
            code: 'custom',
            message: 'expected origins separated by commas, or a JSON list of strings',
            input: v,
          });
          return z.NEVER;
        }
        const list = (origins as string[]).map((o) => o.trim().replace(/\/+$/, '')).filter(Boolean);
        const bad = list.find((o) => o !== '*' && !/^https?:\/\/[^/\s]+$/.test(o));
        if (bad) {
          ctx.issues.push({
            code: 'custom',
            message: `"${bad}" is not an origin (scheme://host[:port]) or *`,
            input: v,
          });
          return z.NEVER;
        }
        return list;
      }),
    ),
    default: '',
    doc: 'Browser origins allowed to call the API (CORS), comma-separated (`https://app.example.com,http://localhost:3000`) or `*` for any; a JSON list (`["*"]`) is read too. Preflights from these origins are answered before authentication; credentials mode is never enabled. Empty = no CORS headers. On AWS the CDK stack sets it for API Gateway and the API function.',
  },
  publicUrl: {
    env: 'SPECTRA_PUBLIC_URL',
    schema: z.string(),
    default: '',
    doc: 'Origin clients reach the API at (e.g. behind a proxy), for download URLs. Empty = the origin of the request.',
  },
  shutdownGraceSeconds: {
    env: 'SPECTRA_SHUTDOWN_GRACE_SECONDS',
    schema: int(0),
    default: 10,
    doc: 'On SIGINT/SIGTERM/SIGHUP, how long in-flight requests may finish before they are cancelled.',
  },
  shutdownDelaySeconds: {
    env: 'SPECTRA_SHUTDOWN_DELAY_SECONDS',
    schema: int(0, 300),
    default: 0,
    doc: 'On SIGINT/SIGTERM/SIGHUP, how long to keep serving with /ready answering 503 before refusing new connections (lets a load balancer drain this instance).',
  },
  idempotencyTtlHours: {
    env: 'SPECTRA_IDEMPOTENCY_TTL_HOURS',
    schema: int(1),
    default: 24,
    doc: 'Hours an idempotency key is remembered with its response.',
  },
  idempotencyWaitSeconds: {
    env: 'SPECTRA_IDEMPOTENCY_WAIT_SECONDS',
    schema: int(0, 300),
    default: 30,
    doc: 'How long a duplicate request waits for the first one (same key, still running) before it gets 409 CONFLICT.',
  },
  awsRegion: {
    env: 'SPECTRA_AWS_REGION',
    schema: z.string(),
    default: '',
    doc: "AWS region of the Data API, DynamoDB and S3 clients. Empty = the SDK's own lookup (AWS_REGION, profile). Endpoints: the SDK's AWS_ENDPOINT_URL_REDSHIFT_DATA / AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_S3.",
  },
} satisfies Record<string, Setting>;

export type ServerConfig = ConfigOf<typeof SERVER_SETTINGS>;

export function finishServer(config: ServerConfig): string[] {
  config.home = path.resolve(config.home);
  return [];
}
