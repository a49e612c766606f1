import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInStores } from '../../functions/adapters/aws/dynamo-sign-in-stores.ts';
import { sweepExpired } from '../../functions/core/auth/expiry.ts';
import { DYNAMO_ENGINES, startEngineTable } from '../support/dynamo-engines.ts';

/**
 * Sign-ins under way and sessions in the table: they carry its TTL attribute (DynamoDB deletes them
 * once expired), and where there is no TTL (dynalite) the local sweep deletes the expired ones only.
 */
const dynalite = DYNAMO_ENGINES[0]!;
let table: Awaited<ReturnType<typeof startEngineTable>>;
let stores: ReturnType<typeof signInStores>;

beforeAll(async () => {
  table = await startEngineTable(dynalite, 'tollgate');
  stores = signInStores(table.client, 'tollgate');
});
afterAll(async () => table?.close());

const session = (hash: string, expires_at: string) => ({
  session_hash: hash,
  user_id: 'alice',
  team_id: null,
  created_at: '2026-12-01T00:00:00.000Z',
  expires_at,
});

describe('sign-in documents in the table', () => {
  it("carry the table's TTL attribute, in epoch seconds", async () => {
    // Act
    await stores.sessions.create(session('s-ttl', '2026-12-01T08:00:00.000Z'));
    const { Item } = await table.client.send(
      new GetItemCommand({ TableName: 'tollgate', Key: { pk: { S: 'SESSIONS' }, sk: { S: 's-ttl' } } }),
    );

    // Assess
    expect(Item?.expires_at).toEqual({ N: String(Date.parse('2026-12-01T08:00:00Z') / 1000) });
  });

  it('are swept once expired, and only then', async () => {
    // Prepare
    await stores.sessions.create(session('s-old', '2026-12-01T09:00:00.000Z'));
    await stores.sessions.create(session('s-live', '2026-12-01T11:00:00.000Z'));
    await stores.pending.create({
      state_hash: 'p-old',
      nonce: 'n',
      code_verifier: 'v',
      return_to: '/',
      expires_at: '2026-12-01T09:50:00.000Z',
    });

    // Act
    const swept = await sweepExpired(stores, new Date('2026-12-01T10:00:00Z'));

    // Assess
    expect(swept).toEqual({ signIns: 1, sessions: 2 }); // s-old and s-ttl
    expect((await stores.sessions.list()).map((s) => s.session_hash)).toEqual(['s-live']);
    expect(await stores.pending.list()).toEqual([]);
  });
});
