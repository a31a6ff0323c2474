/** Job routes: list and read the caller's query jobs (sync and async). */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { notFound } from '../../domain/errors.js';
import type { QueryJob } from '../../domain/query-job.js';
import type { StateStore } from '../../state/port.js';
import type { AppEnv } from '../env.js';
import { requirePermission } from '../middleware/require-permission.js';
import { errorResponses, JobIdParam, JobListQuery, JobListSchema, JobSchema } from '../schemas.js';

export function jobView(job: QueryJob) {
  return {
    job_id: job.jobId,
    tenant_id: job.tenantId,
    status: job.status,
    sql: job.sql,
    async: job.async,
    submitted_at: job.submittedAt,
    started_at: job.startedAt,
    completed_at: job.completedAt,
    row_count: job.rowCount,
    truncated: job.truncated,
    execution_time_ms: job.executionTimeMs,
    error: job.error ? { code: job.error.code, message: job.error.message } : null,
  };
}

const listJobs = createRoute({
  method: 'get',
  path: '/v1/jobs',
  tags: ['Jobs'],
  summary: 'List the caller’s jobs, newest first',
  security: [{ bearer: [] }],
  middleware: [requirePermission('query:execute', 'bulk:read')] as const,
  request: { query: JobListQuery },
  responses: {
    200: { description: 'A page of jobs', content: { 'application/json': { schema: JobListSchema } } },
    ...errorResponses(400, 401, 403),
  },
});

const getJob = createRoute({
  method: 'get',
  path: '/v1/jobs/{id}',
  tags: ['Jobs'],
  summary: 'Read one job',
  security: [{ bearer: [] }],
  middleware: [requirePermission('query:execute', 'bulk:read')] as const,
  request: { params: JobIdParam },
  responses: {
    200: { description: 'The job', content: { 'application/json': { schema: JobSchema } } },
    ...errorResponses(401, 403, 404),
  },
});

export function registerJobRoutes(app: OpenAPIHono<AppEnv>, deps: { state: StateStore }): void {
  app.openapi(listJobs, async (c) => {
    const q = c.req.valid('query');
    const page = await deps.state.jobs.list(
      c.get('principal').tenantId,
      { status: q.status },
      { limit: q.limit, cursor: q.cursor },
    );
    return c.json({ jobs: page.items.map(jobView), next_cursor: page.nextCursor }, 200);
  });

  app.openapi(getJob, async (c) => {
    const job = await deps.state.jobs.get(c.get('principal').tenantId, c.req.valid('param').id);
    if (!job) throw notFound('job');
    return c.json(jobView(job), 200);
  });
}
