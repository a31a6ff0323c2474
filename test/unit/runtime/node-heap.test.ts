import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SERVE_NODE_OPTION, SERVE_SEMI_SPACE_MB, semiSpaceOption } from '../../../src/runtime/node-heap.js';

describe('semiSpaceOption: the young generation a process was started with', () => {
  it("is null on Node's default", () => {
    expect(semiSpaceOption([], undefined)).toBeNull();
    expect(semiSpaceOption(['--enable-source-maps'], '--max-old-space-size=512')).toBeNull();
    // A flag without a number, or another flag sharing the prefix, sets nothing.
    expect(semiSpaceOption(['--max-semi-space-size=big'], '')).toBeNull();
    expect(semiSpaceOption(['--max-semi-space-size-x=64'], '')).toBeNull();
  });

  it('reads the command line and NODE_OPTIONS, with dashes or underscores, = or a separate value', () => {
    expect(semiSpaceOption(['--max-semi-space-size=64'], undefined)).toBe(64);
    expect(semiSpaceOption([], '--inspect --max_semi_space_size=32')).toBe(32);
    expect(semiSpaceOption(['--max-semi-space-size', '128'], undefined)).toBe(128);
  });

  it('the command line wins over NODE_OPTIONS, as in Node', () => {
    expect(semiSpaceOption(['--max-semi-space-size=16'], '--max-semi-space-size=64')).toBe(16);
  });
});

describe('npm start', () => {
  it('gives `spectra serve` the young generation the service is measured with', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
    expect(SERVE_NODE_OPTION).toBe(`--max-semi-space-size=${SERVE_SEMI_SPACE_MB}`);
    expect(pkg.scripts.start).toBe(`node ${SERVE_NODE_OPTION} bin/spectra.js serve`);
  });
});
