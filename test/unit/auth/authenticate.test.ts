import { describe, expect, it } from 'vitest';
import { createApiKey, createAuthenticator, JwtConfigError } from '../../../src/auth/index.js';
import { MemoryState } from '../../fakes/memory-state.js';
import { claims, expectRejected, HS_SECRET, signHs } from '../../helpers/jwt-tokens.js';

const PEPPER = 'pepper';

function setup(withJwt: boolean) {
  const state = new MemoryState();
  state.addTenant('acme');
  const authenticate = createAuthenticator({
    state,
    pepper: PEPPER,
    apiKeyCacheTtlMs: 1000,
    jwt: withJwt ? { secret: HS_SECRET } : undefined,
  });
  return { state, authenticate };
}

describe('createAuthenticator', () => {
  it('routes spk_ credentials to the API key authenticator', async () => {
    const { state, authenticate } = setup(true);
    const { apiKey } = await createApiKey(state, PEPPER, 'acme');
    await expect(authenticate(apiKey)).resolves.toMatchObject({ authMethod: 'api_key', tenantId: 'acme' });
  });

  it('routes three base64url parts to the JWT authenticator when JWT is configured', async () => {
    const { authenticate } = setup(true);
    await expect(authenticate(await signHs(claims('acme')))).resolves.toMatchObject({ authMethod: 'jwt' });
  });

  it('rejects a JWT when JWT is not configured', async () => {
    const { authenticate } = setup(false);
    const token = await signHs(claims('acme'));
    await expectRejected(authenticate(token), 'UNAUTHORIZED', [token]);
  });

  it('rejects anything that is neither an API key nor a JWT', async () => {
    const { authenticate } = setup(true);
    for (const c of ['', 'Basic dXNlcjpwYXNz', 'spectra_acme_whatever', 'a.b', 'a.b.c.d', 'not a token']) {
      await expectRejected(authenticate(c), 'UNAUTHORIZED', [c]);
    }
  });

  it('rejects a 9 KB credential of either kind', async () => {
    const { authenticate } = setup(true);
    const jwt = await signHs(claims('acme', { padding: 'x'.repeat(9 * 1024) }));
    await expectRejected(authenticate(jwt), 'UNAUTHORIZED', [jwt]);
    await expectRejected(authenticate(`spk_acme_${'a'.repeat(9 * 1024)}`), 'UNAUTHORIZED');
  });

  it('an invalid JWT configuration fails at creation, not on the first request', () => {
    expect(() =>
      createAuthenticator({
        state: new MemoryState(),
        pepper: PEPPER,
        apiKeyCacheTtlMs: 0,
        jwt: { secret: 'short' },
      }),
    ).toThrow(JwtConfigError);
  });
});
