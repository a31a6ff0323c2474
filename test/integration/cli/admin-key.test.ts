/**
 * `spectra admin-key` bootstraps the first admin key of a deployment straight into its state store
 * (DynamoDB Local; an external PostgreSQL), configured only through SPECTRA_* and AWS_ENDPOINT_URL_*:
 * the printed key authenticates with `admin:*` under the deployment's pepper, and under no other.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createAuthenticator } from '../../../src/auth/index.js';
import { runAdminKeyCommand } from '../../../src/cli/admin-key.js';
import { loadConfig } from '../../../src/config/index.js';
import { openStateStore } from '../../../src/runtime/state-store.js';
import { createTables, stateTableNames } from '../../../src/state/dynamodb/index.js';
import { tableSettings } from '../../helpers/aws-stack.js';
import { type ControlDb, createControlDb } from '../../helpers/control-db.js';
import { dynamoClientConfig, dynamoEndpoint, uniqueTablePrefix } from '../../helpers/dynamodb-fixture.js';

const PEPPER = 'the-deployments-pepper-0123456789abcdef';
let control: ControlDb | undefined;
afterAll(async () => {
  vi.unstubAllEnvs();
  await control?.drop();
});

async function run(env: NodeJS.ProcessEnv, args: string[] = []) {
  let out = '';
  let err = '';
  const code = await runAdminKeyCommand(args, {
    out: { write: (s: string) => (out += s) },
    err: { write: (s: string) => (err += s) },
    env,
  });
  return { code, out, err, key: /admin key .*: (spk_\S+)/.exec(out)?.[1] };
}

async function dynamoEnv(): Promise<NodeJS.ProcessEnv> {
  const clientConfig = dynamoClientConfig(await dynamoEndpoint());
  const tables = stateTableNames(uniqueTablePrefix('adminkey'));
  const admin = new DynamoDBClient(clientConfig);
  await createTables(admin, tables);
  admin.destroy();
  // The SDK reads endpoint, region and credentials from the process environment itself.
  vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', clientConfig.endpoint);
  vi.stubEnv('AWS_REGION', clientConfig.region);
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
  return {
    SPECTRA_STATE: 'dynamodb',
    SPECTRA_API_KEY_PEPPER: PEPPER,
    ...tableSettings(tables),
  };
}

/** What the API would make of the key: the same store and pepper, through the real authenticator. */
async function principalOf(env: NodeJS.ProcessEnv, key: string, pepper = PEPPER) {
  const state = await openStateStore(loadConfig(env));
  try {
    return await createAuthenticator({ state, pepper, apiKeyCacheTtlMs: 0 })(key);
  } finally {
    await state.close();
  }
}

describe('spectra admin-key', () => {
  it('issues an admin:* key into DynamoDB that the API authenticates, and a second one beside it', async () => {
    const env = await dynamoEnv();
    const first = await run(env);
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    expect(await principalOf(env, first.key!)).toMatchObject({
      tenantId: 'spectra',
      permissions: ['admin:*'],
    });
    const second = await run(env);
    expect(second.code).toBe(0);
    expect(second.key).not.toBe(first.key);
    expect((await principalOf(env, second.key!)).tenantId).toBe('spectra');
    // Another pepper (another deployment) does not accept it.
    await expect(principalOf(env, first.key!, 'another-pepper-0123456789abcdef012')).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
    });
  });

  it('works against an external PostgreSQL state store too (migrating it first)', async () => {
    control = await createControlDb('admin_key');
    const env = { SPECTRA_STATE_URL: control.url, SPECTRA_API_KEY_PEPPER: PEPPER };
    const issued = await run(env);
    expect(issued.code, issued.err).toBe(0);
    expect((await principalOf(env, issued.key!)).permissions).toEqual(['admin:*']);
  });

  it('refuses to run without the pepper, or with nowhere durable to write, and says why', async () => {
    const env = await dynamoEnv();
    const noPepper = await run({ ...env, SPECTRA_API_KEY_PEPPER: '' });
    expect(noPepper.code).toBe(2);
    expect(noPepper.err).toMatch(/SPECTRA_API_KEY_PEPPER/);
    const embedded = await run({ SPECTRA_API_KEY_PEPPER: PEPPER });
    expect(embedded.code).toBe(2);
    expect(embedded.err).toMatch(/credentials\.json/);
    expect((await run(env, ['extra'])).code).toBe(2);
  });
});
