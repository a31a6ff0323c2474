/**
 * A client in a process of its own, for client.test.ts to measure: streams SPECTRA_STREAM_SQL from
 * SPECTRA_URL with SPECTRA_API_KEY through `stream()` and prints one JSON line with the row count,
 * a checksum of the rows and this process's peak RSS (VmHWM) in MB.
 */
import { readFileSync } from 'node:fs';
import { createSpectraClient } from '../../../src/client/index.js';

const client = createSpectraClient({ url: process.env.SPECTRA_URL!, apiKey: process.env.SPECTRA_API_KEY! });
let rows = 0;
let sum = 0;
for await (const row of client.stream<{ g: number; pad: string }>(
  process.env.SPECTRA_STREAM_SQL!,
  {},
  {
    limit: Number(process.env.SPECTRA_STREAM_LIMIT),
  },
)) {
  rows++;
  sum += row.g + row.pad.length;
}
const hwmKb = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
process.stdout.write(`${JSON.stringify({ rows, sum, peakRssMb: Math.round(hwmKb / 1024) })}\n`);
