/** The input boundary's rule on its own: which text crosses, and how a refused field is named. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  findUnsafeJson,
  unsafeInput,
  unsafeTextReason,
} from '../../../src/http/middleware/input-boundary.js';

describe('unsafeTextReason', () => {
  it('lets every well-formed string without NUL through: any script, emoji, other control characters', () => {
    for (const s of ['', 'SELECT 1', 'Grüße 日本 😀 \u0001\u001f\u007f\uFFFD', '\ud83d\ude00\ud83d\ude00']) {
      expect(unsafeTextReason(s)).toBeNull();
    }
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (s) => {
        expect(unsafeTextReason(s.replaceAll('\0', ''))).toBeNull();
      }),
    );
  });

  it('refuses NUL and every unpaired surrogate, wherever it is', () => {
    expect(unsafeTextReason('a\0b')).toBe('nul_character');
    for (const s of [
      '\ud800',
      'x\ud800',
      '\ud800x',
      '\udc00',
      'x\udc00y',
      '\ude00\ud83d',
      '\ud83d\ud83d\ude00'.slice(0, 2),
    ]) {
      expect(unsafeTextReason(s), JSON.stringify(s)).toBe('unpaired_surrogate');
    }
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.integer({ min: 0xd800, max: 0xdfff }), (a, b, unit) => {
        // Split off any surrogate half at the joins so the inserted one cannot pair up.
        const clean = (s: string) => s.replace(/[\ud800-\udfff]/g, '');
        expect(unsafeTextReason(clean(a) + String.fromCharCode(unit) + clean(b))).toBe('unpaired_surrogate');
      }),
    );
  });
});

describe('findUnsafeJson', () => {
  it('names the first offending value or key by its dotted path', () => {
    expect(findUnsafeJson({ sql: 'SELECT 1', params: { x: 'a\0' } })).toEqual({
      field: 'params.x',
      reason: 'nul_character',
    });
    expect(findUnsafeJson({ parameters: [{ name: 'a', value: '\udc00' }] })).toEqual({
      field: 'parameters.0.value',
      reason: 'unpaired_surrogate',
    });
    expect(findUnsafeJson({ params: { 'k\0': 1 } })?.field).toBe('params.k\0');
    expect(findUnsafeJson('\0')?.field).toBe('body');
    expect(findUnsafeJson({ a: [1, true, null, { b: 'ok' }] })).toBeNull();
  });

  it('walks a deeply nested body without overflowing the stack', () => {
    let deep: unknown = 'a\0';
    for (let i = 0; i < 50_000; i++) deep = [deep];
    expect(findUnsafeJson(deep)?.reason).toBe('nul_character');
  });
});

describe('unsafeInput', () => {
  it('is INVALID_REQUEST with a printable field name even when the name holds the bad character', () => {
    const err = unsafeInput('params.k\0\ud800', 'nul_character');
    expect(err.code).toBe('INVALID_REQUEST');
    expect(err.status).toBe(400);
    expect(err.details).toEqual({ field: 'params.k\ufffd\ufffd', reason: 'nul_character' });
    expect(JSON.stringify(err.details)).not.toMatch(/\\u0000|\\ud800/);
  });
});
