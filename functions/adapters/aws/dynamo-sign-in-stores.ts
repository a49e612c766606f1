/**
 * What OIDC sign-in keeps in the table, as small documents: sign-ins under way (`SIGNINS`, by the hash
 * of their state), sessions (`SESSIONS`, by the hash of their cookie) and the group mapping saved
 * through the admin API (`GROUPMAP`, by group). An expired sign-in or session is deleted when next
 * read (dynalite has no TTL).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { GroupMappingStore, PendingSignInStore, SessionStore } from '../../core/ports/identity.ts';
import { createDynamoDocumentStore } from './dynamo-document-store.ts';

const EPOCH = new Date(0).toISOString();

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
