/**
 * On Lambda every AWS SDK client is captured by Powertools Tracer (runtime/lambda/observability.ts
 * `captureAwsClients`): each DynamoDB, S3 and Data API call is an X-Ray subsegment of the
 * invocation's, and a Data API statement's id (and the job a worker runs) is an annotation on it.
 * Real clients against DynamoDB Local, s3rver and the Data API stand-in; the segments checked are
 * the X-Ray SDK's own, under a root segment of the test's making.
 */

import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ExecuteStatementCommand } from '@aws-sdk/client-redshift-data';
import { ListBucketsCommand } from '@aws-sdk/client-s3';
import AWSXRay from 'aws-xray-sdk-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  annotateJob,
  captureAwsClients,
  invocation,
  type Telemetry,
} from '../../../src/runtime/lambda/observability.js';
import type { RedshiftDataFake } from '../../fakes/redshift-data-fake.js';
import { testDynamoClient } from '../../helpers/dynamodb-fixture.js';
import { pgFacts } from '../../helpers/pg-fixture.js';
import { FAKE_CLUSTER, startRedshiftDataFake, testDataApiClient } from '../../helpers/redshift-data.js';
import { testS3Client } from '../../helpers/s3-fixture.js';

let fake: RedshiftDataFake;
let telemetry: Telemetry;

beforeAll(async () => {
  fake = await startRedshiftDataFake();
  // Powertools traces only inside a Lambda execution environment.
  process.env.AWS_EXECUTION_ENV = 'AWS_Lambda_nodejs20.x';
  process.env.AWS_XRAY_CONTEXT_MISSING = 'IGNORE_ERROR';
  telemetry = {
    logger: new Logger({ serviceName: 'spectra-test', logLevel: 'SILENT' }),
    metrics: new Metrics({ namespace: 'SpectraTest', serviceName: 'spectra-test' }),
    tracer: new Tracer({ serviceName: 'spectra-test' }),
  };
  telemetry.metrics.publishStoredMetrics = () => telemetry.metrics;
});

afterAll(async () => {
  delete process.env.AWS_EXECUTION_ENV;
  await fake?.stop();
});

type SegmentJson = {
  name: string;
  namespace?: string;
  annotations?: Record<string, unknown>;
  subsegments?: SegmentJson[];
};

describe('AWS SDK calls on Lambda', () => {
  it('DynamoDB, S3 and Data API calls are subsegments of the invocation, annotated with the statement and job ids', async () => {
    expect(telemetry.tracer.isTracingEnabled()).toBe(true);
    const capture = captureAwsClients(telemetry.tracer);
    const dynamo = capture(await testDynamoClient());
    const s3 = capture(testS3Client());
    const dataApi = capture(testDataApiClient(fake.url));
    const root = new AWSXRay.Segment('spectra-test-root');
    let statementId: string | undefined;

    await AWSXRay.getNamespace().runPromise(async () => {
      AWSXRay.setSegment(root);
      await invocation(telemetry, { functionName: 'spectra-worker' } as never, async () => {
        annotateJob(telemetry, 'job-traced-1');
        await dynamo.send(new ListTablesCommand({ Limit: 1 }));
        await s3.send(new ListBucketsCommand({}));
        const out = await dataApi.send(
          new ExecuteStatementCommand({
            ClusterIdentifier: FAKE_CLUSTER,
            Database: pgFacts().warehouseDb,
            DbUser: 'tenant_acme',
            Sql: 'SELECT 1',
          }),
        );
        statementId = out.Id;
      });
    });

    const invocationSegment = (JSON.parse(JSON.stringify(root)) as SegmentJson).subsegments?.find(
      (s) => s.name === '## spectra-worker',
    );
    expect(invocationSegment).toBeDefined();
    const calls = (invocationSegment!.subsegments ?? [])
      .filter((s) => s.namespace === 'aws')
      .map((s) => s.name);
    expect(calls).toEqual(expect.arrayContaining(['DynamoDB', 'S3', 'RedshiftData']));
    expect(statementId).toMatch(/\S/);
    expect(invocationSegment!.annotations).toMatchObject({
      job_id: 'job-traced-1',
      statement_id: statementId,
    });
    for (const c of [dynamo, s3, dataApi]) c.destroy();
  });
});
