/** Shared plumbing for benchmarks: child processes on loopback, autocannon runs, result records. */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { SERVE_NODE_OPTION } from '../src/runtime/node-heap.js';

export interface BenchResult {
  name: string;
  metric: string;
  unit: string;
  value: number;
  baseline: number | null;
  ratio: number | null;
}

export const ROOT = path.resolve(import.meta.dirname, '..');
export const RESULTS_FILE = path.join(ROOT, 'bench', 'results', 'latest.json');

/** `spectra serve` as `npm start` starts it (with its Node option), on a free port, logging warnings only. */
export function serveArgs(home: string, ...flags: string[]): string[] {
  return [
    SERVE_NODE_OPTION,
    'bin/spectra.js',
    'serve',
    ...flags,
    '--port',
    '0',
    '--home',
    home,
    '--log-level',
    'warn',
  ];
}

/** Starts a process and resolves with the URL once it prints "listening on URL". */
export function startListening(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 180_000,
): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} did not start:\n${out}\n${err}`));
    }, timeoutMs);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]! });
      }
    });
    child.stderr!.on('data', (d) => {
      err = (err + d).slice(-4000);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} exited with ${code}:\n${out}\n${err}`));
    });
  });
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.removeAllListeners('exit');
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
  });
}

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

/** Loopback-only load: bounded by duration and connection count. */
export async function load(opts: {
  url: string;
  body: string;
  headers: Record<string, string>;
  connections: number;
  seconds: number;
}): Promise<LoadResult> {
  if (!/^http:\/\/(127\.\d+\.\d+\.\d+|\[::1\]|localhost)(:\d+)?\//.test(opts.url)) {
    throw new Error(`refusing to load a non-loopback address: ${opts.url}`);
  }
  const r = await autocannon({
    url: opts.url,
    method: 'POST',
    body: opts.body,
    headers: { 'content-type': 'application/json', ...opts.headers },
    connections: opts.connections,
    duration: opts.seconds,
  });
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors,
    non2xx: r.non2xx,
  };
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

export function result(
  name: string,
  metric: string,
  unit: string,
  value: number,
  baseline: number | null = null,
  higherIsBetter = true,
): BenchResult {
  const round = (v: number) => Math.round(v * 100) / 100;
  let ratio: number | null = null;
  if (baseline !== null && baseline !== 0 && value !== 0)
    ratio = round(higherIsBetter ? value / baseline : value / baseline);
  return {
    name,
    metric,
    unit,
    value: round(value),
    baseline: baseline === null ? null : round(baseline),
    ratio,
  };
}

/** Merges this run's results into bench/results/latest.json (results of other benches are kept). */
export async function saveResults(results: BenchResult[]): Promise<void> {
  let previous: { results?: BenchResult[] } = {};
  try {
    previous = JSON.parse(await readFile(RESULTS_FILE, 'utf8'));
  } catch {}
  const names = new Set(results.map((r) => `${r.name}|${r.metric}`));
  const kept = (previous.results ?? []).filter((r) => !names.has(`${r.name}|${r.metric}`));
  const machine = {
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    date: new Date().toISOString(),
  };
  await writeFile(RESULTS_FILE, `${JSON.stringify({ machine, results: [...kept, ...results] }, null, 2)}\n`);
}

export function printTable(results: BenchResult[]): void {
  const rows = results.map((r) => [
    r.name,
    r.metric,
    `${r.value} ${r.unit}`,
    r.baseline === null ? '' : `${r.baseline} ${r.unit}`,
    r.ratio === null ? '' : `${r.ratio}×`,
  ]);
  const header = ['benchmark', 'metric', 'value', 'baseline', 'ratio'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  process.stdout.write(`${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const r of rows) process.stdout.write(`${line(r)}\n`);
}

/** CPU time (user + system) a process has used so far, in ms, from /proc/<pid>/stat. */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

const CLOCK_TICKS = 100;

function parentOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return -1;
  }
}

/**
 * CPU of a PostgreSQL server: its postmaster's children (backends of every database, WAL writer,
 * checkpointer…), so the control-state writes a request causes are counted with its query.
 */
export class PostgresCpu {
  private constructor(private readonly postmaster: number) {}

  /** Finds the postmaster through one backend of `pool`. */
  static async of(pool: {
    query: (sql: string) => Promise<{ rows: { pid: number }[] }>;
  }): Promise<PostgresCpu> {
    const { rows } = await pool.query('SELECT pg_backend_pid() AS pid');
    return new PostgresCpu(parentOf(rows[0]!.pid));
  }

  snapshot(): Map<number, number> {
    const out = new Map<number, number>();
    for (const name of readdirSync('/proc')) {
      const pid = Number(name);
      if (Number.isInteger(pid) && parentOf(pid) === this.postmaster) out.set(pid, processCpuMs(pid));
    }
    return out;
  }

  /** CPU ms used between `before` and now (processes that exited in between are not counted). */
  since(before: Map<number, number>): number {
    let ms = 0;
    for (const [pid, now] of this.snapshot()) ms += now - (before.get(pid) ?? 0);
    return ms;
  }
}

export interface OpenLoadResult {
  sent: number;
  ok: number;
  refused: number;
  failed: number;
  seconds: number;
  okP50: number;
  okP99: number;
}

/**
 * Open-loop load: `rate` requests per second whatever the answers' latency (a closed loop can
 * never offer more than the server completes), on up to `maxSockets` keep-alive connections; a
 * request due when every connection is busy waits for one, and its latency counts from when it
 * was due. Latency percentiles are of the 2xx answers (the admitted requests).
 *
 * Written on raw sockets: the generator shares the machine's cores with the service, and
 * node:http spent about 0.2 ms of CPU per request sent, as much as a fifth of what it measures.
 * The request is one prebuilt buffer; an answer is read only as far as its status line, headers
 * and body length (Content-Length or chunked).
 */
export async function openLoad(opts: {
  url: string;
  body: string;
  headers: Record<string, string>;
  rate: number;
  seconds: number;
  maxSockets: number;
}): Promise<OpenLoadResult> {
  if (!/^http:\/\/(127\.\d+\.\d+\.\d+|\[::1\]|localhost)(:\d+)?\//.test(opts.url)) {
    throw new Error(`refusing to load a non-loopback address: ${opts.url}`);
  }
  const u = new URL(opts.url);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const body = Buffer.from(opts.body);
  const head = [
    `POST ${u.pathname} HTTP/1.1`,
    `Host: ${u.host}`,
    'Content-Type: application/json',
    ...Object.entries(opts.headers).map(([k, v]) => `${k}: ${v}`),
    `Content-Length: ${body.length}`,
    '',
    '',
  ].join('\r\n');
  const request = Buffer.concat([Buffer.from(head), body]);
  const okTimes: number[] = [];
  let sent = 0;
  let answered = 0;
  let refused = 0;
  let failed = 0;
  let open = 0;
  const idle: LoadSocket[] = [];
  const waiting: number[] = [];
  let stopped = false;
  let allAnswered: (() => void) | undefined;

  const settle = (status: number, dueAt: number) => {
    answered++;
    if (status >= 200 && status < 300) okTimes.push(performance.now() - dueAt);
    else if (status === 429 || status === 503) refused++;
    else failed++;
    if (stopped && answered === sent) allAnswered?.();
  };
  const send = (socket: LoadSocket, dueAt: number) => {
    socket.dueAt = dueAt;
    socket.reader.busy = true;
    socket.write(request);
  };
  const release = (socket: LoadSocket) => {
    const next = waiting.shift();
    if (next !== undefined) send(socket, next);
    else idle.push(socket);
  };
  const connect = (dueAt: number) => {
    open++;
    const socket = net.connect({ host, port: Number(u.port) }) as LoadSocket;
    socket.setNoDelay(true);
    const reader = new AnswerReader((status, close) => {
      settle(status, socket.dueAt);
      if (close) socket.destroy();
      else release(socket);
    });
    socket.reader = reader;
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
    socket.on('close', () => {
      open--;
      const i = idle.indexOf(socket);
      if (i !== -1) idle.splice(i, 1);
      if (reader.busy) settle(0, socket.dueAt);
      // A request waiting for a connection gets a new one.
      if (waiting.length > 0 && open < opts.maxSockets) connect(waiting.shift()!);
    });
    socket.on('error', () => {});
    send(socket, dueAt);
  };
  const due = (dueAt: number) => {
    sent++;
    const socket = idle.pop();
    if (socket) {
      send(socket, dueAt);
      return;
    }
    if (open < opts.maxSockets) connect(dueAt);
    else waiting.push(dueAt);
  };

  const start = performance.now();
  await new Promise<void>((done) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - start;
      if (elapsed >= opts.seconds * 1000) {
        clearInterval(timer);
        done();
        return;
      }
      const count = Math.floor((elapsed / 1000) * opts.rate) - sent;
      for (let i = 0; i < count; i++) due(start + ((sent + 1) / opts.rate) * 1000);
    }, 10);
  });
  stopped = true;
  if (answered < sent) await new Promise<void>((r) => (allAnswered = r));
  const seconds = (performance.now() - start) / 1000;
  for (const s of idle.splice(0)) s.destroy();
  return {
    sent,
    ok: okTimes.length,
    refused,
    failed,
    seconds,
    okP50: okTimes.length ? percentile(okTimes, 50) : 0,
    okP99: okTimes.length ? percentile(okTimes, 99) : 0,
  };
}

interface LoadSocket extends net.Socket {
  /** When the request it carries was due. */
  dueAt: number;
  reader: AnswerReader;
}

/**
 * Reads HTTP/1.1 answers off one connection, one at a time: the status line, the headers (for
 * Content-Length, chunked Transfer-Encoding and Connection: close), then skips the body.
 */
class AnswerReader {
  busy = false;
  private buffered: Buffer = Buffer.alloc(0);
  private status = 0;
  private close = false;
  /** Body bytes still to skip; -1 while reading headers, -2 while reading chunk sizes. */
  private left = -1;

  constructor(private readonly onAnswer: (status: number, close: boolean) => void) {}

  push(chunk: Buffer): void {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    for (;;) {
      if (this.left === -1) {
        const end = this.buffered.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = this.buffered.subarray(0, end).toString('latin1');
        this.buffered = this.buffered.subarray(end + 4);
        this.status = Number(head.slice(9, 12));
        const lower = head.toLowerCase();
        this.close = /\r\nconnection: *close/.test(lower);
        const length = /\r\ncontent-length: *(\d+)/.exec(lower);
        this.left = length ? Number(length[1]) : /\r\ntransfer-encoding: *chunked/.test(lower) ? -2 : 0;
      }
      if (this.left === -2) {
        const eol = this.buffered.indexOf('\r\n');
        if (eol === -1) return;
        const size = Number.parseInt(this.buffered.subarray(0, eol).toString('latin1'), 16);
        if (size === 0) {
          // The last chunk, then an empty trailer line.
          if (this.buffered.length < eol + 4) return;
          this.buffered = this.buffered.subarray(eol + 4);
          this.finish();
          continue;
        }
        if (this.buffered.length < eol + 2 + size + 2) return;
        this.buffered = this.buffered.subarray(eol + 2 + size + 2);
        continue;
      }
      if (this.buffered.length < this.left) {
        this.left -= this.buffered.length;
        this.buffered = Buffer.alloc(0);
        return;
      }
      this.buffered = this.buffered.subarray(this.left);
      this.finish();
      if (this.buffered.length === 0) return;
    }
  }

  private finish(): void {
    this.left = -1;
    this.busy = false;
    this.onAnswer(this.status, this.close);
  }
}
