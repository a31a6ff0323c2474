/**
 * `@redshift-spectra/client`: a typed client of the Redshift Spectra API (README "TypeScript client").
 * Also compiled into the root package's dist/client, where the `spectra` command uses it.
 */

export type { components, paths } from './api-schema.js';
export type * from './client.js';
export { createSpectraClient, SpectraClient } from './client.js';
export { SpectraConnectionError, SpectraError } from './errors.js';
export type { RetryInfo, RetryOptions } from './transport.js';
