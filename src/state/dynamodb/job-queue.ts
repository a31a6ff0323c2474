/**
 * Job items, the job queue and job retention on DynamoDB.
 *
 * Each tenant has a counter item in the jobs table (`job_id` = `#tenant#<id>`) holding `running`,
 * its number of RUNNING jobs, and — while it may have QUEUED jobs — `queue_state = QUEUED`, which
 * puts it in the sparse `by-queued-tenant` index (the "queue heads"). Every write that moves a job
 * into or out of RUNNING, or into QUEUED, updates the job and its tenant's counter in one
 * TransactWriteItems, so the counter is exact and `claim` can enforce the cap with a condition on
 * it (`running < cap`). Fair order is the PostgreSQL adapter's: tenants in id order, each one's
 * oldest claimable jobs from `by-tenant-status`; the worker interleaves them.
 *
 * `subscribe` has no DynamoDB equivalent in-process: changes made through this store instance are
 * reported at once, other processes' new jobs by polling the queue heads (on AWS the stream
 * triggers the worker Lambda instead); a cancelled job's worker also learns it at its next heartbeat.
 */
import { randomUUID } from 'node:crypto';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { conflict } from '../../domain/errors.js';
import { JOB_ERROR_CODES, type JobStatus, type QueryJob } from '../../domain/query-job.js';
import type {
  JobPatch,
  JobQueueStore,
  JobRetentionStore,
  QueueEvent,
  QueueHead,
  TransitionGuard,
} from '../port.js';
import {
  call,
  cancellationCodes,
  collect,
  isConditionFailure,
  isTransactionCancelled,
  sleep,
  ttlOf,
} from './calls.js';
import { STATE_TABLES } from './tables.js';

const [, JOBS_BY_STATUS, JOBS_BY_LEASE, QUEUED_TENANTS] = STATE_TABLES.jobs.indexes.map((i) => i.name) as [
  string,
  string,
  string,
  string,
];
/** Transactions that lose a race on the counter item are retried this many times. */
const CONFLICT_RETRIES = 30;
/** A queue flag is cleared only when it is older than this: indexes are eventually consistent. */
const FLAG_SETTLE_MS = 10_000;
const POLL_MS = 1000;
/** Flagged tenants read per heads() call, beyond `maxTenants`, to skip tenants in backoff. */
const HEADS_OVERSCAN = 4;
/** Per-tenant head queries in flight at once. */
const HEADS_PARALLEL = 16;

const counterKey = (tenantId: string) => `#tenant#${tenantId}`;
const docOf = (item: Record<string, unknown> | undefined) => (item ? (item.doc as QueryJob) : null);

type Listener = (event: QueueEvent) => void;

/** Extra parts of a job update beyond the patch: conditions, raw SET clauses, the tenant's RUNNING cap. */
interface UpdateExtras {
  condition?: string;
  sets?: string[];
  names?: Record<string, string>;
  values?: Record<string, unknown>;
  /** Claim: the counter must be below this before +1. */
  cap?: number;
  guard?: TransitionGuard;
  /** Also match an expired job (the lease sweeper, like PostgreSQL's, frees expired RUNNING jobs too). */
  includeExpired?: boolean;
}

/** The writes of job items that keep the tenant counters exact; shared by JobStore and the queue. */
export class JobItems {
  private readonly listeners = new Set<Listener>();

  constructor(
    private readonly db: DynamoDBDocumentClient,
    readonly table: string,
  ) {}

  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: QueueEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {}
    }
  }

  /** The counter update of a transaction: RUNNING delta, queue flag, and the claim's cap condition. */
  private counterUpdate(tenantId: string, delta: number, flagQueued: boolean, cap?: number) {
    const sets = ['counter_tenant = :t'];
    const values: Record<string, unknown> = { ':t': tenantId };
    if (flagQueued) {
      sets.push('queue_state = :queued', 'queue_mark = :mark');
      values[':queued'] = 'QUEUED';
      values[':mark'] = `${new Date().toISOString()}#${randomUUID()}`;
    }
    let add = '';
    if (delta !== 0) {
      add = ' ADD running :delta';
      values[':delta'] = delta;
    }
    let condition: string | undefined;
    if (cap !== undefined) {
      condition = 'attribute_not_exists(running) OR running < :cap';
      values[':cap'] = cap;
    }
    return {
      Update: {
        TableName: this.table,
        Key: { job_id: counterKey(tenantId) },
        UpdateExpression: `SET ${sets.join(', ')}${add}`,
        ExpressionAttributeValues: values,
        ...(condition ? { ConditionExpression: condition } : {}),
      },
    };
  }

  /** Retries a transaction that lost a race (TransactionConflict); returns the per-item failure codes or null. */
  private async transact(items: Record<string, unknown>[]): Promise<string[] | null> {
    for (let attempt = 0; ; attempt++) {
      try {
        await call(() => this.db.send(new TransactWriteCommand({ TransactItems: items as never })));
        return null;
      } catch (e) {
        if (!isTransactionCancelled(e)) throw e;
        const codes = cancellationCodes(e);
        if (codes.includes('ConditionalCheckFailed') || attempt >= CONFLICT_RETRIES) return codes;
        await sleep(2 + Math.random() * 8 * (attempt + 1));
      }
    }
  }

  async read(jobId: string): Promise<Record<string, unknown> | undefined> {
    const out = await call(() =>
      this.db.send(new GetCommand({ TableName: this.table, Key: { job_id: jobId }, ConsistentRead: true })),
    );
    return out.Item;
  }

  async create(j: QueryJob): Promise<void> {
    const item = {
      job_id: j.jobId,
      tenant_id: j.tenantId,
      status: j.status,
      tenant_status: `${j.tenantId}#${j.status}`,
      submitted_at: j.submittedAt,
      ...(j.leaseExpiresAt ? { lease_expires_at: j.leaseExpiresAt } : {}),
      expires_at: ttlOf(j.expiresAt),
      doc: j,
    };
    const put = { TableName: this.table, Item: item, ConditionExpression: 'attribute_not_exists(job_id)' };
    const delta = j.status === 'RUNNING' ? 1 : 0;
    const flag = j.status === 'QUEUED';
    if (!delta && !flag) {
      try {
        await call(() => this.db.send(new PutCommand(put)));
      } catch (e) {
        if (isConditionFailure(e)) throw conflict(`job ${j.jobId} already exists`);
        throw e;
      }
      return;
    }
    const failed = await this.transact([{ Put: put }, this.counterUpdate(j.tenantId, delta, flag)]);
    if (failed) throw conflict(`job ${j.jobId} already exists`);
    if (flag) this.emit({ type: 'queued' });
  }

  /**
   * Conditional update of one job: applies `patch` if its status is one of `from` (and the extra
   * conditions hold). Sources that change the tenant's counter go through a transaction with it.
   * Null when no condition held.
   */
  async update(
    tenantId: string,
    jobId: string,
    from: readonly JobStatus[],
    patch: JobPatch,
    extras: UpdateExtras = {},
  ): Promise<QueryJob | null> {
    const target = patch.status;
    // Source statuses grouped by their effect on the counter: leaving RUNNING, or not.
    const groups: JobStatus[][] = [];
    const running = from.filter((s) => s === 'RUNNING');
    const others = from.filter((s) => s !== 'RUNNING');
    if (running.length) groups.push(running);
    if (others.length) groups.push(others);
    for (const group of groups) {
      const wasRunning = group[0] === 'RUNNING';
      const delta = target === undefined ? 0 : (target === 'RUNNING' ? 1 : 0) - (wasRunning ? 1 : 0);
      const flag = target === 'QUEUED';
      const job = await this.updateFrom(tenantId, jobId, group, patch, extras, delta, flag);
      if (!job) continue;
      if (target === 'QUEUED') this.emit({ type: 'queued' });
      if (wasRunning && target === 'CANCELLED') this.emit({ type: 'cancelled', tenantId, jobId });
      return job;
    }
    return null;
  }

  private async updateFrom(
    tenantId: string,
    jobId: string,
    from: readonly JobStatus[],
    patch: JobPatch,
    extras: UpdateExtras,
    delta: number,
    flag: boolean,
  ): Promise<QueryJob | null> {
    const names: Record<string, string> = { '#status': 'status', '#version': 'version', ...extras.names };
    const values: Record<string, unknown> = {
      ':tenant': tenantId,
      ':nowIso': new Date().toISOString(),
      ':one': 1,
      ...extras.values,
    };
    const sets = ['doc.#version = doc.#version + :one', ...(extras.sets ?? [])];
    const removes: string[] = [];
    for (const [field, value] of Object.entries(patch)) {
      names[`#f_${field}`] = field;
      values[`:f_${field}`] = value ?? null;
      sets.push(`doc.#f_${field} = :f_${field}`);
    }
    if (patch.status !== undefined) {
      values[':status'] = patch.status;
      values[':tenantStatus'] = `${tenantId}#${patch.status}`;
      sets.push('#status = :status', 'tenant_status = :tenantStatus');
    }
    if ('leaseExpiresAt' in patch) {
      // An index key is a string or absent: a released lease leaves the lease index.
      if (patch.leaseExpiresAt) {
        values[':lease'] = patch.leaseExpiresAt;
        sets.push('lease_expires_at = :lease');
      } else removes.push('lease_expires_at');
    }
    const fromValues = from.map((s, i) => {
      values[`:from${i}`] = s;
      return `:from${i}`;
    });
    let condition = `tenant_id = :tenant AND #status IN (${fromValues.join(', ')})`;
    if (!extras.includeExpired) condition += ' AND doc.expiresAt > :nowIso';
    if (extras.guard?.leaseOwner !== undefined) {
      names['#leaseOwner'] = 'leaseOwner';
      values[':leaseOwner'] = extras.guard.leaseOwner;
      condition += ' AND doc.#leaseOwner = :leaseOwner';
    }
    if (extras.condition) condition += ` AND (${extras.condition})`;
    // DynamoDB refuses a value the expressions do not use.
    if (!condition.includes(':nowIso')) delete values[':nowIso'];
    const update = {
      TableName: this.table,
      Key: { job_id: jobId },
      UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
      ConditionExpression: condition,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    };
    if (delta === 0 && !flag && extras.cap === undefined) {
      try {
        const out = await call(() => this.db.send(new UpdateCommand({ ...update, ReturnValues: 'ALL_NEW' })));
        return docOf(out.Attributes);
      } catch (e) {
        if (isConditionFailure(e)) return null;
        throw e;
      }
    }
    const failed = await this.transact([
      { Update: update },
      this.counterUpdate(tenantId, delta, flag, extras.cap),
    ]);
    if (failed) return null;
    return docOf(await this.read(jobId));
  }
}

export class DynamoJobQueue implements JobQueueStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly items: JobItems,
  ) {}

  private get table() {
    return this.items.table;
  }

  private queuedTenants(want: number) {
    return collect(
      (start, limit) =>
        this.db.send(
          new QueryCommand({
            TableName: this.table,
            IndexName: QUEUED_TENANTS,
            KeyConditionExpression: 'queue_state = :q',
            ExpressionAttributeValues: { ':q': 'QUEUED' },
            ...(limit ? { Limit: limit } : {}),
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        ),
      want,
    );
  }

  async heads(opts: { perTenant: number; maxTenants: number }): Promise<QueueHead[]> {
    const counters = await this.queuedTenants(opts.maxTenants * HEADS_OVERSCAN);
    const nowIso = new Date().toISOString();
    const heads: QueueHead[] = [];
    // A few tenants at a time, stopping once `maxTenants` have claimable jobs.
    for (let i = 0; i < counters.length && heads.length < opts.maxTenants; i += HEADS_PARALLEL) {
      const found = await Promise.all(
        counters.slice(i, i + HEADS_PARALLEL).map((c) => this.headOf(c, opts.perTenant, nowIso)),
      );
      heads.push(...found.filter((h): h is QueueHead => h !== null));
    }
    return heads.slice(0, opts.maxTenants);
  }

  private async headOf(
    counter: Record<string, unknown>,
    perTenant: number,
    nowIso: string,
  ): Promise<QueueHead | null> {
    const tenantId = counter.counter_tenant as string;
    const jobs = await collect(
      (start, limit) =>
        this.db.send(
          new QueryCommand({
            TableName: this.table,
            IndexName: JOBS_BY_STATUS,
            KeyConditionExpression: 'tenant_status = :p',
            FilterExpression:
              'doc.expiresAt > :now AND (attribute_not_exists(doc.notBefore) OR attribute_type(doc.notBefore, :null) OR doc.notBefore <= :now)',
            ExpressionAttributeValues: { ':p': `${tenantId}#QUEUED`, ':now': nowIso, ':null': 'NULL' },
            ScanIndexForward: true,
            ...(limit ? { Limit: limit } : {}),
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        ),
      perTenant,
    );
    if (jobs.length === 0) {
      await this.clearFlagIfEmpty(tenantId, counter.queue_mark as string);
      return null;
    }
    return {
      tenantId,
      jobs: jobs
        .map((j) => ({ jobId: j.job_id as string, submittedAt: j.submitted_at as string }))
        .sort((a, b) => a.submittedAt.localeCompare(b.submittedAt) || a.jobId.localeCompare(b.jobId)),
      running: Math.max(0, Number(counter.running ?? 0)),
    };
  }

  /** Drops a tenant from the queue heads when it has no QUEUED job left and nobody queued one since. */
  private async clearFlagIfEmpty(tenantId: string, mark: string): Promise<void> {
    if (Date.parse(mark.split('#')[0]!) > Date.now() - FLAG_SETTLE_MS) return;
    const any = await call(() =>
      this.db.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: JOBS_BY_STATUS,
          KeyConditionExpression: 'tenant_status = :p',
          ExpressionAttributeValues: { ':p': `${tenantId}#QUEUED` },
          Limit: 1,
        }),
      ),
    );
    if (any.Items?.length) return; // in backoff, or expired and not yet swept
    try {
      await call(() =>
        this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { job_id: counterKey(tenantId) },
            UpdateExpression: 'REMOVE queue_state',
            ConditionExpression: 'queue_mark = :mark',
            ExpressionAttributeValues: { ':mark': mark },
          }),
        ),
      );
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
    }
  }

  async claim(
    tenantId: string,
    jobId: string,
    lease: { owner: string; ms: number },
    maxRunning: number,
  ): Promise<QueryJob | null> {
    const now = new Date();
    const leaseExpiresAt = new Date(now.getTime() + Math.ceil(lease.ms)).toISOString();
    return this.items.update(
      tenantId,
      jobId,
      ['QUEUED'],
      {
        status: 'RUNNING',
        leaseOwner: lease.owner,
        leaseExpiresAt,
        startedAt: now.toISOString(),
        statementRef: null,
        rowsFetched: 0,
        notBefore: null,
      },
      {
        sets: ['doc.#attempts = if_not_exists(doc.#attempts, :zero) + :one'],
        names: { '#attempts': 'attempts', '#notBefore': 'notBefore' },
        values: { ':zero': 0, ':null': 'NULL' },
        condition:
          'attribute_not_exists(doc.#notBefore) OR attribute_type(doc.#notBefore, :null) OR doc.#notBefore <= :nowIso',
        cap: maxRunning,
      },
    );
  }

  async heartbeat(
    tenantId: string,
    jobId: string,
    lease: { owner: string; ms: number },
    progress: { rowsFetched: number },
  ): Promise<boolean> {
    const leaseExpiresAt = new Date(Date.now() + Math.ceil(lease.ms)).toISOString();
    try {
      await call(() =>
        this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { job_id: jobId },
            UpdateExpression:
              'SET lease_expires_at = :lease, doc.leaseExpiresAt = :lease, doc.rowsFetched = :rows',
            ConditionExpression: 'tenant_id = :t AND #status = :running AND doc.leaseOwner = :owner',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':lease': leaseExpiresAt,
              ':rows': progress.rowsFetched,
              ':t': tenantId,
              ':running': 'RUNNING',
              ':owner': lease.owner,
            },
          }),
        ),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }

  async requeueExpired(
    maxAttempts: number,
    limit: number,
  ): Promise<{ requeued: QueryJob[]; failed: QueryJob[] }> {
    const nowIso = new Date().toISOString();
    const expired = await collect(
      (start, lim) =>
        this.db.send(
          new QueryCommand({
            TableName: this.table,
            IndexName: JOBS_BY_LEASE,
            KeyConditionExpression: '#status = :running AND lease_expires_at < :now',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':running': 'RUNNING', ':now': nowIso },
            ...(lim ? { Limit: lim } : {}),
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        ),
      limit,
    );
    const requeued: QueryJob[] = [];
    const failed: QueryJob[] = [];
    for (const item of expired) {
      const seen = docOf(item);
      if (!seen) continue;
      const giveUp = seen.attempts >= maxAttempts;
      const patch: JobPatch = giveUp
        ? {
            status: 'FAILED',
            completedAt: new Date().toISOString(),
            error: {
              code: JOB_ERROR_CODES.MAX_ATTEMPTS_EXCEEDED,
              message: `the job was started ${seen.attempts} times and its worker stopped each time; giving up`,
              details: { attempts: seen.attempts },
            },
            leaseOwner: null,
            leaseExpiresAt: null,
            statementRef: null,
          }
        : {
            status: 'QUEUED',
            completedAt: null,
            error: null,
            leaseOwner: null,
            leaseExpiresAt: null,
            statementRef: null,
          };
      // Only the lease we saw expire: a renewed or re-claimed job is left alone.
      const job = await this.items.update(seen.tenantId, seen.jobId, ['RUNNING'], patch, {
        condition: 'lease_expires_at = :seenLease',
        values: { ':seenLease': item.lease_expires_at },
        includeExpired: true,
      });
      if (job) (giveUp ? failed : requeued).push(job);
    }
    return { requeued, failed };
  }

  async subscribe(onEvent: (event: QueueEvent) => void): Promise<() => Promise<void>> {
    const off = this.items.on(onEvent);
    let closed = false;
    const timer = setInterval(() => {
      this.queuedTenants(1).then(
        (flagged) => {
          if (!closed && flagged.length) onEvent({ type: 'queued' });
        },
        () => {},
      );
    }, POLL_MS);
    timer.unref();
    return async () => {
      closed = true;
      clearInterval(timer);
      off();
    };
  }
}

/** Retention reads Scan the jobs table (a sweeper's batch job, bounded by `limit`); TTL deletes the rest. */
export class DynamoJobRetention implements JobRetentionStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  private scan(filter: string, names: Record<string, string>, values: Record<string, unknown>, want: number) {
    return collect(
      (start, limit) =>
        this.db.send(
          new ScanCommand({
            TableName: this.table,
            FilterExpression: filter,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ...(limit ? { Limit: Math.max(limit, 100) } : {}),
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        ),
      want,
    );
  }

  async expiredResults(limit: number): Promise<{ tenantId: string; jobId: string; key: string }[]> {
    const items = await this.scan(
      'attribute_type(doc.#result, :map) AND doc.#result.expiresAt <= :now',
      { '#result': 'result' },
      { ':map': 'M', ':now': new Date().toISOString() },
      limit,
    );
    return items.map((i) => {
      const job = docOf(i)!;
      return { tenantId: job.tenantId, jobId: job.jobId, key: job.result!.key };
    });
  }

  async clearResult(tenantId: string, jobId: string, key: string): Promise<void> {
    try {
      await call(() =>
        this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { job_id: jobId },
            UpdateExpression: 'SET doc.#result = :null',
            ConditionExpression: 'tenant_id = :t AND doc.#result.#key = :key',
            ExpressionAttributeNames: { '#result': 'result', '#key': 'key' },
            ExpressionAttributeValues: { ':null': null, ':t': tenantId, ':key': key },
          }),
        ),
      );
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
    }
  }

  async deleteExpired(limit: number): Promise<{ tenantId: string; jobId: string }[]> {
    const condition = 'doc.expiresAt <= :now AND #status <> :running';
    const names = { '#status': 'status' };
    const values = { ':now': new Date().toISOString(), ':running': 'RUNNING' };
    const items = await this.scan(condition, names, values, limit);
    const deleted: { tenantId: string; jobId: string }[] = [];
    for (const item of items) {
      try {
        await call(() =>
          this.db.send(
            new DeleteCommand({
              TableName: this.table,
              Key: { job_id: item.job_id },
              ConditionExpression: condition,
              ExpressionAttributeNames: names,
              ExpressionAttributeValues: values,
            }),
          ),
        );
        deleted.push({ tenantId: item.tenant_id as string, jobId: item.job_id as string });
      } catch (e) {
        if (!isConditionFailure(e)) throw e;
      }
    }
    return deleted;
  }
}
