/**
 * Deprovisioning pushed by the organisation's IdP over SCIM 2.0 (RFC 7643/7644): the User resources it
 * keeps here, and their store (adapters/aws/dynamo-scim-store.ts).
 */
import type { DocumentStore } from './documents.ts';

/** A name as SCIM carries it (RFC 7643 §4.1.1); only what the IdP sent is kept. */
export interface ScimName {
  formatted?: string;
  givenName?: string;
  familyName?: string;
}

export interface ScimEmail {
  value: string;
  type?: string;
  primary?: boolean;
}

/**
 * A person as the IdP provisioned them: who they are at the IdP (`user_name`, `external_id`, emails),
 * and whether the IdP still lets them in (`active`). Not Tollgate's user record: it is matched to
 * that by email or IdP subject (core/scim/deprovision.ts), and may exist before the person's first sign-in.
 */
export interface ScimUser {
  /** Assigned here (a UUID), stable, never reused: the `{id}` of `/scim/v2/Users/{id}`. */
  id: string;
  user_name: string;
  external_id: string | null;
  display_name: string | null;
  name: ScimName | null;
  emails: ScimEmail[];
  active: boolean;
  /**
   * Deleted by the IdP (`DELETE`): answered as not found from then on, but kept, inactive, so the
   * person's sign-in stays refused. A later `POST` of the same userName replaces it.
   */
  deleted: boolean;
  created: string;
  last_modified: string;
}

export type ScimUserStore = DocumentStore<ScimUser>;
