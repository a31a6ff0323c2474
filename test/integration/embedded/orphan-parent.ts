/**
 * Test helper process (not a test): starts an embedded PostgreSQL in the home given as argv[2],
 * prints `ready <postmaster pid> <port>`, then waits to be killed — leaving an orphaned postmaster.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { startEmbeddedPostgres } from '../../../src/warehouse/embedded/postgres-process.js';

const home = process.argv[2];
if (!home) throw new Error('usage: orphan-parent.ts <home>');
const postgres = await startEmbeddedPostgres({ home });
const pid = (await readFile(path.join(postgres.dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0];
process.stdout.write(`ready ${pid} ${postgres.port}\n`);
setInterval(() => {}, 60_000);
