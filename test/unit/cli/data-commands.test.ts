/** Pure parts of the data commands: --param typing, failed-record file names, progress lines, tables. */
import { describe, expect, it } from 'vitest';
import { createProgress, progressLine } from '../../../src/cli/progress.js';
import { parseParams } from '../../../src/cli/query.js';
import { renderTable } from '../../../src/cli/row-format.js';
import { failedRecordsFile } from '../../../src/cli/transfer.js';
import { manualClock } from '../../helpers/time.js';

describe('parseParams', () => {
  it('types numbers, booleans and null; single quotes force text; a pair without = is a usage error', () => {
    expect(
      parseParams(['n=3', 'x=-1.5', 'b=true', 'z=null', "zip='02134'", 's=abc', 'big=12345678901234567890']),
    ).toEqual({
      n: 3,
      x: -1.5,
      b: true,
      z: null,
      zip: '02134',
      s: 'abc',
      big: '12345678901234567890',
    });
    expect(() => parseParams(['oops'])).toThrow('--param must be NAME=VALUE');
  });
});

it('failed records are written beside the input as NAME.failed.csv', () => {
  expect(failedRecordsFile('data/people.csv')).toBe('data/people.failed.csv');
  expect(failedRecordsFile('people.csv.gz')).toBe('people.failed.csv');
  expect(failedRecordsFile('/tmp/x.json')).toBe('/tmp/x.failed.csv');
});

describe('progress', () => {
  it('a terminal line has percentage, bytes, rate and ETA once the total is known', () => {
    expect(progressLine({ phase: 'downloading', bytes: 2_000_000, totalBytes: 8_000_000 }, 2000)).toBe(
      'downloading  [#####---------------] 25%  2.0 MB/8.0 MB  1.0 MB/s  ETA 6s',
    );
    expect(progressLine({ phase: 'importing', rows: 5000 }, 2000)).toBe(
      'importing  5,000 rows  2,500 rows/s',
    );
  });

  it('off a terminal: one plain line per phase and the summary, no carriage returns', () => {
    let text = '';
    const clock = manualClock(0);
    const p = createProgress(
      {
        write: (s: string) => {
          text += s;
          return true;
        },
      } as never,
      {
        tty: false,
        now: clock.now,
      },
    );
    p.update({ phase: 'uploading', bytes: 1, totalBytes: 10 });
    clock.advance(5000);
    p.update({ phase: 'uploading', bytes: 5, totalBytes: 10 });
    p.update({ phase: 'importing', rows: 3 });
    p.done('done: 3 records');
    expect(text).toBe('uploading…\nimporting…\ndone: 3 records\n');
  });

  it('on a terminal: redrawn in place at most every 100 ms, cleared before the summary', () => {
    let text = '';
    const clock = manualClock(0);
    const p = createProgress(
      {
        write: (s: string) => {
          text += s;
          return true;
        },
        columns: 200,
      } as never,
      {
        tty: true,
        now: clock.now,
      },
    );
    p.update({ phase: 'exporting', rows: 1 });
    p.update({ phase: 'exporting', rows: 2 });
    clock.advance(100);
    p.update({ phase: 'exporting', rows: 3 });
    p.done('ok');
    expect(text.split('\r\x1b[2K')).toEqual(['', 'exporting  1 rows', 'exporting  3 rows', 'ok\n']);
  });
});

it('renderTable: a header row, a rule, numbers to the right', () => {
  expect(
    renderTable(
      ['region', 'n'],
      [
        { region: 'APAC', n: 5 },
        { region: 'EMEA', n: 12 },
      ],
    ),
  ).toBe('region  n\n------  --\nAPAC     5\nEMEA    12\n');
});
