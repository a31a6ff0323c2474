/** The run's s3rver (started by s3-setup.ts) and clients for it; every test file makes its own bucket. */
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { inject } from 'vitest';
import { createS3Client } from '../../src/storage/s3/index.js';

export interface S3Facts {
  endpoint: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    s3: S3Facts;
  }
}

/** s3rver accepts only this access key (it does not check signatures). */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export function s3Endpoint(): string {
  return inject('s3').endpoint;
}

export function testS3Client(): S3Client {
  return createS3Client({
    endpoint: s3Endpoint(),
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
  });
}

/** A new, empty bucket no other test file uses. */
export async function uniqueBucket(client: S3Client, prefix: string): Promise<string> {
  const name = `${prefix}-${process.pid}-${crypto.randomUUID().slice(0, 8)}`.toLowerCase();
  await client.send(new CreateBucketCommand({ Bucket: name }));
  return name;
}
