/**
 * The SCIM User resources the IdP provisioned (`SCIMUSERS`, by their SCIM id), as small documents in
 * the table, like teams and users. Never expired: a deleted person's record stays, so their sign-in
 * stays refused.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ScimUserStore } from '../../core/ports/scim.ts';
import { createDynamoDocumentStore } from './dynamo-document-store.ts';

const EPOCH = new Date(0).toISOString();

export function scimUserStore(client: DynamoDBClient, tableName: string): ScimUserStore {
  return createDynamoDocumentStore(client, tableName, {
    partition: 'SCIMUSERS',
    label: 'SCIM user',
    idOf: (u) => u.id,
    normalise: (u) => ({ ...u, emails: u.emails ?? [], deleted: u.deleted ?? false }),
    // Unreadable: matches no one (no userName, no email) and is answered as not found.
    unreadable: (id) => ({
      id,
      user_name: '',
      external_id: null,
      display_name: null,
      name: null,
      emails: [],
      active: false,
      deleted: true,
      created: EPOCH,
      last_modified: EPOCH,
    }),
  });
}
