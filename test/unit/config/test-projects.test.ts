/**
 * Every test file belongs to a vitest project: a file outside every project's `include` is never
 * run by `npm test` (the browser tests were silently left out once when the projects were split).
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import config from '../../../vitest.config.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');

function testFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : testFiles(rel);
    return e.name.endsWith('.test.ts') ? [rel] : [];
  });
}

/** The project includes are all of the form `<folder>/**\/*.test.ts`. */
function folderOf(pattern: string): string {
  const m = /^(.+)\/\*\*\/\*\.test\.ts$/.exec(pattern);
  if (!m) throw new Error(`an include this test does not understand: ${pattern}`);
  return `${m[1]}/`;
}

describe('vitest projects', () => {
  it('include every *.test.ts under test/ and src/', () => {
    const projects = (config.test?.projects ?? []) as Array<{ test: { include: string[] } }>;
    const folders = projects.flatMap((p) => p.test.include.map(folderOf));
    const orphans = [...testFiles('test'), ...testFiles('src')].filter(
      (f) => !folders.some((folder) => f.startsWith(folder)),
    );
    expect(orphans).toEqual([]);
  });
});
