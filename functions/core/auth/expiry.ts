/**
 * Expired sign-ins and sessions, deleted. On AWS the table's TTL does it; dynalite has none, so the
 * local runtime calls this hourly. Both are refused once expired whether or not they are gone yet.
 */
import type { PendingSignInStore, SessionStore } from '../ports/identity.ts';

export async function sweepExpired(
  stores: { pending: PendingSignInStore; sessions: SessionStore },
  now: Date,
): Promise<{ signIns: number; sessions: number }> {
  const expired = <T extends { expires_at: string }>(docs: T[]) =>
    docs.filter((d) => Date.parse(d.expires_at) <= now.getTime());
  const signIns = expired(await stores.pending.list());
  const sessions = expired(await stores.sessions.list());
  await Promise.all([
    ...signIns.map((p) => stores.pending.delete(p.state_hash)),
    ...sessions.map((s) => stores.sessions.delete(s.session_hash)),
  ]);
  return { signIns: signIns.length, sessions: sessions.length };
}
