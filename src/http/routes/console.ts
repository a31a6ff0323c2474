/**
 * `/console`: the web console (console/, built by scripts/build-console.mjs into dist/console). Static
 * files only; the page talks to the public /v1 API like any other client. index.html is revalidated on
 * every load, the content-hashed bundles are immutable, and the CSP allows scripts from this origin
 * only (no inline script, no CDN, no external fonts). Not in /openapi.json: it is not API.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../env.js';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
};
const ASSET = /^[A-Za-z0-9_-]+(?:-[A-Z0-9]{8})?\.(?:js|css|svg|map)$/;
const HASHED = /-[A-Z0-9]{8}\.(?:js|css)$/;

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  // CodeMirror and uPlot set element styles at run time; scripts stay strictly same-origin.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'Content-Security-Policy': CONSOLE_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
};

/** dist/console beside the package root, whether this module runs from src/ (tsx) or dist/. */
export function defaultConsoleDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return path.join(dir, 'dist', 'console');
}

export function registerConsoleRoutes(app: OpenAPIHono<AppEnv>, deps: { dir?: string } = {}): void {
  const dir = deps.dir ?? defaultConsoleDir();
  const missing = () =>
    new Response(
      'The web console is not built: run `npm run build` (or `node scripts/build-console.mjs`).\n',
      {
        status: 404,
        headers: { 'Content-Type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS },
      },
    );
  const page = async () => {
    const body = await readFile(path.join(dir, 'index.html')).catch(() => null);
    if (!body) return missing();
    return new Response(body, {
      headers: { 'Content-Type': CONTENT_TYPES['.html']!, 'Cache-Control': 'no-cache', ...SECURITY_HEADERS },
    });
  };
  app.get('/console', () => page());
  app.get('/console/', () => page());
  app.get('/console/:file', async (c) => {
    const file = c.req.param('file');
    if (!ASSET.test(file)) return page();
    const body = await readFile(path.join(dir, file)).catch(() => null);
    if (!body) return c.notFound();
    return new Response(body, {
      headers: {
        'Content-Type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
        'Cache-Control': HASHED.test(file) ? 'public, max-age=31536000, immutable' : 'public, max-age=3600',
        ...SECURITY_HEADERS,
      },
    });
  });
}
