/** The client's generated types (src/client/api-schema.ts) match the OpenAPI document the app serves. */
import { readFile } from 'node:fs/promises';
import { expect, it } from 'vitest';
import { SCHEMA_FILE, schemaSource } from '../../../packages/client/scripts/openapi-schema.js';

it('src/client/api-schema.ts is generated from the current /openapi.json (else: npm run generate -w @redshift-spectra/client)', {
  timeout: 120_000,
}, async () => {
  expect(await readFile(SCHEMA_FILE, 'utf8')).toBe(await schemaSource());
});
