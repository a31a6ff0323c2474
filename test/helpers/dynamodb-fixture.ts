/**
 * The run's DynamoDB Local (started by dynamodb-setup.ts) and clients for it. `dynamoEndpoint()`
 * waits until it answers; tables are cheap there, so every test file makes its own.
 */
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { inject } from 'vitest';
import { createDynamoClient } from '../../src/state/dynamodb/index.js';

export interface DynamoFacts {
  endpoint: string;
  /** Epoch ms the JVM was spawned, to report its start time. */
  startedAt: number;
}

declare module 'vitest' {
  export interface ProvidedContext {
    dynamodb: DynamoFacts;
  }
}

const START_TIMEOUT_MS = 90_000;
let ready: Promise<string> | undefined;

/** The endpoint once DynamoDB Local answers (fails with a clear message if it never does, e.g. no Java). */
export function dynamoEndpoint(): Promise<string> {
  ready ??= (async () => {
    const { endpoint, startedAt } = inject('dynamodb');
    const client = new DynamoDBClient({ ...clientConfig(endpoint), maxAttempts: 1 });
    try {
      let lastError: unknown;
      // Counted from the JVM's start (a file may begin long after it), but always a few tries.
      const deadline = Math.max(startedAt + START_TIMEOUT_MS, Date.now() + 5000);
      while (Date.now() < deadline) {
        try {
          await client.send(new ListTablesCommand({ Limit: 1 }));
          return endpoint;
        } catch (e) {
          lastError = e;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      throw new Error(
        `DynamoDB Local did not answer on ${endpoint} within ${START_TIMEOUT_MS / 1000}s (is Java 17 installed? \`java -version\`): ${String(lastError)}`,
      );
    } finally {
      client.destroy();
    }
  })();
  return ready;
}

function clientConfig(endpoint: string) {
  return { endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
}

/** A document client for DynamoDB Local. */
export async function testDynamoClient() {
  return createDynamoClient(clientConfig(await dynamoEndpoint()));
}

/** A table-name prefix no other test file uses (tables are `<prefix>-tenants`, …). */
export function uniqueTablePrefix(prefix: string): string {
  return `${prefix}-${process.pid}-${crypto.randomUUID().slice(0, 8)}`;
}

export function dynamoClientConfig(endpoint: string) {
  return clientConfig(endpoint);
}
