/**
 * What the IdP's deactivation does here. A SCIM user is matched to Tollgate's user records the way
 * sign-in keys people (core/auth/onboard.ts): by email — its userName or any of its emails, compared
 * without case, against a record's user_id or user_email — or by IdP subject, its externalId against
 * the subject the record's last sign-in linked (Okta's externalId is the person's Okta id, the `sub` of
 * its ID tokens). Deactivated: every key of theirs is blocked, every session ended, and their next
 * sign-in refused. Reactivated: they may sign in again; their keys stay blocked until an admin
 * unblocks them, since the IdP cannot say which keys should work again.
 */
import { ConflictError, NotFoundError } from '../errors.ts';
import type { AuditLog } from '../ports/audit.ts';
import type { Clock } from '../ports/clock.ts';
import type { User, UserStore } from '../ports/documents.ts';
import type { IdentityClaims, SessionStore } from '../ports/identity.ts';
import type { KeyStore, VirtualKey } from '../ports/keys.ts';
import type { ScimUser, ScimUserStore } from '../ports/scim.ts';

export interface DeprovisionDeps {
  keys: KeyStore;
  users: UserStore;
  /** The sign-in sessions, when sign-in is on. */
  sessions?: SessionStore;
  audit: AuditLog;
  clock: Clock;
}

const SCIM_ACTOR = { type: 'scim' } as const;

/** The addresses a SCIM user goes by: its userName and emails, lower-cased. */
function addressesOf(scim: ScimUser): Set<string> {
  return new Set([scim.user_name, ...scim.emails.map((e) => e.value)].map((a) => a.toLowerCase()));
}

/** Whether a Tollgate user record is this SCIM user's (by email, or by IdP subject). */
export function mapsTo(scim: ScimUser, user: User): boolean {
  const addresses = addressesOf(scim);
  if (addresses.has(user.user_id.toLowerCase())) return true;
  if (user.user_email && addresses.has(user.user_email.toLowerCase())) return true;
  const linked = user.metadata?.oidc as { subject?: unknown } | undefined;
  return scim.external_id !== null && linked?.subject === scim.external_id;
}

/** Whether the IdP has deactivated (or deleted) the person signing in: their sign-in is refused. */
export async function deactivatedAtIdp(store: ScimUserStore, claims: IdentityClaims): Promise<boolean> {
  const email = claims.email?.toLowerCase();
  return (await store.list()).some(
    (scim) =>
      !scim.active &&
      ((email !== undefined && addressesOf(scim).has(email)) || scim.external_id === claims.subject),
  );
}

export interface Deprovisioned {
  user_ids: string[];
  keys_blocked: number;
  sessions_ended: number;
}

/**
 * Blocks every key of the person's user records and ends their sessions, each audited with the SCIM
 * client as the actor; `action` (`user.scim_deactivate`, `user.scim_delete`) is audited per record.
 */
export async function deprovision(
  deps: DeprovisionDeps,
  scim: ScimUser,
  action: string,
): Promise<Deprovisioned> {
  const people = (await deps.users.list()).filter((u) => mapsTo(scim, u));
  const user_ids = new Set(people.map((u) => u.user_id));
  const ts = () => deps.clock.now().toISOString();
  const theirKeys = (await deps.keys.list()).filter(
    (k) => k.user_id !== null && user_ids.has(k.user_id) && !k.blocked && !k.invalid,
  );
  for (const key of theirKeys) {
    await blockKey(deps.keys, key);
    await deps.audit.append({
      ts: ts(),
      actor: SCIM_ACTOR,
      action: 'key.block',
      target: `key:${key.key_id}`,
      details: { reason: action, scim_id: scim.id },
    });
  }
  const sessions = deps.sessions ? (await deps.sessions.list()).filter((s) => user_ids.has(s.user_id)) : [];
  for (const session of sessions) await deps.sessions?.delete(session.session_hash);
  const targets = people.length > 0 ? people.map((u) => `user:${u.user_id}`) : [`scim:${scim.id}`];
  for (const target of targets) {
    const user_id = target.slice('user:'.length);
    await deps.audit.append({
      ts: ts(),
      actor: SCIM_ACTOR,
      action,
      target,
      details: {
        scim_id: scim.id,
        keys_blocked: theirKeys.filter((k) => k.user_id === user_id).length,
        sessions_ended: sessions.filter((s) => s.user_id === user_id).length,
      },
    });
  }
  return { user_ids: [...user_ids], keys_blocked: theirKeys.length, sessions_ended: sessions.length };
}

/** Blocked even when regenerated meanwhile (its hash changed): read again by id and blocked then. */
export async function blockKey(keys: KeyStore, key: VirtualKey): Promise<void> {
  try {
    await keys.update({ ...key, blocked: true });
  } catch (err) {
    if (err instanceof NotFoundError) return;
    if (!(err instanceof ConflictError)) throw err;
    const current = await keys.getById(key.key_id);
    if (current) await keys.update({ ...current, blocked: true });
  }
}

/** Reactivation, audited: sign-in is allowed again; keys stay blocked (an admin unblocks them). */
export async function reactivate(deps: DeprovisionDeps, scim: ScimUser): Promise<void> {
  const people = (await deps.users.list()).filter((u) => mapsTo(scim, u));
  const targets = people.length > 0 ? people.map((u) => `user:${u.user_id}`) : [`scim:${scim.id}`];
  for (const target of targets)
    await deps.audit.append({
      ts: deps.clock.now().toISOString(),
      actor: SCIM_ACTOR,
      action: 'user.scim_reactivate',
      target,
      details: { scim_id: scim.id },
    });
}
