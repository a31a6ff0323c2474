/**
 * Opens the configured ResultStore: files under SPECTRA_RESULT_DIR (default SPECTRA_HOME/results)
 * with URLs the API signs and serves, or S3 (its SDK loaded only then) with presigned URLs.
 */
import type { Config } from '../config/index.js';
import { resultRoot } from '../config/sections/storage.js';
import { FsResultStore } from '../storage/fs/index.js';
import type { ResultStore } from '../storage/port.js';
import type { CaptureAwsClient } from './aws/clients.js';

export interface OpenResultStoreOptions {
  /** Signs the filesystem store's URLs when SPECTRA_URL_SIGNING_KEY is not set. */
  urlSigningKey: string;
  capture?: CaptureAwsClient;
}

export async function openResultStore(config: Config, options: OpenResultStoreOptions): Promise<ResultStore> {
  if (config.storage === 's3')
    return (await import('./aws/s3.js')).buildS3ResultStore(config, options.capture);
  return new FsResultStore({
    root: resultRoot(config),
    signingKey: config.urlSigningKey || options.urlSigningKey,
    publicUrl: config.publicUrl,
  });
}
