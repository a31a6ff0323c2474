/**
 * `npx tsx bench/profile-breakdown.ts <file.cpuprofile> [cpu ms per request]`: the service's CPU
 * profile (BENCH_CPU_PROF, docs/benchmarks.md) split into the stages of a request by where each
 * sampled function lives (self time; idle excluded). With the measured CPU per request, each
 * share is also printed in µs per request.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** First match wins: [stage, test on the function's script URL or, for V8's own entries, its name]. */
const STAGES: [string, RegExp][] = [
  ['idle', /^\(idle\)$/],
  // Native socket writes: inflated on a loaded machine (time descheduled inside the syscall).
  ['socket writes (writev, writeBuffer)', /^(writev|writeBuffer|writeUtf8String|writeLatin1String)$/],
  ['garbage collection', /^\(garbage collector\)$/],
  ['HTTP framework (hono, @hono/node-server)', /node_modules\/(hono|@hono\/node-server)\//],
  ['validation (zod, zod-openapi)', /node_modules\/(zod|@hono\/zod-openapi|@asteasolutions)\//],
  ['SQL guard + plan cache', /\/dist\/sql\/|node_modules\/(pgsql-|libpg-query|@pgsql)/],
  ['auth', /\/dist\/auth\/|\/dist\/http\/middleware\/(authenticate|bind-principal)/],
  ['audit', /audit/],
  [
    'metrics',
    /node_modules\/prom-client\/|\/dist\/observability\/(prometheus|service-metrics|query-observer)|http-metrics/,
  ],
  [
    'logging + tracing',
    /node_modules\/(pino|thread-stream|sonic-boom)|\/dist\/(runtime\/logger|observability\/(tracing|request-scope|otlp))|request-context/,
  ],
  ['job record', /job-record-writer|\/dist\/state\//],
  ['envelope + encoders', /\/dist\/formats\/|\/dist\/http\/routes\//],
  ['other middleware (request id, timing, limits, admission)', /\/dist\/http\/|query-admission|rate-limit/],
  ['query service + warehouse adapter', /\/dist\/(services|warehouse|domain)\//],
  ['pg driver', /node_modules\/(pg|pg-protocol|pg-types|pg-pool|pg-cursor|postgres-)/],
  ['Node HTTP, sockets, streams', /^node:/],
  ['other JS (Node internals, V8 builtins, program)', /.*/],
];

const [file, perReq] = process.argv.slice(2);
if (!file) throw new Error('usage: profile-breakdown.ts <file.cpuprofile> [cpu ms per request]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const stageOf = new Map<number, string>();
for (const n of profile.nodes) {
  const key = n.callFrame.url || n.callFrame.functionName;
  stageOf.set(n.id, STAGES.find(([, re]) => re.test(key))![0]);
}
const micros = new Map<string, number>();
for (let i = 0; i < profile.samples.length; i++) {
  const stage = stageOf.get(byId.get(profile.samples[i]!)!.id)!;
  micros.set(stage, (micros.get(stage) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const busy = [...micros].filter(([s]) => s !== 'idle').reduce((t, [, us]) => t + us, 0);
process.stdout.write(
  `busy CPU in profile: ${(busy / 1000).toFixed(0)} ms\n| stage | share | µs/request |\n|---|---|---|\n`,
);
for (const [stage, us] of [...micros].filter(([s]) => s !== 'idle').sort((a, b) => b[1] - a[1])) {
  const share = us / busy;
  const per = perReq ? `${Math.round(share * Number(perReq) * 1000)}` : '';
  process.stdout.write(`| ${stage} | ${(share * 100).toFixed(1)} % | ${per} |\n`);
}
