/**
 * Job items, the job queue and job retention on DynamoDB, for every job kind: query jobs (jobs
 * table, QUEUED → RUNNING) and bulk jobs (bulk-jobs table, UploadComplete → InProgress; bulk-jobs.ts)
 * run through the same code, described by a `JobItemKind`.
 *
 * Each tenant has a counter item in the jobs table (`job_id` = `#tenant#<id>`) holding `running`,
 * its number of RUNNING query jobs plus InProgress bulk jobs (one cap for both kinds), and — while
 * it may have queued jobs of a kind — that kind's flag (`queue_state = QUEUED`, `bulk_queue_state =
 * UploadComplete`), which puts it in the kind's sparse index of flagged counters (the "queue heads").
 * Every write that moves a job into or out of its running state, or into its queued state, updates
 * the job and its tenant's counter in one TransactWriteItems (which may span the two tables), so the
 * counter is exact and `claim` can enforce the cap with a condition on it (`running < cap`). Fair
 * order is the PostgreSQL adapter's: tenants in id order, each one's oldest claimable jobs from the
 * kind's queue index; the worker interleaves them.
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
  QueuedJob,
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

/** What the queue code needs of a job record, whatever its kind. */
export interface KindJob extends QueuedJob {
  expiresAt: string;
}

/**
 * Where a job kind's items live and how its queue moves them. The state sits in `doc.<stateField>`
 * and, for the indexes, in the top-level attribute of the same name.
 */
export interface JobItemKind<J extends KindJob, S extends string> {
  stateField: 'status' | 'state';
  /** Top-level `<tenant>#<state>` attribute (partition of the state and queue indexes). */
  tenantStateAttribute: string;
  queued: S;
  running: S;
  failed: S;
  /** A move from running into this state is a `cancelled` event. */
  cancelled: S;
  /** Doc fields mirrored as top-level (index) attributes; a null field removes its attribute. */
  indexedFields: Readonly<Record<string, string>>;
  /** A tenant's jobs in one state (`tenantStateAttribute` partition). */
  stateIndex: string;
  /** A tenant's queued jobs in queue order, and the sort attribute of that order. */
  queueIndex: string;
  queueOrderAttribute: string;
  /** Running jobs by `lease_expires_at`. */
  leaseIndex: string;
  /** This kind's queue flag on the tenant counter, its mark, and the index of flagged counters. */
  flag: { attribute: string; mark: string; index: string };
  /** Fields a claim resets besides state, lease and start time. */
  claimResets: Readonly<Record<string, unknown>>;
  /** Doc fields a heartbeat writes. */
  progressFields(progress: { rowsFetched: number; rowsFailed?: number }): Record<string, number>;
  /** Stamp `doc.updatedAt` on every write (bulk jobs). */
  stampsUpdatedAt: boolean;
  /** The job's state (`doc[stateField]`). */
  stateOf(job: J): S;
}

export const QUERY_JOB_ITEMS: JobItemKind<QueryJob, JobStatus> = {
  stateField: 'status',
  tenantStateAttribute: 'tenant_status',
  queued: 'QUEUED',
  running: 'RUNNING',
  failed: 'FAILED',
  cancelled: 'CANCELLED',
  indexedFields: { submittedAt: 'submitted_at', leaseExpiresAt: 'lease_expires_at' },
  stateIndex: JOBS_BY_STATUS,
  queueIndex: JOBS_BY_STATUS,
  queueOrderAttribute: 'submitted_at',
  leaseIndex: JOBS_BY_LEASE,
  flag: { attribute: 'queue_state', mark: 'queue_mark', index: QUEUED_TENANTS },
  claimResets: { statementRef: null, rowsFetched: 0, notBefore: null },
  progressFields: (p) => ({ rowsFetched: p.rowsFetched }),
  stampsUpdatedAt: false,
  stateOf: (job) => job.status,
};

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

/**
 * The writes of one kind's job items that keep the tenant counters exact; shared by the kind's
 * record store and its queue. `counterTable` is the jobs table, where every kind's counters live.
 */
export class JobItems<
  J extends KindJob = QueryJob,
  S extends string = JobStatus,
  P extends object = JobPatch,
> {
  private readonly listeners = new Set<Listener>();
  readonly counterTable: string;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    readonly table: string,
    readonly kind: JobItemKind<J, S> = QUERY_JOB_ITEMS as unknown as JobItemKind<J, S>,
    counterTable = table,
  ) {
    this.counterTable = counterTable;
  }

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

  /** The counter update of a transaction: RUNNING delta, this kind's queue flag, and the claim's cap condition. */
  private counterUpdate(tenantId: string, delta: number, flagQueued: boolean, cap?: number) {
    const sets = ['counter_tenant = :t'];
    const values: Record<string, unknown> = { ':t': tenantId };
    if (flagQueued) {
      const { attribute, mark } = this.kind.flag;
      sets.push(`${attribute} = :queued`, `${mark} = :mark`);
      values[':queued'] = this.kind.queued;
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
        TableName: this.counterTable,
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

  docOf(item: Record<string, unknown> | undefined): J | null {
    return item ? (item.doc as J) : null;
  }

  async create(j: J): Promise<void> {
    const { kind } = this;
    const state = kind.stateOf(j);
    const item: Record<string, unknown> = {
      job_id: j.jobId,
      tenant_id: j.tenantId,
      [kind.stateField]: state,
      [kind.tenantStateAttribute]: `${j.tenantId}#${state}`,
    };
    for (const [field, attribute] of Object.entries(kind.indexedFields)) {
      const value = (j as unknown as Record<string, unknown>)[field];
      if (value) item[attribute] = value;
    }
    item.expires_at = ttlOf(j.expiresAt);
    item.doc = j;
    const put = { TableName: this.table, Item: item, ConditionExpression: 'attribute_not_exists(job_id)' };
    const delta = state === kind.running ? 1 : 0;
    const flag = state === kind.queued;
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
    if (flag) this.emit({ type: 'queued', job: { tenantId: j.tenantId, jobId: j.jobId } });
  }

  /**
   * Conditional update of one job: applies `patch` if its state is one of `from` (and the extra
   * conditions hold). Sources that change the tenant's counter go through a transaction with it.
   * Null when no condition held.
   */
  async update(
    tenantId: string,
    jobId: string,
    from: readonly S[],
    patch: P,
    extras: UpdateExtras = {},
  ): Promise<J | null> {
    const { kind } = this;
    const target = (patch as Record<string, unknown>)[kind.stateField] as S | undefined;
    // Source states grouped by their effect on the counter: leaving the running state, or not.
    const groups: S[][] = [];
    const running = from.filter((s) => s === kind.running);
    const others = from.filter((s) => s !== kind.running);
    if (running.length) groups.push(running);
    if (others.length) groups.push(others);
    for (const group of groups) {
      const wasRunning = group[0] === kind.running;
      const delta = target === undefined ? 0 : (target === kind.running ? 1 : 0) - (wasRunning ? 1 : 0);
      const flag = target === kind.queued;
      const job = await this.updateFrom(tenantId, jobId, group, patch, extras, delta, flag);
      if (!job) continue;
      if (target === kind.queued) this.emit({ type: 'queued', job: { tenantId, jobId } });
      if (wasRunning && target === kind.cancelled) this.emit({ type: 'cancelled', tenantId, jobId });
      return job;
    }
    return null;
  }

  private async updateFrom(
    tenantId: string,
    jobId: string,
    from: readonly S[],
    patch: P,
    extras: UpdateExtras,
    delta: number,
    flag: boolean,
  ): Promise<J | null> {
    const { kind } = this;
    const names: Record<string, string> = {
      '#status': kind.stateField,
      '#version': 'version',
      ...extras.names,
    };
    const values: Record<string, unknown> = {
      ':tenant': tenantId,
      ':nowIso': new Date().toISOString(),
      ':one': 1,
      ...extras.values,
    };
    const sets = ['doc.#version = doc.#version + :one', ...(extras.sets ?? [])];
    const removes: string[] = [];
    const fields = patch as Record<string, unknown>;
    for (const [field, value] of Object.entries(fields)) {
      names[`#f_${field}`] = field;
      values[`:f_${field}`] = value ?? null;
      sets.push(`doc.#f_${field} = :f_${field}`);
    }
    if (kind.stampsUpdatedAt && !('updatedAt' in fields)) {
      names['#updatedAt'] = 'updatedAt';
      values[':touchedAt'] = values[':nowIso'];
      sets.push('doc.#updatedAt = :touchedAt');
    }
    const target = fields[kind.stateField];
    if (target !== undefined) {
      values[':status'] = target;
      values[':tenantStatus'] = `${tenantId}#${target}`;
      sets.push('#status = :status', `${kind.tenantStateAttribute} = :tenantStatus`);
    }
    for (const [field, attribute] of Object.entries(kind.indexedFields)) {
      if (!(field in fields)) continue;
      // An index key is a string or absent: a released lease leaves the lease index.
      if (fields[field]) {
        values[`:i_${field}`] = fields[field];
        sets.push(`${attribute} = :i_${field}`);
      } else removes.push(attribute);
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
        return this.docOf(out.Attributes);
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
    return this.docOf(await this.read(jobId));
  }
}

export class DynamoJobQueue<
  J extends KindJob = QueryJob,
  S extends string = JobStatus,
  P extends object = JobPatch,
> implements JobQueueStore<J>
{
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly items: JobItems<J, S, P>,
  ) {}

  private get table() {
    return this.items.table;
  }

  private get kind() {
    return this.items.kind;
  }

  private queuedTenants(want: number) {
    const { flag, queued } = this.kind;
    return collect(
      (start, limit) =>
        this.db.send(
          new QueryCommand({
            TableName: this.items.counterTable,
            IndexName: flag.index,
            KeyConditionExpression: `${flag.attribute} = :q`,
            ExpressionAttributeValues: { ':q': queued },
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
    const { kind } = this;
    const tenantId = counter.counter_tenant as string;
    const jobs = await collect(
      (start, limit) =>
        this.db.send(
          new QueryCommand({
            TableName: this.table,
            IndexName: kind.queueIndex,
            KeyConditionExpression: `${kind.tenantStateAttribute} = :p`,
            FilterExpression:
              'doc.expiresAt > :now AND (attribute_not_exists(doc.notBefore) OR attribute_type(doc.notBefore, :null) OR doc.notBefore <= :now)',
            ExpressionAttributeValues: {
              ':p': `${tenantId}#${kind.queued}`,
              ':now': nowIso,
              ':null': 'NULL',
            },
            ScanIndexForward: true,
            ...(limit ? { Limit: limit } : {}),
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        ),
      perTenant,
    );
    if (jobs.length === 0) {
      await this.clearFlagIfEmpty(tenantId, counter[kind.flag.mark] as string);
      return null;
    }
    return {
      tenantId,
      jobs: jobs
        .map((j) => ({ jobId: j.job_id as string, submittedAt: j[kind.queueOrderAttribute] as string }))
        .sort((a, b) => a.submittedAt.localeCompare(b.submittedAt) || a.jobId.localeCompare(b.jobId)),
      running: Math.max(0, Number(counter.running ?? 0)),
    };
  }

  /** Drops a tenant from the queue heads when it has no queued job left and nobody queued one since. */
  private async clearFlagIfEmpty(tenantId: string, mark: string): Promise<void> {
    const { kind } = this;
    if (Date.parse(mark.split('#')[0]!) > Date.now() - FLAG_SETTLE_MS) return;
    const any = await call(() =>
      this.db.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: kind.stateIndex,
          KeyConditionExpression: `${kind.tenantStateAttribute} = :p`,
          ExpressionAttributeValues: { ':p': `${tenantId}#${kind.queued}` },
          Limit: 1,
        }),
      ),
    );
    if (any.Items?.length) return; // in backoff, or expired and not yet swept
    try {
      await call(() =>
        this.db.send(
          new UpdateCommand({
            TableName: this.items.counterTable,
            Key: { job_id: counterKey(tenantId) },
            UpdateExpression: `REMOVE ${kind.flag.attribute}`,
            ConditionExpression: `${kind.flag.mark} = :mark`,
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
  ): Promise<J | null> {
    const now = new Date();
    const leaseExpiresAt = new Date(now.getTime() + Math.ceil(lease.ms)).toISOString();
    const patch = {
      [this.kind.stateField]: this.kind.running,
      leaseOwner: lease.owner,
      leaseExpiresAt,
      startedAt: now.toISOString(),
      ...this.kind.claimResets,
    } as unknown as P;
    return this.items.update(tenantId, jobId, [this.kind.queued], patch, {
      sets: ['doc.#attempts = if_not_exists(doc.#attempts, :zero) + :one'],
      names: { '#attempts': 'attempts', '#notBefore': 'notBefore' },
      values: { ':zero': 0, ':null': 'NULL' },
      condition:
        'attribute_not_exists(doc.#notBefore) OR attribute_type(doc.#notBefore, :null) OR doc.#notBefore <= :nowIso',
      cap: maxRunning,
    });
  }

  async heartbeat(
    tenantId: string,
    jobId: string,
    lease: { owner: string; ms: number },
    progress: { rowsFetched: number; rowsFailed?: number },
  ): Promise<boolean> {
    const { kind } = this;
    const leaseExpiresAt = new Date(Date.now() + Math.ceil(lease.ms)).toISOString();
    const sets = ['lease_expires_at = :lease', 'doc.leaseExpiresAt = :lease'];
    const names: Record<string, string> = { '#status': kind.stateField };
    const values: Record<string, unknown> = {
      ':lease': leaseExpiresAt,
      ':t': tenantId,
      ':running': kind.running,
      ':owner': lease.owner,
    };
    for (const [field, value] of Object.entries(kind.progressFields(progress))) {
      names[`#p_${field}`] = field;
      values[`:p_${field}`] = value;
      sets.push(`doc.#p_${field} = :p_${field}`);
    }
    if (kind.stampsUpdatedAt) {
      names['#updatedAt'] = 'updatedAt';
      values[':touchedAt'] = new Date().toISOString();
      sets.push('doc.#updatedAt = :touchedAt');
    }
    try {
      await call(() =>
        this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { job_id: jobId },
            UpdateExpression: `SET ${sets.join(', ')}`,
            ConditionExpression: 'tenant_id = :t AND #status = :running AND doc.leaseOwner = :owner',
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
          }),
        ),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }

  async requeueExpired(maxAttempts: number, limit: number): Promise<{ requeued: J[]; failed: J[] }> {
    const { kind } = this;
    const nowIso = new Date().toISOString();
    const expired = await collect(
      (start, lim) =>
        this.db.send(
          new QueryCommand({
            TableName: this.table,
            IndexName: kind.leaseIndex,
            KeyConditionExpression: '#status = :running AND lease_expires_at < :now',
            ExpressionAttributeNames: { '#status': kind.stateField },
            ExpressionAttributeValues: { ':running': kind.running, ':now': nowIso },
            ...(lim ? { Limit: lim } : {}),
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        ),
      limit,
    );
    const requeued: J[] = [];
    const failed: J[] = [];
    for (const item of expired) {
      const seen = this.items.docOf(item);
      if (!seen) continue;
      const giveUp = seen.attempts >= maxAttempts;
      const patch = (giveUp
        ? {
            [kind.stateField]: kind.failed,
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
            [kind.stateField]: kind.queued,
            completedAt: null,
            error: null,
            leaseOwner: null,
            leaseExpiresAt: null,
            statementRef: null,
          }) as unknown as P;
      // Only the lease we saw expire: a renewed or re-claimed job is left alone.
      const job = await this.items.update(seen.tenantId, seen.jobId, [kind.running], patch, {
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

/**
 * Deletes expired job items of one kind's table (never running ones), read with a Scan (a sweeper's
 * batch job, bounded by `limit`); TTL deletes the rest. Counter items carry no `doc` and never match.
 */
export async function deleteExpiredJobItems(
  db: DynamoDBDocumentClient,
  table: string,
  kind: { stateField: string; running: string },
  limit: number,
): Promise<{ tenantId: string; jobId: string }[]> {
  const condition = 'doc.expiresAt <= :now AND #status <> :running';
  const names = { '#status': kind.stateField };
  const values = { ':now': new Date().toISOString(), ':running': kind.running };
  const items = await scanItems(db, table, condition, names, values, limit);
  const deleted: { tenantId: string; jobId: string }[] = [];
  for (const item of items) {
    try {
      await call(() =>
        db.send(
          new DeleteCommand({
            TableName: table,
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

function scanItems(
  db: DynamoDBDocumentClient,
  table: string,
  filter: string,
  names: Record<string, string>,
  values: Record<string, unknown>,
  want: number,
) {
  return collect(
    (start, limit) =>
      db.send(
        new ScanCommand({
          TableName: table,
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

/** Retention of query jobs and their results. */
export class DynamoJobRetention implements JobRetentionStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async expiredResults(limit: number): Promise<{ tenantId: string; jobId: string; key: string }[]> {
    const items = await scanItems(
      this.db,
      this.table,
      'attribute_type(doc.#result, :map) AND doc.#result.expiresAt <= :now',
      { '#result': 'result' },
      { ':map': 'M', ':now': new Date().toISOString() },
      limit,
    );
    return items.map((i) => {
      const job = i.doc as QueryJob;
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

  deleteExpired(limit: number): Promise<{ tenantId: string; jobId: string }[]> {
    return deleteExpiredJobItems(this.db, this.table, QUERY_JOB_ITEMS, limit);
  }
}
