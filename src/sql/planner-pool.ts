/**
 * A small pool of worker threads that plan large statements off the event loop. Threads start on
 * first use, load the WASM parser once, plan one statement at a time from a FIFO queue, and are
 * unref'd while idle so they never keep the process alive.
 */
import { Worker } from 'node:worker_threads';
import { ApiError, type ErrorCode, type ErrorDetails } from '../domain/errors.js';
import type { PlanOutcome, PlanRequest, SqlPlan } from './plan.js';
import type { GuardPolicy } from './policy.js';

export interface PlanTask {
  id: number;
  req: PlanRequest;
  policy: GuardPolicy;
}

export type PlanReply =
  | { id: number; plan: SqlPlan }
  | {
      id: number;
      error: { code: ErrorCode; message: string; details: ErrorDetails };
      /** Relations whose catalog columns would complete the plan (SourceColumnsNeeded). */
      needs?: string[][];
    }
  | { id: number; failure: string };

export interface PlannerPoolStats {
  /** Threads started and not retired. */
  running: number;
  busy: number;
  queued: number;
}

interface Job {
  task: PlanTask;
  resolve(outcome: PlanOutcome): void;
}

interface PlannerThread {
  worker: Worker;
  job: Job | undefined;
  timer: NodeJS.Timeout | undefined;
}

const failed = (reason: string): PlanOutcome => ({
  error: new ApiError('INTERNAL_ERROR', 'the SQL guard could not plan this statement', { reason }),
});

/**
 * The worker's entry. From source (tsx, vitest) the entry is TypeScript, and Node 20 gives a
 * worker none of the parent's loader hooks (not even with `execArgv: ['--import', 'tsx']`), so a
 * one-line ESM bootstrap registers tsx inside the worker first.
 */
function workerEntry(): URL {
  if (!import.meta.url.endsWith('.ts')) return new URL('./plan-worker.js', import.meta.url);
  const entry = new URL('./plan-worker.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(entry)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`);
}

/**
 * The worker's stack, sized like the main thread's: deep nesting that exhausts the JS stack is
 * COMPLEXITY_EXCEEDED, and a thread with a bigger stack (Node's default is 4 MB) would accept
 * statements the main thread rejects. V8's default is 984 KB; Node keeps 192 KB of a worker's
 * stack in reserve.
 */
function mainThreadStackMb(): number {
  const flag = process.execArgv.map((a) => /^--stack[-_]size=(\d+)$/.exec(a)?.[1]).find(Boolean);
  return (Number(flag ?? 984) + 192) / 1024;
}

export class PlannerPool {
  private readonly threads = new Set<PlannerThread>();
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly options: {
      /** Worker threads at most (≥ 1). */
      size: number;
      /** A statement still planning after this long has its thread terminated: a safety net, never expected. */
      taskTimeoutMs?: number;
    },
  ) {}

  /** Plans one statement in a worker thread. Never rejects: failures are INTERNAL_ERROR outcomes. */
  plan(req: PlanRequest, policy: GuardPolicy): Promise<PlanOutcome> {
    if (this.closed) return Promise.resolve(failed('planner threads are shut down'));
    return new Promise((resolve) => {
      this.queue.push({ task: { id: this.nextId++, req, policy }, resolve });
      this.dispatch();
    });
  }

  stats(): PlannerPoolStats {
    let busy = 0;
    for (const t of this.threads) if (t.job) busy++;
    return { running: this.threads.size, busy, queued: this.queue.length };
  }

  /** Terminates the threads; queued and running statements get INTERNAL_ERROR. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.resolve(failed('planner threads are shut down'));
    await Promise.all([...this.threads].map((t) => t.worker.terminate()));
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let thread = [...this.threads].find((t) => t.job === undefined);
      if (thread === undefined) {
        if (this.threads.size >= this.options.size) return;
        try {
          thread = this.spawn();
        } catch (error) {
          const job = this.queue.shift()!;
          job.resolve(failed(`cannot start a planner thread: ${(error as Error).message}`));
          continue;
        }
      }
      const job = this.queue.shift()!;
      const busy = thread;
      busy.job = job;
      busy.worker.ref();
      busy.timer = setTimeout(
        () => this.retire(busy, 'planning timed out'),
        this.options.taskTimeoutMs ?? 30_000,
      );
      busy.worker.postMessage(job.task);
    }
  }

  private spawn(): PlannerThread {
    const thread: PlannerThread = {
      worker: new Worker(workerEntry(), { resourceLimits: { stackSizeMb: mainThreadStackMb() } }),
      job: undefined,
      timer: undefined,
    };
    thread.worker.unref();
    this.threads.add(thread);
    thread.worker.on('message', (reply: PlanReply) => this.finish(thread, reply));
    thread.worker.on('error', (error) => this.retire(thread, error.message));
    thread.worker.on('exit', (code) => this.retire(thread, `planner thread exited (${code})`));
    return thread;
  }

  private finish(thread: PlannerThread, reply: PlanReply): void {
    const job = thread.job;
    if (job === undefined || job.task.id !== reply.id || !this.threads.has(thread)) return;
    clearTimeout(thread.timer);
    thread.job = undefined;
    thread.worker.unref();
    job.resolve(outcomeOf(reply));
    this.dispatch();
  }

  /** Takes a failed, exited or stuck thread out of the pool; its statement gets INTERNAL_ERROR. */
  private retire(thread: PlannerThread, reason: string): void {
    if (!this.threads.delete(thread)) return;
    clearTimeout(thread.timer);
    const job = thread.job;
    thread.job = undefined;
    void thread.worker.terminate();
    job?.resolve(failed(reason));
    if (!this.closed) this.dispatch();
  }
}

function outcomeOf(reply: PlanReply): PlanOutcome {
  if ('plan' in reply) {
    const p = reply.plan;
    return {
      plan: Object.freeze({
        ...p,
        paramNames: Object.freeze(p.paramNames) as string[],
        jsonParams: Object.freeze(p.jsonParams) as number[],
        relations: Object.freeze(p.relations) as string[],
        functions: Object.freeze(p.functions) as string[],
      }),
    };
  }
  if ('error' in reply) {
    const error = new ApiError(reply.error.code, reply.error.message, reply.error.details);
    return reply.needs === undefined ? { error } : { needs: reply.needs, error };
  }
  return failed(reply.failure);
}
