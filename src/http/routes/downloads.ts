/**
 * `/v1/downloads/{tenant_id}/{job_id}/{file}`: the filesystem ResultStore's signed URLs, served by
 * the API. No bearer credential: the HMAC signature over method, key and expiry is the
 * authorization, checked before anything is read. Keys are tenant-scoped (`{tenant}/{job}/{file}`)
 * and URLs are only issued for the caller's own jobs; an expired or altered URL is 403. HEAD is
 * answered by the GET route; PUT (bulk uploads) writes the body to the key.
 */
import { Readable } from 'node:stream';
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { ApiError, notFound } from '../../domain/errors.js';
import { resultContentType } from '../../storage/content-type.js';
import type { UrlSigner } from '../../storage/fs/url-signer.js';
import { isValidResultKey, type ResultStore } from '../../storage/port.js';
import type { AppEnv } from '../env.js';
import { errorResponses } from '../schemas.js';

const FILENAME = /^[A-Za-z0-9._-]{1,200}$/;

export interface DownloadDeps {
  store: ResultStore;
  signer: UrlSigner;
}

const segment = (name: string, description: string) =>
  z.string().openapi({ param: { name, in: 'path' }, description });

const DownloadParams = z.object({
  tenant_id: segment('tenant_id', 'The tenant the file belongs to.'),
  job_id: segment('job_id', 'The job (or bulk job) the file belongs to.'),
  file: segment('file', 'E.g. `export.csv.gz`.'),
});

const SignatureQuery = z.object({
  expires: z.string().optional().openapi({ description: 'Expiry, Unix seconds (signed).' }),
  signature: z
    .string()
    .optional()
    .openapi({ description: 'base64url HMAC-SHA256 over method, key and expiry.' }),
  filename: z.string().optional().openapi({ description: 'Name for Content-Disposition (not signed).' }),
});

const download = createRoute({
  method: 'get',
  path: '/v1/downloads/{tenant_id}/{job_id}/{file}',
  operationId: 'downloadResultFile',
  tags: ['Jobs'],
  summary: 'Download a result file through a signed URL',
  description:
    'URLs come from `GET /v1/jobs/{id}/results?format=…`; they carry `expires` and `signature` and need ' +
    'no Authorization header. An expired or altered URL is 403; a file past its retention is 404.',
  request: { params: DownloadParams, query: SignatureQuery },
  responses: {
    200: {
      description: 'The file: NDJSON, a JSON array, CSV, or the gzip of one of them',
      content: {
        'application/x-ndjson': { schema: { type: 'string' } },
        'application/json': { schema: { type: 'string' } },
        'text/csv': { schema: { type: 'string' } },
        'application/gzip': { schema: { type: 'string', format: 'binary' } },
      },
    },
    ...errorResponses(403, 404),
  },
});

const upload = createRoute({
  method: 'put',
  path: '/v1/downloads/{tenant_id}/{job_id}/{file}',
  operationId: 'uploadSignedFile',
  tags: ['Jobs'],
  summary: 'Upload a file through a signed PUT URL',
  description: 'For bulk imports: the body is stored under the signed key. An expired or altered URL is 403.',
  request: { params: DownloadParams, query: SignatureQuery },
  responses: {
    200: {
      description: 'Stored',
      content: {
        'application/json': {
          schema: z.object({ key: z.string(), size_bytes: z.number().int() }).openapi('UploadedFile'),
        },
      },
    },
    ...errorResponses(403),
  },
});

function keyOf(p: { tenant_id: string; job_id: string; file: string }): string {
  const key = `${p.tenant_id}/${p.job_id}/${p.file}`;
  if (!isValidResultKey(key)) throw new ApiError('FORBIDDEN', 'invalid URL signature');
  return key;
}

/** Registered before authentication: these requests carry a signature, not a bearer credential. */
export function registerDownloadRoutes(app: OpenAPIHono<AppEnv>, deps: DownloadDeps): void {
  app.openapi(download, async (c) => {
    const key = keyOf(c.req.valid('param'));
    const q = c.req.valid('query');
    deps.signer.verify('GET', key, q.expires, q.signature);
    const object = await deps.store.stat(key);
    if (!object) throw notFound('file');
    const headers: Record<string, string> = {
      'Content-Type': resultContentType(key),
      'Content-Length': String(object.sizeBytes),
      'Cache-Control': 'private, no-store',
      'X-Content-Type-Options': 'nosniff',
    };
    if (q.filename && FILENAME.test(q.filename))
      headers['Content-Disposition'] = `attachment; filename="${q.filename}"`;
    const body = Readable.toWeb(Readable.from(await deps.store.read(key))) as ReadableStream<Uint8Array>;
    return c.body(body, 200, headers) as never;
  });

  app.openapi(upload, async (c) => {
    const key = keyOf(c.req.valid('param'));
    const q = c.req.valid('query');
    deps.signer.verify('PUT', key, q.expires, q.signature);
    const writer = await deps.store.createWriter(key);
    try {
      if (c.req.raw.body) {
        for await (const chunk of c.req.raw.body as unknown as AsyncIterable<Uint8Array>)
          await writer.write(chunk);
      }
      const { sizeBytes } = await writer.close();
      return c.json({ key, size_bytes: sizeBytes }, 200);
    } catch (e) {
      await writer.abort().catch(() => {});
      throw e;
    }
  });
}
