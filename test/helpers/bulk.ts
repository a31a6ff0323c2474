/** Bulk API calls for end-to-end tests: create, upload, start, wait, read results. */
import { expect } from 'vitest';
import { json, type TestSpectra } from './spectra.js';

// biome-ignore lint/suspicious/noExplicitAny: bulk job bodies are asserted field by field
export type Body = any;

export function bulkClient(spectra: TestSpectra) {
  const create = async (tenant: string, body: Record<string, unknown>): Promise<Body> => {
    const res = await spectra.request('/v1/bulk/jobs', { tenant, body });
    const out = await json(res);
    expect(res.status, JSON.stringify(out)).toBe(201);
    return out;
  };
  const get = async (tenant: string, id: string): Promise<Body> =>
    json(await spectra.request(`/v1/bulk/jobs/${id}`, { tenant }));
  const patch = (tenant: string, id: string, state: string) =>
    spectra.request(`/v1/bulk/jobs/${id}`, { tenant, method: 'PATCH', body: { state } });
  const upload = async (
    tenant: string,
    id: string,
    body: string | Buffer,
    headers: Record<string, string> = {},
  ) => {
    const u = await json(await spectra.request(`/v1/bulk/jobs/${id}/upload-url`, { tenant }));
    expect(u.upload_url, JSON.stringify(u)).toBeTruthy();
    const res = await fetch(u.upload_url, { method: 'PUT', body, headers });
    expect(res.status, await res.clone().text()).toBe(200);
    return u;
  };
  const waitFor = async (tenant: string, id: string, states: string[], timeoutMs = 60_000): Promise<Body> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = await get(tenant, id);
      if (states.includes(job.state)) return job;
      if (Date.now() > deadline)
        throw new Error(`bulk job ${id} is still ${job.state}: ${JSON.stringify(job)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  /** Creates, uploads (imports), starts and waits for a terminal state. */
  const run = async (
    tenant: string,
    body: Record<string, unknown>,
    file?: string | Buffer,
  ): Promise<Body> => {
    const job = await create(tenant, body);
    if (file !== undefined) await upload(tenant, job.job_id, file);
    const res = await patch(tenant, job.job_id, 'UploadComplete');
    expect(res.status, await res.clone().text()).toBe(200);
    return waitFor(tenant, job.job_id, ['JobComplete', 'Failed', 'Aborted']);
  };
  const results = async (tenant: string, id: string): Promise<Body> =>
    json(await spectra.request(`/v1/bulk/jobs/${id}/results`, { tenant }));
  /** The export's bytes, as downloaded through its signed URL. */
  const download = async (tenant: string, id: string): Promise<{ bytes: Buffer; results: Body }> => {
    const r = await results(tenant, id);
    const res = await fetch(r.download_url);
    expect(res.status).toBe(200);
    return { bytes: Buffer.from(await res.arrayBuffer()), results: r };
  };
  const failedResults = async (tenant: string, id: string): Promise<string> => {
    const res = await spectra.request(`/v1/bulk/jobs/${id}/failed-results`, { tenant });
    expect(res.status).toBe(200);
    return res.text();
  };
  return { create, get, patch, upload, waitFor, run, results, download, failedResults };
}
