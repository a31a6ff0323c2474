/**
 * The worker function's batch logic with DynamoDB Streams records shaped as Lambda delivers them:
 * which records run a job, which are skipped (TTL deletions, no-op changes), and which are reported
 * back in `batchItemFailures` for Lambda to retry; and which events are sweeps. The job runner is a
 * fake (test/e2e/lambda-serverless.test.ts runs the real one).
 */
import { describe, expect, it } from 'vitest';
import {
  createStreamWorker,
  type DynamoDBStreamRecord,
  type RunJob,
  runnableJob,
  sweepTasksOf,
} from '../../src/runtime/lambda/worker.js';
import { recordingTelemetry } from './lambda-telemetry.js';

const ARN = 'arn:aws:dynamodb:eu-west-1:123456789012:table/spectra-jobs/stream/2026-01-01T00:00:00.000';
let seq = 100;

function jobImage(jobId: string, status: string, tenantId = 'acme') {
  return {
    job_id: { S: jobId },
    tenant_id: { S: tenantId },
    status: { S: status },
    submitted_at: { S: '2026-01-01T00:00:00.000Z' },
    expires_at: { N: '1767830400' },
  };
}

function record(
  eventName: string,
  next: Record<string, unknown> | undefined,
  prev?: Record<string, unknown>,
  extra: Partial<DynamoDBStreamRecord> = {},
): DynamoDBStreamRecord {
  seq += 1;
  return {
    eventID: `evt-${seq}`,
    eventName,
    eventSource: 'aws:dynamodb',
    eventSourceARN: ARN,
    awsRegion: 'eu-west-1',
    dynamodb: {
      ApproximateCreationDateTime: 1767225600,
      Keys: { job_id: next?.job_id ?? prev?.job_id },
      ...(next ? { NewImage: next } : {}),
      ...(prev ? { OldImage: prev } : {}),
      SequenceNumber: String(seq).padStart(21, '0'),
      SizeBytes: 120,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
    ...extra,
  } as DynamoDBStreamRecord;
}

const TTL_IDENTITY = { type: 'Service', principalId: 'dynamodb.amazonaws.com' };

describe('which stream records run a job', () => {
  it('a new QUEUED job runs', () => {
    expect(runnableJob(record('INSERT', jobImage('job-1', 'QUEUED')))).toEqual({
      tenantId: 'acme',
      jobId: 'job-1',
    });
  });

  it('a job re-queued after its lease expired runs again', () => {
    expect(runnableJob(record('MODIFY', jobImage('job-1', 'QUEUED'), jobImage('job-1', 'RUNNING')))).toEqual({
      tenantId: 'acme',
      jobId: 'job-1',
    });
  });

  it('a bulk job moved to UploadComplete runs', () => {
    const prev = { job_id: { S: 'bulk-1' }, tenant_id: { S: 'globex' }, state: { S: 'Open' } };
    const next = { ...prev, state: { S: 'UploadComplete' } };
    expect(runnableJob(record('MODIFY', next, prev))).toEqual({ tenantId: 'globex', jobId: 'bulk-1' });
  });

  it.each([
    [
      'an update of a job that stays QUEUED',
      record('MODIFY', jobImage('j', 'QUEUED'), jobImage('j', 'QUEUED')),
      'not-runnable',
    ],
    [
      'a claim (QUEUED → RUNNING)',
      record('MODIFY', jobImage('j', 'RUNNING'), jobImage('j', 'QUEUED')),
      'not-runnable',
    ],
    ['a completion', record('MODIFY', jobImage('j', 'COMPLETED'), jobImage('j', 'RUNNING')), 'not-runnable'],
    ['a sync job inserted COMPLETED', record('INSERT', jobImage('j', 'COMPLETED')), 'not-runnable'],
    ['a REMOVE', record('REMOVE', undefined, jobImage('j', 'QUEUED')), 'not-an-insert-or-modify'],
    [
      'a TTL deletion',
      record('REMOVE', undefined, jobImage('j', 'QUEUED'), { userIdentity: TTL_IDENTITY }),
      'ttl-deletion',
    ],
    [
      'a TTL deletion as DynamoDB Local reports it',
      record('UNKNOWN_TO_SDK_VERSION', undefined, jobImage('j', 'QUEUED'), { userIdentity: TTL_IDENTITY }),
      'ttl-deletion',
    ],
    [
      'a QUEUED item without a tenant',
      record('INSERT', { job_id: { S: 'j' }, status: { S: 'QUEUED' } }),
      'no-job-key',
    ],
  ])('%s is skipped', (_name, rec, reason) => {
    expect(runnableJob(rec)).toEqual({ skip: reason });
  });
});

describe('the worker handler', () => {
  it('runs each runnable record once and skips the rest without loading the runner', async () => {
    const ran: string[] = [];
    const { telemetry, metrics } = recordingTelemetry('spectra-worker');
    const worker = createStreamWorker({
      runJob: async () => async (tenantId, jobId) => {
        ran.push(`${tenantId}/${jobId}`);
        return { status: jobId === 'job-bad-sql' ? 'FAILED' : 'COMPLETED' };
      },
      telemetry,
    });
    const out = await worker({
      Records: [
        record('INSERT', jobImage('job-a', 'QUEUED')),
        record('INSERT', jobImage('job-bad-sql', 'QUEUED', 'globex')),
        record('MODIFY', jobImage('job-a', 'RUNNING'), jobImage('job-a', 'QUEUED')),
        record('REMOVE', undefined, jobImage('job-old', 'COMPLETED'), { userIdentity: TTL_IDENTITY }),
      ],
    });
    expect(out).toEqual({ batchItemFailures: [] });
    expect(ran.sort()).toEqual(['acme/job-a', 'globex/job-bad-sql']);
    expect(metrics).toEqual(
      expect.arrayContaining([
        { name: 'JobsCompleted', tenant: 'acme', value: 1 },
        { name: 'JobsFailed', tenant: 'globex', value: 1 },
      ]),
    );
    expect(metrics.filter((m) => m.name === 'StreamRecordsSkipped')).toHaveLength(2);

    let loaded = false;
    const idle = createStreamWorker({
      runJob: async () => {
        loaded = true;
        return async () => undefined;
      },
      telemetry,
    });
    await idle({ Records: [record('MODIFY', jobImage('j', 'COMPLETED'), jobImage('j', 'RUNNING'))] });
    expect(loaded).toBe(false);
  });

  it('reports only the records whose run threw, by sequence number', async () => {
    const { telemetry, metrics } = recordingTelemetry('spectra-worker');
    const runJob: RunJob = async (_tenant, jobId) => {
      if (jobId === 'job-flaky') throw new Error('warehouse throttled');
      return { status: 'COMPLETED' };
    };
    const ok = record('INSERT', jobImage('job-ok', 'QUEUED'));
    const flaky = record('INSERT', jobImage('job-flaky', 'QUEUED'));
    const worker = createStreamWorker({ runJob: async () => runJob, telemetry });
    const out = await worker({ Records: [ok, flaky] });
    expect(out.batchItemFailures).toEqual([{ itemIdentifier: flaky.dynamodb!.SequenceNumber }]);
    expect(metrics).toContainEqual({ name: 'JobRunErrors', tenant: 'acme', value: 1 });
  });

  it('fails the whole batch when the runner cannot be built, so Lambda retries and bisects it', async () => {
    const { telemetry } = recordingTelemetry('spectra-worker');
    const worker = createStreamWorker({
      runJob: async () => {
        throw new Error('state store unreachable');
      },
      telemetry,
    });
    await expect(worker({ Records: [record('INSERT', jobImage('job-x', 'QUEUED'))] })).rejects.toThrow(
      'state store unreachable',
    );
  });

  it('a claim lost to another invocation (no outcome) is neither completed nor failed', async () => {
    const { telemetry, metrics } = recordingTelemetry('spectra-worker');
    const worker = createStreamWorker({ runJob: async () => async () => undefined, telemetry });
    const out = await worker({ Records: [record('INSERT', jobImage('job-dup', 'QUEUED'))] });
    expect(out.batchItemFailures).toEqual([]);
    expect(metrics.map((m) => m.name)).not.toContain('JobsCompleted');
    expect(metrics.map((m) => m.name)).not.toContain('JobsFailed');
  });
});

describe('sweep events', () => {
  it('the rules’ inputs name their tasks; a plain EventBridge scheduled event does every task', () => {
    expect(sweepTasksOf({ sweep: ['leases', 'queue'] })).toEqual(['leases', 'queue']);
    expect(sweepTasksOf({ sweep: ['retention', 'bogus'] })).toEqual(['retention']);
    expect(
      sweepTasksOf({
        version: '0',
        id: 'a1',
        'detail-type': 'Scheduled Event',
        source: 'aws.events',
        account: '123456789012',
        time: '2026-01-01T00:00:00Z',
        region: 'eu-west-1',
        resources: ['arn:aws:events:eu-west-1:123456789012:rule/spectra-sweep'],
        detail: {},
      }),
    ).toEqual(['leases', 'queue', 'retention']);
  });

  it('a stream batch, or any other event, is not a sweep', () => {
    expect(sweepTasksOf({ Records: [record('INSERT', jobImage('j', 'QUEUED'))] })).toBeNull();
    expect(sweepTasksOf({ source: 'aws.s3', 'detail-type': 'Object Created' })).toBeNull();
    expect(sweepTasksOf(null)).toBeNull();
  });
});
