import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import { Level } from 'level';
import { ConfigError } from '../../core/config-error.ts';

export interface LocalDynamo {
  endpoint: string;
  close(): Promise<void>;
}

/**
 * dynalite: the DynamoDB API over LevelDB, on disk under `path` (in memory without one). The same
 * DynamoDB adapters that run on AWS talk to it.
 */
export async function startDynalite(path?: string): Promise<LocalDynamo> {
  if (path) await assertNotInUse(path);
  const server = dynalite({ path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections?.();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

/**
 * LevelDB lets one process open a store. dynalite opens it on its first request and throws from its
 * request handler when that fails, which ends the process with a stack; a second gateway on the same
 * data dir is told instead, in one line, what to do.
 */
async function assertNotInUse(path: string): Promise<void> {
  const db = new Level(path);
  try {
    await db.open();
  } catch (err) {
    if ((err as { cause?: { code?: string } }).cause?.code !== 'LEVEL_LOCKED') throw err;
    throw new ConfigError(
      `TOLLGATE_DATA_DIR: another gateway is running on this data dir (${path} is locked). Stop it, or give this one a data dir of its own; gateways that share budgets share one DynamoDB endpoint (TOLLGATE_DYNAMODB_ENDPOINT).`,
    );
  }
  await db.close();
}
