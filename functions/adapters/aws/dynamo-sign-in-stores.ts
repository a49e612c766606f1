/**
 * What OIDC sign-in keeps in the table, as small documents: sign-ins under way (`SIGNINS`, by the hash
 * of their state), sessions (`SESSIONS`, by the hash of their cookie) and the group mapping saved
 * through the admin API (`GROUPMAP`, by group). Sign-ins and sessions carry the table's TTL attribute,
 * so DynamoDB deletes them once expired; dynalite has no TTL, and the local runtime sweeps them
 * (core/auth/expiry.ts). Read before that, an expired one is refused either way.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { GroupMappingStore, PendingSignInStore, SessionStore } from '../../core/ports/identity.ts';
import { createDynamoDocumentStore } from './dynamo-document-store.ts';

const EPOCH = new Date(0).toISOString();
const epochSeconds = (iso: string) => Math.ceil(Date.parse(iso) / 1000);

export function signInStores(client: DynamoDBClient, tableName: string) {
  const pending: PendingSignInStore = createDynamoDocumentStore(client, tableName, {
    partition: 'SIGNINS',
    label: 'Sign-in',
    idOf: (p) => p.state_hash,
    normalise: (p) => p,
    // An unreadable sign-in has expired: it can only be refused.
    unreadable: (state_hash) => ({
      state_hash,
      nonce: '',
      code_verifier: '',
      return_to: '/',
      expires_at: EPOCH,
    }),
    expiresAt: (p) => epochSeconds(p.expires_at),
  });
  const sessions: SessionStore = createDynamoDocumentStore(client, tableName, {
    partition: 'SESSIONS',
    label: 'Session',
    idOf: (s) => s.session_hash,
    normalise: (s) => s,
    unreadable: (session_hash) => ({
      session_hash,
      user_id: '',
      team_id: null,
      created_at: EPOCH,
      expires_at: EPOCH,
    }),
    expiresAt: (s) => epochSeconds(s.expires_at),
  });
  const mappings: GroupMappingStore = createDynamoDocumentStore(client, tableName, {
    partition: 'GROUPMAP',
    label: 'Group mapping',
    idOf: (m) => m.group,
    normalise: (m) => ({ ...m, source: 'api' }),
    // Unreadable: maps to nothing, so it places no one.
    unreadable: (group) => ({ group, team_id: null, role: null, source: 'api' }),
  });
  return { pending, sessions, mappings };
}
