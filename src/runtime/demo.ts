/**
 * Demo tenants of the embedded shape: registry entries and one API key each, written to
 * SPECTRA_HOME/credentials.json (mode 0600). Their database roles and rows come from the bootstrap.
 */
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_KEY_PERMISSIONS, issueApiKey } from '../auth/api-key.js';
import { ApiError } from '../domain/errors.js';
import type { StateStore } from '../state/port.js';

export interface DemoCredentials {
  tenants: { tenant_id: string; api_key: string; db_user: string }[];
  admin_key?: string;
}

export const credentialsPath = (home: string) => path.join(home, 'credentials.json');

async function readCredentials(home: string): Promise<DemoCredentials | null> {
  try {
    const c = JSON.parse(await readFile(credentialsPath(home), 'utf8')) as DemoCredentials;
    return Array.isArray(c.tenants) ? c : null;
  } catch {
    return null;
  }
}

/** Ensures each demo tenant is registered and has a key on file; returns what credentials.json holds. */
export async function ensureDemoTenants(
  state: StateStore,
  opts: {
    home: string;
    pepper: string;
    tenants: { tenantId: string; dbUser: string }[];
    /** Issues the admin key when credentials.json holds no valid one. */
    adminKey: () => Promise<{ apiKey: string }>;
  },
): Promise<DemoCredentials> {
  const existing = await readCredentials(opts.home);
  const out: DemoCredentials = { tenants: [] };
  out.admin_key = (await stillValid(state, existing?.admin_key))
    ? existing!.admin_key
    : (await opts.adminKey()).apiKey;
  for (const { tenantId, dbUser } of opts.tenants) {
    if (!(await state.tenants.get(tenantId))) {
      const now = new Date().toISOString();
      // Another process may register the same demo tenant at the same moment: that is fine.
      await state.tenants
        .create({
          tenantId,
          name: tenantId[0]!.toUpperCase() + tenantId.slice(1),
          dbUser,
          dbGroups: [],
          status: 'active',
          defaultPermissions: DEFAULT_KEY_PERMISSIONS,
          createdAt: now,
          updatedAt: now,
        })
        .catch((e) => {
          if (!(e instanceof ApiError && e.code === 'CONFLICT')) throw e;
        });
    }
    const onFile = existing?.tenants.find((t) => t.tenant_id === tenantId);
    if (onFile && (await stillValid(state, onFile.api_key))) {
      out.tenants.push(onFile);
      continue;
    }
    const issued = issueApiKey(opts.pepper, tenantId);
    await state.apiKeys.create(issued.record);
    out.tenants.push({ tenant_id: tenantId, api_key: issued.apiKey, db_user: dbUser });
  }
  if (JSON.stringify(out) !== JSON.stringify(existing)) {
    await writeFile(credentialsPath(opts.home), `${JSON.stringify(out, null, 2)}\n`, { mode: 0o600 });
    await chmod(credentialsPath(opts.home), 0o600);
  }
  return out;
}

/** A key on file is reused only while its record exists and is neither revoked nor expired. */
async function stillValid(state: StateStore, apiKey: string | undefined): Promise<boolean> {
  const keyId = apiKey ? /^spk_[a-z0-9-]+_([0-9a-f]{16})/.exec(apiKey)?.[1] : undefined;
  const stored = keyId ? await state.apiKeys.get(keyId) : null;
  const now = new Date().toISOString();
  return !!stored && !stored.revokedAt && !(stored.expiresAt && stored.expiresAt <= now);
}
