/**
 * The web console (issue 19) in a real browser: playwright-core drives Debian's Chromium against a
 * real `spectra serve` (startSpectra: real HTTP, the embedded PostgreSQL). Each step waits for DOM
 * state, never for time. Screenshots of each page go to test-results/console/.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJobWorker } from '../../src/runtime/worker.js';
import { json, startSpectra, type TestSpectra } from '../helpers/spectra.js';
import { createTenantTable, type TenantTable } from '../helpers/tenant-tables.js';

const root = path.resolve(import.meta.dirname, '../..');
const SHOTS = path.join(root, 'test-results', 'console');
const CHROMIUM = process.env.SPECTRA_CHROMIUM ?? '/usr/bin/chromium';
const WAIT = { timeout: 60_000 };

let spectra: TestSpectra;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let people: TenantTable;
const consoleMessages: string[] = [];

beforeAll(async () => {
  const { buildConsole } = await import('../../scripts/build-console.mjs');
  await buildConsole(undefined, { quiet: true });
  mkdirSync(SHOTS, { recursive: true });
  people = await createTenantTable('console', 'id integer NOT NULL, name text, score numeric(6,2)', 'id');
  spectra = await startSpectra();
  browser = await chromium.launch({ executablePath: CHROMIUM });
  context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  page = await context.newPage();
  page.on('console', (m) => consoleMessages.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => consoleMessages.push(`pageerror: ${e.message}`));
});

afterAll(async () => {
  await browser?.close();
  await spectra?.close();
  await people?.drop();
});

/** Waits for `locator`; on failure the error names what the page shows in its alerts (API errors). */
async function see(locator: Locator, state: 'visible' | 'detached' = 'visible'): Promise<void> {
  try {
    await locator.waitFor({ state, ...WAIT });
  } catch (err) {
    const alerts = await page.getByRole('alert').allTextContents();
    throw new Error(`${(err as Error).message}\npage alerts: ${JSON.stringify(alerts)}`);
  }
}

const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

/** Replaces the editor's text (as a user would: select all, type) and runs it with Ctrl-Enter. */
async function runSql(sql: string): Promise<void> {
  const editor = page.locator('.cm-content');
  await editor.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.insertText(sql);
  await page.keyboard.press('Escape');
  await page.keyboard.press('Control+Enter');
}

async function signIn(credential: string): Promise<void> {
  await page.goto(`${spectra.url}/console`);
  // By keyboard: the field has focus on Tab and Enter submits.
  await page.keyboard.press('Tab');
  await expect.poll(() => page.evaluate('document.activeElement?.id'), WAIT).toBe('credential');
  await page.keyboard.insertText(credential);
  await page.keyboard.press('Enter');
}

/** Paths in the console's sources that start with /v1/ or name /metrics, `${…}` read as a parameter. */
function consoleRoutes(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.tsx?$/.test(e.name)) files.push(p);
    }
  };
  walk(path.join(root, 'console', 'src'));
  const routes = new Set<string>();
  for (const f of files) {
    for (const m of readFileSync(f, 'utf8').matchAll(/['`](\/(?:v1\/[^'`?\s]*|metrics))/g)) {
      routes.add(m[1]!.replace(/\$\{[^}]*\}/g, '{param}').replace(/\/$/, ''));
    }
  }
  return [...routes].sort();
}

describe('serving', () => {
  it('serves /console with a strict CSP, revalidated HTML and immutable hashed bundles', async () => {
    const res = await fetch(`${spectra.url}/console`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toMatch(/(^|; )script-src 'self'(;|$)/);
    expect(csp).toContain("connect-src 'self'");
    const html = await res.text();
    expect(html).not.toMatch(/<script>|<script [^>]*>[^<]/);
    expect(html).not.toMatch(/https?:\/\//);
    const js = /src="(\/console\/app-[A-Z0-9]{8}\.js)"/.exec(html)![1]!;
    const asset = await fetch(`${spectra.url}${js}`);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await fetch(`${spectra.url}/console/nope-AAAAAAAA.js`)).status).toBe(404);
  });

  it('calls only routes documented in /openapi.json', async () => {
    const doc = await json(await fetch(`${spectra.url}/openapi.json`));
    const documented = Object.keys(doc.paths).map((p) => new RegExp(`^${p.replace(/\{[^}]+\}/g, '[^/]+')}$`));
    const used = consoleRoutes();
    expect(used).toEqual(
      expect.arrayContaining(['/metrics', '/v1/queries', '/v1/jobs/{param}', '/v1/me', '/v1/catalog/tables']),
    );
    const undocumented = used.filter((r) => !documented.some((d) => d.test(r.replace(/\{param\}/g, 'x'))));
    expect(undocumented).toEqual([]);
  });
});

describe('as a tenant', () => {
  it('signs in with an API key kept in sessionStorage and shows tenant and permissions', async () => {
    await page.goto(`${spectra.url}/console`);
    await shot('sign-in');
    await signIn(spectra.keys.acme!);
    await expect.poll(() => page.getByTestId('tenant').textContent(), WAIT).toBe('acme');
    await see(page.locator('.permissions').getByText('query:*'));
    // Strings, not functions: the tests are type-checked without the DOM library.
    const storage = await page.evaluate<{ session: string[]; local: string; cookie: string; url: string }>(`({
      session: Object.values(sessionStorage),
      local: Object.values(localStorage).join(' '),
      cookie: document.cookie,
      url: location.href,
    })`);
    expect(storage.session).toContain(spectra.keys.acme);
    expect(storage.local).not.toContain(spectra.keys.acme);
    expect(storage.cookie).toBe('');
    expect(storage.url).not.toContain(spectra.keys.acme);
  });

  it('browses the schema: columns with types, a click inserts the name into the editor', async () => {
    const sales = page.locator('li[data-table="sales"]');
    await see(sales);
    await sales.getByRole('button', { name: 'Show columns of sales' }).click();
    await see(sales.getByText('decimal(12,2)'));
    await page.locator('.cm-content').click();
    await page.keyboard.press('Control+End');
    await page.keyboard.insertText('\n-- ');
    await sales.getByRole('button', { name: 'region' }).click();
    await expect.poll(() => page.locator('.cm-line').last().textContent(), WAIT).toMatch(/^--\s+region$/);
  });

  it('runs a query and sees only its own rows, with Server-Timing and column types', async () => {
    await runSql('SELECT tenant_id, count(*) AS n FROM sales GROUP BY tenant_id');
    await see(page.getByTestId('row-count').getByText('1 row'));
    const cells = await page.locator('.grid-row .grid-cell').allTextContents();
    expect(cells[0]).toBe('acme');
    await see(page.getByRole('columnheader', { name: /tenant_id/ }));
    await see(page.locator('.timings').getByText(/^db /));
  });

  it('shows a guard error at its position, with the hint', async () => {
    await runSql('SELECT amount\nFROM sales\nWHERE region = = 1');
    const error = page.getByRole('alert').filter({ hasText: 'INVALID_SQL' });
    await see(error);
    await see(error.getByText(/line 3, column 16/));
    await see(error.getByText('Hint'));
    await see(error.getByText(/Request id/));
    expect(await page.locator('.cm-lintRange-error').first().textContent()).toBe('=');
    await shot('workbench-guard-error');
  });

  it('charts an aggregate: bars for categories, switchable to a line', async () => {
    await runSql(
      'SELECT region, SUM(amount) AS total, COUNT(*) AS sales FROM sales GROUP BY region ORDER BY region',
    );
    await see(page.getByTestId('row-count').getByText('3 rows'));
    await page.getByRole('tab', { name: 'Chart' }).click();
    await see(page.locator('.chart-host[data-kind="bar"] canvas'));
    await page.getByRole('button', { name: 'Line' }).click();
    await see(page.locator('.chart-host[data-kind="line"] canvas'));
    await page.getByRole('button', { name: 'Bars' }).click();
    await see(page.locator('.chart-host[data-kind="bar"] canvas'));
    await shot('workbench-chart');
  });

  it('scrolls 10,000 rows with only the visible rows in the DOM', async () => {
    await page.getByLabel('Row limit').fill('10000');
    await runSql(
      'SELECT s.sale_id, s.amount, s.region FROM sales s, generate_series(1, 10) g ORDER BY 1 LIMIT 10000',
    );
    await see(page.getByTestId('row-count').getByText('10000 rows'));
    expect(await page.locator('.grid-row').count()).toBeLessThan(100);
    await page.locator('.grid-scroll').evaluate((el: { scrollTop: number; scrollHeight: number }) => {
      el.scrollTop = el.scrollHeight;
    });
    await see(page.locator('.grid-row[aria-rowindex="10001"]'));
    await shot('workbench-results');
  });

  it('submits a job from the editor and cancels it on the Jobs page', async () => {
    // No job worker runs yet: the job stays QUEUED until cancelled.
    await page.locator('.cm-content').click();
    await page.keyboard.press('Control+A');
    await page.keyboard.insertText('SELECT region, amount FROM sales ORDER BY sale_id');
    await page.getByRole('button', { name: 'Run as job' }).click();
    await page.waitForURL(/#\/jobs\/job-/, WAIT);
    await expect.poll(() => page.getByTestId('job-status').textContent(), WAIT).toBe('QUEUED');
    await page.getByRole('button', { name: 'Cancel job' }).click();
    await expect.poll(() => page.getByTestId('job-status').textContent(), WAIT).toBe('CANCELLED');
    const id = decodeURIComponent(page.url().split('/').pop()!);
    const job = await json(await spectra.request(`/v1/jobs/${id}`, { tenant: 'acme' }));
    expect(job.status).toBe('CANCELLED');
  });

  it('a completed job shows its rows and a signed download', async () => {
    await startJobWorker(spectra.core);
    const res = await spectra.query('acme', {
      sql: 'SELECT sale_id, region FROM sales ORDER BY sale_id LIMIT 250',
      async: true,
    });
    const { job_id } = await json(res);
    await page.goto(`${spectra.url}/console#/jobs/${job_id}`);
    await expect.poll(() => page.getByTestId('job-status').textContent(), WAIT).toBe('COMPLETED');
    await see(page.getByText('Page 1 · 100 rows'));
    await page.getByRole('button', { name: 'Next page' }).click();
    await see(page.getByText('Page 2 · 100 rows'));
    await page.getByRole('button', { name: 'Prepare CSV' }).click();
    const link = page.getByRole('link', { name: /Download CSV/ });
    await see(link);
    const download = await Promise.all([page.waitForEvent('download', WAIT), link.click()]).then(([d]) => d);
    const text = readFileSync((await download.path())!, 'utf8');
    expect(text.split('\n')[0]).toMatch(/sale_id,region/);
    await shot('jobs');
  });

  it('exports a query to CSV with progress and downloads the file', async () => {
    await page.getByRole('link', { name: 'Bulk' }).click();
    await page.getByLabel('SQL').fill("SELECT tenant_id, region, amount FROM sales WHERE region = 'EMEA'");
    await page.getByRole('button', { name: 'Start export' }).click();
    const link = page.getByTestId('export-download');
    await see(link);
    const download = await Promise.all([page.waitForEvent('download', WAIT), link.click()]).then(([d]) => d);
    const lines = readFileSync((await download.path())!, 'utf8')
      .trim()
      .split('\n');
    expect(lines[0]).toBe('tenant_id,region,amount');
    expect(lines.length).toBeGreaterThan(1);
    expect(new Set(lines.slice(1).map((l) => l.split(',')[0]))).toEqual(new Set(['acme']));
  });

  it('imports a file with a failing record: the failure is shown and downloadable', async () => {
    await page.getByLabel('Table').selectOption(people.name);
    await page.getByLabel('File', { exact: true }).setInputFiles({
      name: 'people.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from('id,name,score\n1,Ada,9.5\n2,Bob,abc\n3,Cy,7\n'),
    });
    await page.getByRole('button', { name: 'Upload and import' }).click();
    const failures = page.getByRole('region', { name: 'Failed records' });
    await see(failures.getByText('1 failed record'));
    await see(failures.getByText(/invalid input syntax for type numeric/));
    const download = await Promise.all([
      page.waitForEvent('download', WAIT),
      failures.getByRole('button', { name: 'Download failed records' }).click(),
    ]).then(([d]) => d);
    expect(readFileSync((await download.path())!, 'utf8')).toContain('Bob');
    const rows = await people.admin<{ id: number }>(`SELECT id FROM public.${people.name} ORDER BY id`);
    expect(rows.map((r) => r.id)).toEqual([1, 3]);
    await shot('bulk');
  });
});

describe('layout', () => {
  it('is readable on a narrow window in the dark theme, with no sideways scrolling of the page', async () => {
    await page.setViewportSize({ width: 420, height: 900 });
    await page.emulateMedia({ colorScheme: 'dark' });
    try {
      await page.getByRole('link', { name: 'Workbench' }).click();
      await see(page.locator('li[data-table="sales"]'));
      await runSql('SELECT region, SUM(amount) AS total FROM sales GROUP BY region ORDER BY region');
      await see(page.getByTestId('row-count').getByText('3 rows'));
      expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
      expect(await page.evaluate('getComputedStyle(document.body).backgroundColor')).toBe('rgb(13, 17, 23)');
      await shot('workbench-narrow-dark');
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
      await page.emulateMedia({ colorScheme: 'light' });
    }
  });
});

describe('as the administrator', () => {
  it('creates a tenant, revokes a key after confirming, and sees live metrics', async () => {
    await page.goto(`${spectra.url}/console`);
    await page.evaluate('sessionStorage.clear()');
    await signIn(spectra.adminKey);
    await expect.poll(() => page.getByTestId('tenant').textContent(), WAIT).toBe('administrator');
    const tenant = `console-${Date.now().toString(36)}`;
    await page.getByLabel('Tenant id').fill(tenant);
    await page.getByRole('button', { name: 'Create tenant' }).click();
    const secret = page.getByTestId('new-secret');
    await see(secret);
    const firstKey = (await secret.textContent())!;
    expect(firstKey).toMatch(new RegExp(`^spk_${tenant}_`));
    await page.getByRole('button', { name: 'I have stored it' }).click();
    const keysOf = page.getByRole('region', { name: `Keys of ${tenant}` });
    await see(keysOf.locator('tr[data-key]').first());
    expect((await json(await spectra.request('/v1/me', { key: firstKey }))).tenant_id).toBe(tenant);

    await keysOf.getByRole('button', { name: 'Revoke' }).first().click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Revoke key' }).click();
    await see(keysOf.getByRole('cell', { name: 'revoked' }));
    // Authentication caches keys briefly: the revocation takes effect within that bound.
    await expect
      .poll(async () => (await spectra.request('/v1/me', { key: firstKey })).status, WAIT)
      .toBe(401);

    await see(page.getByTestId('metric-requests'));
    await shot('admin');

    await page.locator(`tr[data-tenant="${tenant}"]`).getByRole('button', { name: 'Delete' }).click();
    await dialog.getByLabel(/Type/).fill(tenant);
    await dialog.getByRole('button', { name: 'Delete tenant' }).click();
    await see(page.locator(`tr[data-tenant="${tenant}"]`), 'detached');
  });

  it('logged no secret and no CSP violation to the browser console', () => {
    const all = consoleMessages.join('\n');
    expect(all).not.toContain(spectra.keys.acme);
    expect(all).not.toContain(spectra.adminKey);
    expect(all).not.toMatch(/Content Security Policy/i);
  });
});
