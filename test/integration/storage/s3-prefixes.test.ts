/** The S3 ResultStore's lifecycle prefixes against s3rver; its port contract runs in test/integration/adapters/s3.test.ts. */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { S3ResultStore } from '../../../src/storage/s3/index.js';
import { testS3Client, uniqueBucket } from '../../helpers/s3-fixture.js';

describe('lifecycle prefixes', () => {
  it('query results, bulk files and uploads land under their own prefix; a job folder spans them', async () => {
    const client = testS3Client();
    const bucket = await uniqueBucket(client, 'kinds');
    const store = new S3ResultStore({
      client,
      bucket,
      prefix: 'results/',
      bulkPrefix: 'bulk/',
      uploadsPrefix: 'uploads/',
    });
    try {
      const put = async (key: string) => {
        const w = await store.createWriter(key);
        await w.write('x');
        await w.close();
      };
      await put('acme/job-1/result-1.ndjson');
      await put('acme/bulk-1/upload.csv');
      await put('acme/bulk-1/result-1.csv');
      const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
      expect((listed.Contents ?? []).map((o) => o.Key).sort()).toEqual([
        'bulk/acme/bulk-1/result-1.csv',
        'results/acme/job-1/result-1.ndjson',
        'uploads/acme/bulk-1/upload.csv',
      ]);
      expect((await store.list('acme/bulk-1/')).map((o) => o.key).sort()).toEqual([
        'acme/bulk-1/result-1.csv',
        'acme/bulk-1/upload.csv',
      ]);
      await store.deletePrefix('acme/bulk-1/');
      const after = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
      expect((after.Contents ?? []).map((o) => o.Key)).toEqual(['results/acme/job-1/result-1.ndjson']);
    } finally {
      client.destroy();
    }
  });

  it('refuses prefixes that overlap', () => {
    const client = testS3Client();
    expect(
      () => new S3ResultStore({ client, bucket: 'b', prefix: 'results/', bulkPrefix: 'results/bulk/' }),
    ).toThrow(/overlap/);
    client.destroy();
  });
});
