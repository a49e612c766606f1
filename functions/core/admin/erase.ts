/**
 * Erasure of one person, for the requests an organisation must honour: their usage records go from the
 * lake (every day partition that held one is rewritten without them, and that day's aggregates are
 * dropped, to be built again without them), then their keys, their team memberships and their own
 * document. The budget counters keep their sums (no person's data beyond an id), and the audit entry
 * says what was removed, never what it held.
 */

import type { TeamStore, UserStore } from '../ports/documents.ts';
import type { ErasureCounts } from '../ports/erasure.ts';
import type { KeyStore } from '../ports/keys.ts';
import type { LakeAggregates, LakeEraser } from '../ports/lake.ts';
import { replaceDocument } from './documents.ts';

export interface ErasureDeps {
  lake: LakeEraser;
  aggregates?: LakeAggregates;
  keys: KeyStore;
  teams: TeamStore;
  users: UserStore;
}

/** What was removed of one person (the same counts an AWS erasure job ends with). */
export interface ErasureResult extends ErasureCounts {
  user_id: string;
}

export async function erasePerson(deps: ErasureDeps, userId: string): Promise<ErasureResult> {
  const lake = await deps.lake.eraseUser(userId);
  for (const day of lake.days) await deps.aggregates?.remove?.(day);
  return {
    user_id: userId,
    days: lake.days,
    records: lake.records,
    telemetry: lake.telemetry,
    ...(await removeDocuments(deps, userId)),
  };
}

/** The person's keys, their team memberships and their own document, once the lake holds nothing of theirs. */
export async function removeDocuments(
  deps: Pick<ErasureDeps, 'keys' | 'teams' | 'users'>,
  userId: string,
): Promise<{ keys: number; teams: number; document: boolean }> {
  const keys = (await deps.keys.list()).filter((k) => k.user_id === userId);
  for (const key of keys) await deps.keys.delete(key.key_id);
  const teams = (await deps.teams.list()).filter((t) => t.members.some((m) => m.user_id === userId));
  for (const team of teams)
    await replaceDocument(
      deps.teams,
      { ...team, members: team.members.filter((m) => m.user_id !== userId) },
      'Team',
    );
  const user = await deps.users.get(userId);
  if (user) await deps.users.delete(userId);
  return { keys: keys.length, teams: teams.length, document: user !== undefined };
}
