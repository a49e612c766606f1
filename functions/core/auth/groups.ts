/**
 * Groups are the org chart: the IdP's group claims decide a person's team and role at each sign-in.
 * Mappings come from config (TOLLGATE_OIDC_GROUP_MAP) and from the admin API (`/sso/group_mapping`).
 */
import { z } from 'zod';
import { configError, parseJsonSetting } from '../config-error.ts';
import type { UserRole } from '../ports/documents.ts';
import type { GroupMapping } from '../ports/identity.ts';

const role = z.enum(['proxy_admin', 'proxy_admin_viewer', 'internal_user', 'internal_user_viewer']);
const group = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^\p{Cc}]+$/u, 'no control characters');

export const GroupMappingSchema = z
  .strictObject({
    group,
    team_id: z.string().min(1).max(256).nullish(),
    role: role.nullish(),
  })
  .refine((m) => m.team_id != null || m.role != null, 'a mapping names a team_id, a role, or both');

/** Higher wins when a person's groups give several roles. */
const RANK: Record<UserRole, number> = {
  internal_user_viewer: 0,
  internal_user: 1,
  proxy_admin_viewer: 2,
  proxy_admin: 3,
};

/** Where a person's groups put them: their team (null for an org-wide admin or viewer) and role. */
export interface Placement {
  team_id: string | null;
  role: UserRole;
}

/** The mappings kept in config; a mistake stops the start with an error naming the variable. */
export function mappingsFromConfig(json: string | undefined): GroupMapping[] {
  if (!json) return [];
  const value = parseJsonSetting('TOLLGATE_OIDC_GROUP_MAP', json);
  const parsed = z.array(GroupMappingSchema).max(1000).safeParse(value);
  if (!parsed.success)
    throw configError('TOLLGATE_OIDC_GROUP_MAP', parsed.error.issues, undefined, parsed.error);
  return parsed.data.map((m) => ({
    group: m.group,
    team_id: m.team_id ?? null,
    role: m.role ?? null,
    source: 'config',
  }));
}

/**
 * The team of the first mapping (config's first, in order, then the API's by group name) that names
 * a team, and the highest role any of the person's groups gives (`internal_user` when only a team
 * does). Null when no group gives a team and none makes the person an admin or viewer: such a person
 * has no place to spend from.
 */
export function placementOf(groups: string[], mappings: GroupMapping[]): Placement | null {
  const held = new Set(groups);
  const matched = mappings.filter((m) => held.has(m.group));
  const team_id = matched.find((m) => m.team_id !== null)?.team_id ?? null;
  const roles = matched.map((m) => m.role).filter((r): r is UserRole => r !== null);
  const best = roles.sort((a, b) => RANK[b] - RANK[a])[0];
  if (team_id === null && best !== 'proxy_admin' && best !== 'proxy_admin_viewer') return null;
  return { team_id, role: best ?? 'internal_user' };
}

/** Config's mappings first, in their order; then the API's, by group name. */
export function orderMappings(config: GroupMapping[], saved: GroupMapping[]): GroupMapping[] {
  return [...config, ...[...saved].sort((a, b) => a.group.localeCompare(b.group))];
}
