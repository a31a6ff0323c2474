/**
 * The ResultStore adapter: a folder (with HMAC-signed download URLs) or an S3 bucket (presigned URLs).
 */
import path from 'node:path';
import * as z from 'zod/mini';
import { ConfigError, type ConfigOf, int, type Setting } from '../setting.js';

/** Empty, or `/`-separated segments ending with `/`, without `.` or `..`. */
const keyPrefix = (example: string) =>
  z.string().check(
    z.regex(
      /^(?:[A-Za-z0-9._-]+\/)*$/,
      `empty, or \`/\`-separated segments ending with \`/\` (e.g. \`${example}\`)`,
    ),
    z.refine((v) => !/(?:^|\/)\.{1,2}\//.test(v), 'no `.` or `..` segments'),
  );

export const STORAGE_SETTINGS = {
  storage: {
    env: 'SPECTRA_STORAGE',
    schema: z.enum(['fs', 's3']),
    default: 'fs',
    doc: 'ResultStore adapter: `fs` (SPECTRA_RESULT_DIR; download URLs signed with HMAC and served by the API) or `s3` (SPECTRA_S3_BUCKET_NAME; presigned S3 URLs; docs/aws.md).',
  },
  resultDir: {
    env: 'SPECTRA_RESULT_DIR',
    flag: 'result-dir',
    cli: { arg: 'DIR', help: 'result files, shared by API and workers', shownDefault: 'HOME/results' },
    schema: z.string(),
    default: '',
    doc: 'Folder of result files (the filesystem ResultStore). Empty = SPECTRA_HOME/results. API and worker processes of a cluster must share it.',
  },
  urlSigningKey: {
    env: 'SPECTRA_URL_SIGNING_KEY',
    schema: z.string().check(z.refine((v) => v === '' || v.length >= 32, 'at least 32 characters')),
    default: '',
    doc: 'HMAC key of download URLs (≥ 32 characters). Empty = generated once into SPECTRA_HOME/secrets.json. Must be the same for every process of a cluster.',
  },
  presignedUrlExpiry: {
    env: 'SPECTRA_PRESIGNED_URL_EXPIRY',
    schema: int(1, 7 * 86_400),
    default: 3600,
    doc: 'Seconds a download URL stays valid.',
  },
  s3BucketName: {
    env: 'SPECTRA_S3_BUCKET_NAME',
    schema: z.string(),
    default: '',
    doc: 's3: the bucket of result files (required with SPECTRA_STORAGE=s3; `spectra aws init` creates it).',
  },
  s3Prefix: {
    env: 'SPECTRA_S3_PREFIX',
    schema: keyPrefix('results/'),
    default: 'results/',
    doc: 's3: key prefix of query job result files (and Redshift UNLOAD/COPY staging); objects are `<prefix><tenant>/<job>/<file>`.',
  },
  s3BulkPrefix: {
    env: 'SPECTRA_S3_BULK_PREFIX',
    schema: keyPrefix('bulk/'),
    default: 'bulk/',
    doc: 's3: key prefix of bulk job files (exports, failed records), kept `SPECTRA_BULK_JOB_TTL_DAYS`; the CDK stack expires it after as many days.',
  },
  s3UploadsPrefix: {
    env: 'SPECTRA_S3_UPLOADS_PREFIX',
    schema: keyPrefix('uploads/'),
    default: 'uploads/',
    doc: 's3: key prefix of bulk import uploads, kept with their bulk job.',
  },
} satisfies Record<string, Setting>;

export type StorageConfig = ConfigOf<typeof STORAGE_SETTINGS>;

/** The folder of the filesystem ResultStore: SPECTRA_RESULT_DIR, else SPECTRA_HOME/results. */
export const resultRoot = (config: Pick<StorageConfig, 'resultDir'> & { home: string }) =>
  config.resultDir || path.join(config.home, 'results');

/** The bucket of the S3 ResultStore, which SPECTRA_STORAGE=s3 cannot do without. */
export function s3Bucket(config: Pick<StorageConfig, 's3BucketName'>): string {
  const bucket = config.s3BucketName.trim();
  if (!bucket)
    throw new ConfigError('invalid configuration:\n  SPECTRA_STORAGE=s3 needs SPECTRA_S3_BUCKET_NAME');
  return bucket;
}
