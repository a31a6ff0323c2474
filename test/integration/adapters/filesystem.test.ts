/** The ResultStore contract on the filesystem adapter; its URLs are served by the API's download routes. */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { OpenAPIHono } from '@hono/zod-openapi';
import { isApiError } from '../../../src/domain/errors.js';
import type { AppEnv } from '../../../src/http/env.js';
import { registerDownloadRoutes } from '../../../src/http/routes/downloads.js';
import { FsResultStore } from '../../../src/storage/fs/index.js';
import { resultStoreContract } from '../../contracts/result-store-contract.js';

resultStoreContract('filesystem', async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'spectra-results-contract-'));
  const store = new FsResultStore({ root, signingKey: 'k'.repeat(64) });
  const app = new OpenAPIHono<AppEnv>();
  registerDownloadRoutes(app, { store, signer: store.signer });
  app.onError((e, c) => c.json({ error: e.message }, isApiError(e) ? (e.status as 403) : 500));
  return {
    store,
    fetchSigned: async (url, init) => app.request(url, init),
    close: () => rm(root, { recursive: true, force: true }),
  };
});
