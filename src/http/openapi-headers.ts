/**
 * Documents the rate-limit headers in the OpenAPI document: every `/v1` response other than 401
 * (rate limits apply after authentication) may carry `X-RateLimit-*`; 429 and 503 carry
 * `Retry-After`. Applied once, after all routes are registered, so routes need not repeat it.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from './env.js';

const HEADERS = {
  'X-RateLimit-Limit': {
    description: 'Requests per minute allowed for this tenant and route class (the bucket size).',
    schema: { type: 'integer' as const },
  },
  'X-RateLimit-Remaining': {
    description: 'Requests that could be made right now.',
    schema: { type: 'integer' as const },
  },
  'X-RateLimit-Reset': {
    description: 'Seconds until the bucket is full again.',
    schema: { type: 'integer' as const },
  },
  'Retry-After': {
    description: 'Seconds to wait before retrying (429 RATE_LIMITED, 503 WAREHOUSE_UNAVAILABLE).',
    schema: { type: 'integer' as const },
  },
};

export function documentRateLimitHeaders(app: OpenAPIHono<AppEnv>): void {
  for (const [name, header] of Object.entries(HEADERS)) {
    app.openAPIRegistry.registerComponent('headers', name, header);
  }
  const ref = (name: keyof typeof HEADERS) => ({ $ref: `#/components/headers/${name}` });
  for (const def of app.openAPIRegistry.definitions) {
    if (def.type !== 'route' || !def.route.path.startsWith('/v1/')) continue;
    const responses = def.route.responses;
    for (const [status, response] of Object.entries(responses)) {
      if (status === '401' || '$ref' in response) continue;
      const existing = response.headers;
      if (existing && 'shape' in existing) continue;
      responses[status] = {
        ...response,
        headers: {
          ...(existing as Record<string, unknown> | undefined),
          'X-RateLimit-Limit': ref('X-RateLimit-Limit'),
          'X-RateLimit-Remaining': ref('X-RateLimit-Remaining'),
          'X-RateLimit-Reset': ref('X-RateLimit-Reset'),
          ...(status === '429' || status === '503' ? { 'Retry-After': ref('Retry-After') } : {}),
        },
      };
    }
  }
}
