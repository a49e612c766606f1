import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ensureTable } from '../../functions/adapters/aws/dynamo-table.ts';
import { startDynalite } from '../../functions/adapters/local/dynalite.ts';
import { javaAvailable, startDynamoDbLocal } from './dynamodb-local.ts';

/**
 * The two real local DynamoDB engines the adapters are tested on: dynalite (what `npm start` runs) and
 * Amazon's DynamoDB Local (the jar, closer to the service's own condition and ADD semantics).
 */
export interface DynamoEngine {
  name: string;
  /** Why the engine cannot run here, or undefined when it can. */
  skip: string | undefined;
  start(): Promise<{ endpoint: string; close(): Promise<void> }>;
}

const hasJava = await javaAvailable();

export const DYNAMO_ENGINES: DynamoEngine[] = [
  { name: 'dynalite', skip: undefined, start: () => startDynalite() },
  {
    name: 'DynamoDB Local',
    skip: hasJava ? undefined : 'no Java 17+ on PATH to run the DynamoDB Local jar',
    async start() {
      const local = await startDynamoDbLocal();
      console.info(`DynamoDB Local answered ${local.startupMs} ms after spawning the JVM`);
      return { endpoint: local.endpoint, close: local.stop };
    },
  },
];
for (const e of DYNAMO_ENGINES) if (e.skip) console.warn(`Skipping the ${e.name} tests: ${e.skip}`);

/** Starts the engine with the gateway's table created; `close` stops both client and engine. */
export async function startEngineTable(
  engine: DynamoEngine,
  table: string,
): Promise<{ client: DynamoDBClient; close(): Promise<void> }> {
  const server = await engine.start();
  const client = new DynamoDBClient({
    endpoint: server.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await ensureTable(client, table);
  return {
    client,
    async close() {
      client.destroy();
      await server.close();
    },
  };
}

/** Runs `promise` and returns what it rejected with (failing the test if it resolved). */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection, but the promise resolved');
}
