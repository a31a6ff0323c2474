/** The ResultStore contract on the S3 adapter against s3rver (presigned URLs fetched from s3rver itself). */
import { S3ResultStore } from '../../../src/storage/s3/index.js';
import { resultStoreContract } from '../../contracts/result-store-contract.js';
import { testS3Client, uniqueBucket } from '../../helpers/s3-fixture.js';

resultStoreContract('s3 (s3rver)', async () => {
  const client = testS3Client();
  const bucket = await uniqueBucket(client, 'contract');
  const store = new S3ResultStore({ client, bucket, prefix: 'results/' });
  return {
    store,
    fetchSigned: (url, init) => fetch(url, init),
    close: async () => client.destroy(),
  };
});
