/**
 * Per-request authentication cost in µs (issue 4): API key, JWT HS256 and RS256, each cached and
 * uncached, against the real PostgreSQL state store of the bench home (so "uncached API key"
 * includes its key and tenant reads). Ratio = uncached / cached.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { SignJWT } from 'jose';
import {
  type Authenticate,
  createApiKey,
  createAuthenticator,
  type JwtOptions,
  revokeApiKey,
} from '../src/auth/index.js';
import { PostgresStateStore } from '../src/state/postgres/index.js';
import { type BenchResult, percentile, result } from './lib.js';
import type { BenchContext } from './run.js';

const ITERATIONS = Number(process.env.AUTH_BENCH_ITERATIONS ?? 3000);
const WARMUP = 300;
const PEPPER = 'bench-pepper';
const HS_SECRET = 'bench-secret-0123456789abcdef0123456789abcdef';

async function samples(authenticate: Authenticate, credential: string): Promise<number[]> {
  for (let i = 0; i < WARMUP; i++) await authenticate(credential);
  const out: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    const t0 = performance.now();
    await authenticate(credential);
    out.push((performance.now() - t0) * 1000);
  }
  return out;
}

export default async function authBench(ctx: BenchContext): Promise<BenchResult[]> {
  const roles = JSON.parse(await readFile(path.join(ctx.home, 'pg', 'roles.json'), 'utf8'));
  const state = new PostgresStateStore({
    host: ctx.pg.host,
    port: ctx.pg.port,
    user: roles.stateUser.user,
    password: roles.stateUser.password,
    database: 'spectra_control',
    poolSize: 2,
  });
  const tenantId = ctx.tenants[0]!.tenant_id;
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const now = Math.floor(Date.now() / 1000);
  const payload = {
    sub: 'bench',
    tenant_id: tenantId,
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
  const issued = await createApiKey(state, PEPPER, tenantId, {});
  const auth = (cached: boolean, jwt?: JwtOptions) =>
    createAuthenticator({
      state,
      pepper: PEPPER,
      apiKeyCacheTtlMs: cached ? 1000 : 0,
      jwt: jwt ? { ...jwt, cacheTtlMs: cached ? 300_000 : 0, tenantRecheckMs: cached ? 1000 : 0 } : undefined,
    });
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const cases: [string, (cached: boolean) => Authenticate, string][] = [
    ['API key', (c) => auth(c), issued.apiKey],
    ['JWT HS256', (c) => auth(c, { secret: HS_SECRET }), hsToken],
    ['JWT RS256', (c) => auth(c, { publicKey: publicPem }), rsToken],
  ];
  const results: BenchResult[] = [];
  try {
    for (const [name, make, credential] of cases) {
      const cached = await samples(make(true), credential);
      const uncached = await samples(make(false), credential);
      for (const p of [50, 99]) {
        results.push(
          result(
            `auth ${name}: uncached vs cached`,
            `p${p}`,
            'µs',
            percentile(uncached, p),
            percentile(cached, p),
            false,
          ),
        );
      }
    }
  } finally {
    await revokeApiKey(state, tenantId, issued.record.keyId).catch(() => {});
    await state.close();
  }
  return results;
}
