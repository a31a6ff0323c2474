/**
 * Server secrets of the embedded shape, generated once into SPECTRA_HOME/secrets.json (mode 0600):
 * the API-key pepper and the key that signs download URLs. A cluster passes them as configuration.
 */
import { randomBytes } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface ServerSecrets {
  apiKeyPepper: string;
  urlSigningKey: string;
}

export async function loadOrCreateSecrets(home: string): Promise<ServerSecrets> {
  const file = path.join(home, 'secrets.json');
  try {
    const s = JSON.parse(await readFile(file, 'utf8')) as Partial<ServerSecrets>;
    if (s.apiKeyPepper && s.urlSigningKey) return s as ServerSecrets;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const secrets = {
    apiKeyPepper: randomBytes(32).toString('hex'),
    urlSigningKey: randomBytes(32).toString('hex'),
  };
  await writeFile(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600, flag: 'wx' }).catch(
    async (e) => {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    },
  );
  await chmod(file, 0o600);
  return JSON.parse(await readFile(file, 'utf8')) as ServerSecrets;
}
