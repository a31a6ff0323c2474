/**
 * Per-request authentication cost, in µs: API key (cached / uncached), JWT HS256 and RS256
 * (cached / uncached). The StateStore is the in-memory test double, so "uncached" is the CPU cost
 * of verification (hashing, signature, claim checks) without the state store round trip, which a
 * real deployment adds on top (one key read per uncached API key; tenant reads are cached ≤ 1 s).
 *
 * Run: `npx tsx bench/auth-cost.ts`. Prints `[{name, metric, unit, value}]` as JSON on stdout.
 */
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { type Authenticate, createApiKey, createAuthenticator, type JwtOptions } from '../src/auth/index.js';
import { MemoryState } from '../test/unit/auth/memory-state.js';

const ITERATIONS = Number(process.env.AUTH_BENCH_ITERATIONS ?? 5000);
const WARMUP = 500;
const PEPPER = 'bench-pepper';
const HS_SECRET = 'bench-secret-0123456789abcdef0123456789abcdef';

interface Result {
  name: string;
  metric: string;
  unit: string;
  value: number;
}

async function measure(name: string, authenticate: Authenticate, credential: string): Promise<Result[]> {
  for (let i = 0; i < WARMUP; i++) await authenticate(credential);
  const samples = new Float64Array(ITERATIONS);
  for (let i = 0; i < ITERATIONS; i++) {
    const t0 = performance.now();
    await authenticate(credential);
    samples[i] = (performance.now() - t0) * 1000;
  }
  samples.sort();
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  const pct = (p: number) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))] ?? 0;
  const round = (v: number) => Math.round(v * 10) / 10;
  return [
    { name, metric: 'mean', unit: 'us', value: round(mean) },
    { name, metric: 'p50', unit: 'us', value: round(pct(0.5)) },
    { name, metric: 'p99', unit: 'us', value: round(pct(0.99)) },
  ];
}

async function main(): Promise<void> {
  const state = new MemoryState();
  state.addTenant('acme');
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const now = Math.floor(Date.now() / 1000);
  const payload = {
    sub: 'bench',
    tenant_id: 'acme',
    permissions: ['query:execute'],
    iat: now,
    exp: now + 3600,
  };
  const hsToken = await new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(HS_SECRET));
  const rsToken = await new SignJWT(payload)
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
    .sign(privateKey);
  const { apiKey } = await createApiKey(state, PEPPER, 'acme');

  const auth = (cached: boolean, jwt?: JwtOptions) =>
    createAuthenticator({
      state,
      pepper: PEPPER,
      apiKeyCacheTtlMs: cached ? 1000 : 0,
      jwt: jwt ? { ...jwt, cacheTtlMs: cached ? 300_000 : 0 } : undefined,
    });

  const results: Result[] = [];
  for (const cached of [true, false]) {
    const suffix = cached ? 'cached' : 'uncached';
    results.push(...(await measure(`auth_api_key_${suffix}`, auth(cached), apiKey)));
    results.push(
      ...(await measure(`auth_jwt_hs256_${suffix}`, auth(cached, { secret: HS_SECRET }), hsToken)),
    );
    results.push(
      ...(await measure(`auth_jwt_rs256_${suffix}`, auth(cached, { publicKey: publicPem }), rsToken)),
    );
  }
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
}

main().catch((e) => {
  process.stderr.write(`auth bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
