import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, type JWK } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { JwtAuthenticator, type JwtOptions } from '../../../src/auth/jwt.js';
import { MemoryState } from '../../fakes/memory-state.js';
import {
  claims,
  ecKeyPair,
  expectRejected,
  type KeyPair,
  rsaKeyPair,
  signHs,
  signWith,
} from '../../helpers/jwt-tokens.js';

const rsaA = rsaKeyPair();
const rsaB = rsaKeyPair();
const ecC = ecKeyPair();

/** A JWKS endpoint on 127.0.0.1 whose key set the test can change, counting fetches. */
interface JwksServer {
  url: string;
  fetches: number;
  keys: JWK[];
  close(): Promise<void>;
}

async function publicJwk(pair: KeyPair, kid: string, alg: string): Promise<JWK> {
  return { ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' };
}

const servers: Server[] = [];
async function startJwks(keys: JWK[]): Promise<JwksServer> {
  const state = { fetches: 0, keys };
  const server = createServer((_req, res) => {
    state.fetches++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: state.keys }));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    get fetches() {
      return state.fetches;
    },
    get keys() {
      return state.keys;
    },
    set keys(k: JWK[]) {
      state.keys = k;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  } as JwksServer;
}

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

function authenticator(jwksUrl: string, opts: Partial<JwtOptions> = {}) {
  const state = new MemoryState();
  state.addTenant('acme');
  return new JwtAuthenticator(state, { jwksUrl, cacheTtlMs: 0, ...opts });
}

describe('JWT with a JWKS URL', () => {
  it('RS256 and ES256 tokens verify against keys fetched from the JWKS endpoint', async () => {
    const jwks = await startJwks([await publicJwk(rsaA, 'a', 'RS256'), await publicJwk(ecC, 'c', 'ES256')]);
    const jwt = authenticator(jwks.url);
    await expect(
      jwt.authenticate(await signWith(claims('acme'), rsaA.privateKey, 'RS256', 'a')),
    ).resolves.toMatchObject({
      tenantId: 'acme',
    });
    await expect(
      jwt.authenticate(await signWith(claims('acme'), ecC.privateKey, 'ES256', 'c')),
    ).resolves.toMatchObject({
      tenantId: 'acme',
    });
    expect(jwks.fetches).toBe(1);
  });

  it('an unknown kid is rejected', async () => {
    const jwks = await startJwks([await publicJwk(rsaA, 'a', 'RS256')]);
    const jwt = authenticator(jwks.url, { jwksCooldownMs: 0 });
    const token = await signWith(claims('acme'), rsaB.privateKey, 'RS256', 'not-in-the-set');
    await expectRejected(jwt.authenticate(token), 'UNAUTHORIZED', [token]);
  });

  it('a token signed by another key under a known kid is rejected', async () => {
    const jwks = await startJwks([await publicJwk(rsaA, 'a', 'RS256')]);
    const jwt = authenticator(jwks.url);
    await expectRejected(
      jwt.authenticate(await signWith(claims('acme'), rsaB.privateKey, 'RS256', 'a')),
      'UNAUTHORIZED',
    );
  });

  it('a new kid published at the endpoint is picked up by a refresh', async () => {
    const jwks = await startJwks([await publicJwk(rsaA, 'a', 'RS256')]);
    const jwt = authenticator(jwks.url, { jwksCooldownMs: 0 });
    await jwt.authenticate(await signWith(claims('acme'), rsaA.privateKey, 'RS256', 'a'));
    jwks.keys = [...jwks.keys, await publicJwk(rsaB, 'b', 'RS256')];
    await expect(
      jwt.authenticate(await signWith(claims('acme'), rsaB.privateKey, 'RS256', 'b')),
    ).resolves.toMatchObject({ tenantId: 'acme' });
    expect(jwks.fetches).toBe(2);
  });

  it('refreshes caused by unknown kids are rate-limited by the cooldown', async () => {
    const jwks = await startJwks([await publicJwk(rsaA, 'a', 'RS256')]);
    const jwt = authenticator(jwks.url, { jwksCooldownMs: 60_000 });
    await jwt.authenticate(await signWith(claims('acme'), rsaA.privateKey, 'RS256', 'a'));
    for (let i = 0; i < 20; i++) {
      await expectRejected(
        jwt.authenticate(await signWith(claims('acme'), rsaB.privateKey, 'RS256', `random-${i}`)),
        'UNAUTHORIZED',
      );
    }
    expect(jwks.fetches).toBe(1);
  });

  it('JWKS endpoint down: tokens are rejected with 401, not a 500', async () => {
    const jwks = await startJwks([await publicJwk(rsaA, 'a', 'RS256')]);
    const url = jwks.url;
    await jwks.close();
    const jwt = authenticator(url);
    const token = await signWith(claims('acme'), rsaA.privateKey, 'RS256', 'a');
    await expectRejected(jwt.authenticate(token), 'UNAUTHORIZED', [token]);
  });

  it('JWKS endpoint down: a failed fetch is not retried on every request', async () => {
    const jwks = await startJwks([await publicJwk(rsaA, 'a', 'RS256')]);
    let hits = 0;
    const failing = createServer((_req, res) => {
      hits++;
      res.writeHead(503).end();
    });
    servers.push(failing);
    await new Promise<void>((r) => failing.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(failing.address() as AddressInfo).port}/jwks.json`;
    const jwt = authenticator(url, { jwksFailureBackoffMs: 60_000 });
    const token = await signWith(claims('acme'), rsaA.privateKey, 'RS256', 'a');
    for (let i = 0; i < 10; i++) await expectRejected(jwt.authenticate(token), 'UNAUTHORIZED');
    expect(hits).toBe(1);
    expect(jwks.fetches).toBe(0);
  });

  it('JWKS endpoint answering garbage: tokens are rejected with 401', async () => {
    const garbage = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":'),
    );
    servers.push(garbage);
    await new Promise<void>((r) => garbage.listen(0, '127.0.0.1', r));
    const jwt = authenticator(`http://127.0.0.1:${(garbage.address() as AddressInfo).port}/`);
    await expectRejected(
      jwt.authenticate(await signWith(claims('acme'), rsaA.privateKey, 'RS256', 'a')),
      'UNAUTHORIZED',
    );
  });

  it('an HS256 token is never verified with a key from the JWKS (symmetric keys there are ignored)', async () => {
    const oct: JWK = {
      kty: 'oct',
      kid: 'sym',
      k: Buffer.from('x'.repeat(32)).toString('base64url'),
      alg: 'HS256',
    };
    const jwks = await startJwks([oct]);
    const jwt = authenticator(jwks.url);
    const token = await signHs(claims('acme'), { secret: 'x'.repeat(32) });
    await expectRejected(jwt.authenticate(token), 'UNAUTHORIZED', [token]);
  });
});
