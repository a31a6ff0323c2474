/**
 * Configuration: docs/configuration.md and .env.example move with src/config (a new or changed
 * setting fails here until both are updated), and loadConfig's precedence and error messages.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderSettingsTable } from '../../../scripts/config-docs.js';
import { ConfigError, loadConfig, SETTINGS, settingsTable } from '../../../src/config/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

function configError(env: Record<string, string>, flags: Record<string, string | boolean> = {}): string {
  try {
    loadConfig(env, flags);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('docs/configuration.md', () => {
  it('holds exactly the table src/config renders (run `npx tsx scripts/config-docs.ts` and paste it)', () => {
    const doc = read('docs/configuration.md');
    const m = /<!-- settings:begin -->\n([\s\S]*?)\n?<!-- settings:end -->/.exec(doc);
    expect(m, 'docs/configuration.md needs the <!-- settings:begin/end --> markers').not.toBeNull();
    expect(m![1]!.trim()).toBe(renderSettingsTable().trim());
  });

  it('describes precedence and the three deployment shapes', () => {
    const doc = read('docs/configuration.md');
    expect(doc).toMatch(/## Precedence/);
    for (const shape of ['Embedded', 'Cluster', 'Serverless on AWS']) expect(doc).toContain(`**${shape}**`);
  });
});

describe('.env.example', () => {
  const listed = () =>
    new Map(
      read('.env.example')
        .split('\n')
        .map((line) => /^# (SPECTRA_[A-Z0-9_]+)=(.*)$/.exec(line))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[1]!, m[2]!]),
    );

  it('lists every setting, commented out, with its default', () => {
    const expected = new Map(settingsTable().map((s) => [s.env, s.default]));
    const missing = [...expected].filter(([env]) => !listed().has(env)).map(([env, d]) => `# ${env}=${d}`);
    expect(missing, 'add these lines to .env.example').toEqual([]);
    for (const [env, value] of listed()) expect(`${env}=${value}`).toBe(`${env}=${expected.get(env)}`);
  });

  it('sets nothing: no uncommented assignments', () => {
    const active = read('.env.example')
      .split('\n')
      .filter((line) => /^\s*[A-Z_]+=/.test(line));
    expect(active).toEqual([]);
  });
});

describe('loadConfig', () => {
  it('with nothing set gives the embedded defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      demo: true,
      warehouseUrl: '',
      queryMaxRows: 10_000,
    });
    expect(c.home).toBe(path.resolve('./.spectra'));
  });

  it('environment variables override defaults; flags override environment variables', () => {
    const env = { SPECTRA_PORT: '9000', SPECTRA_HOME: '/tmp/from-env', SPECTRA_LOG_LEVEL: 'warn' };
    expect(loadConfig(env)).toMatchObject({ port: 9000, home: '/tmp/from-env', logLevel: 'warn' });
    expect(loadConfig(env, { port: '9100', home: '/tmp/from-flag' })).toMatchObject({
      port: 9100,
      home: '/tmp/from-flag',
      logLevel: 'warn',
    });
  });

  it('a boolean flag wins over its variable in both directions', () => {
    expect(loadConfig({ SPECTRA_DEMO: 'true' }, { demo: false }).demo).toBe(false);
    expect(loadConfig({ SPECTRA_DEMO: 'off' }, { demo: true }).demo).toBe(true);
  });

  it.each([
    ['1', true],
    ['yes', true],
    ['ON', true],
    ['0', false],
    ['no', false],
    ['false', false],
  ])('SPECTRA_DEMO=%s reads as %s', (value, expected) => {
    expect(loadConfig({ SPECTRA_DEMO: value }).demo).toBe(expected);
  });

  it('lists are comma-separated, trimmed, empty items dropped', () => {
    expect(loadConfig({ SPECTRA_SQL_ALLOWED_SCHEMAS: ' public, sales ,,' }).sqlAllowedSchemas).toEqual([
      'public',
      'sales',
    ]);
  });

  it.each([
    ['SPECTRA_PORT', 'abc', /SPECTRA_PORT: expected an integer from 0 to 65535, got "abc"/],
    ['SPECTRA_PORT', '70000', /SPECTRA_PORT: .*70000/],
    ['SPECTRA_PORT', '', /SPECTRA_PORT: expected an integer .* got ""/],
    ['SPECTRA_PORT', '80.5', /SPECTRA_PORT: .*"80\.5"/],
    ['SPECTRA_WAREHOUSE_POOL_SIZE', '0', /SPECTRA_WAREHOUSE_POOL_SIZE: expected an integer from 1 to 1000/],
    ['SPECTRA_LOG_LEVEL', 'loud', /SPECTRA_LOG_LEVEL: .*"debug"/],
    ['SPECTRA_DEMO', 'maybe', /SPECTRA_DEMO: expected a boolean, got "maybe"/],
    ['SPECTRA_SQL_SECURITY_LEVEL', 'lax', /SPECTRA_SQL_SECURITY_LEVEL: .*"strict"/],
  ])('%s=%j → ConfigError naming the variable and what was expected', (env, value, message) => {
    expect(configError({ [env]: value })).toMatch(message);
  });

  it('a bad flag is named as the flag', () => {
    expect(configError({ SPECTRA_PORT: '9000' }, { port: 'x' })).toMatch(/--port: expected an integer/);
  });

  it('reports every problem at once, one line each', () => {
    const message = configError({ SPECTRA_PORT: 'x', SPECTRA_LOG_LEVEL: 'loud', SPECTRA_DEMO_ROWS: '-1' });
    expect(
      message
        .split('\n')
        .slice(1)
        .map((l) => l.trim().split(':')[0]),
    ).toEqual(['SPECTRA_PORT', 'SPECTRA_LOG_LEVEL', 'SPECTRA_DEMO_ROWS']);
  });

  it('a default row count above the maximum is lowered to it', () => {
    const c = loadConfig({ SPECTRA_QUERY_DEFAULT_ROWS: '5000', SPECTRA_QUERY_MAX_ROWS: '100' });
    expect(c).toMatchObject({ queryDefaultRows: 100, queryMaxRows: 100 });
  });

  it('every setting has a unique SPECTRA_* variable and flag, and a default its own schema accepts', () => {
    const settings = Object.values(SETTINGS) as { env: string; flag?: string }[];
    const envs = settings.map((s) => s.env);
    expect(envs.every((e) => /^SPECTRA_[A-Z0-9_]+$/.test(e))).toBe(true);
    expect(new Set(envs).size).toBe(envs.length);
    const flags = settings.flatMap((s) => (s.flag ? [s.flag] : []));
    expect(new Set(flags).size).toBe(flags.length);
    expect(() => loadConfig({})).not.toThrow();
  });
});
