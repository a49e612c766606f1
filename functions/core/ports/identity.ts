/**
 * Sign-in with the organisation's identity provider (OpenID Connect): the port an adapter implements
 * (adapters/oidc/openid-client.ts), and the small documents sign-in keeps — the sign-ins under way,
 * the sessions, and the mapping from the IdP's groups to teams and roles.
 */
import type { DocumentStore, UserRole } from './documents.ts';

/** What one sign-in must find again at its callback: all random, made by the adapter. */
export interface SignInChecks {
  state: string;
  nonce: string;
  /** PKCE (RFC 7636): the verifier of the challenge sent in the authorization request. */
  codeVerifier: string;
}

/** Who the IdP says signed in, once the ID token passed every check. */
export interface IdentityClaims {
  issuer: string;
  subject: string;
  email: string | null;
  name: string | null;
  groups: string[];
}

export interface IdentityProvider {
  /** The issuer's identifier, for the audit trail and the user record. */
  readonly issuer: string;
  /** The IdP's authorization URL for a new sign-in, and what its callback must match. */
  beginSignIn(redirectUri: string): Promise<{ url: string; checks: SignInChecks }>;
  /**
   * Exchanges the code in the callback URL (PKCE) and checks the ID token: its signature against the
   * issuer's JWKS, `iss`, `aud`, `exp`, `nonce`, and the `state` of the callback. Throws
   * IdentityRefused when anything does not hold.
   */
  completeSignIn(callbackUrl: URL, checks: SignInChecks): Promise<IdentityClaims>;
}

/** The IdP's answer did not pass a check: the sign-in is refused and nothing is created. */
export class IdentityRefused extends Error {
  override name = 'IdentityRefused';
}

/** The IdP could not be reached (discovery failed): sign-in is unavailable for now, nothing else is. */
export class IdentityUnavailable extends Error {
  override name = 'IdentityUnavailable';
}

/** A sign-in under way, keyed by the hash of its `state`; used once, then deleted. */
export interface PendingSignIn {
  state_hash: string;
  nonce: string;
  code_verifier: string;
  /** Where the browser goes once signed in (a path on this origin). */
  return_to: string;
  expires_at: string;
}

/** A signed-in browser, keyed by the hash of its cookie's value (the value itself is never stored). */
export interface Session {
  session_hash: string;
  user_id: string;
  team_id: string | null;
  created_at: string;
  expires_at: string;
}

/** An IdP group's place in Tollgate: the team its members join and/or the role they get. */
export interface GroupMapping {
  group: string;
  team_id: string | null;
  role: UserRole | null;
  source: 'config' | 'api';
}

export type PendingSignInStore = DocumentStore<PendingSignIn>;
export type SessionStore = DocumentStore<Session>;
export type GroupMappingStore = DocumentStore<GroupMapping>;
