/** The ResultStore contract on the S3 adapter against s3rver (presigned URLs fetched from s3rver itself). */
import { S3ResultStore } from '../../../src/storage/s3/index.js';
import { type ResultStoreUnderTest, resultStoreContract } from '../../contracts/result-store-contract.js';
import { testS3Client, uniqueBucket } from '../../helpers/s3-fixture.js';

async function openResults(
  label: string,
  prefixes: { prefix: string; bulkPrefix?: string; uploadsPrefix?: string },
): Promise<ResultStoreUnderTest> {
  const client = testS3Client();
  const bucket = await uniqueBucket(client, label);
  const store = new S3ResultStore({ client, bucket, ...prefixes });
  return {
    store,
    fetchSigned: (url, init) => fetch(url, init),
    close: async () => client.destroy(),
  };
}

resultStoreContract('s3 (s3rver)', () => openResults('contract', { prefix: 'results/' }));
/** With each kind of file under its own prefix, as the CDK stack deploys it. */
resultStoreContract('s3 (s3rver), results/ bulk/ uploads/ prefixes', () =>
  openResults('prefixes', { prefix: 'results/', bulkPrefix: 'bulk/', uploadsPrefix: 'uploads/' }),
);
