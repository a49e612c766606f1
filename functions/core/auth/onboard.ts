/**
 * A person's record at sign-in: created at their first, in the team their groups name, with the
 * user budget that team gives its members; their role and team follow their groups at every sign-in.
 */

import { NO_LIMITS } from '../admin/fields.ts';
import type { Team, TeamStore, User, UserStore } from '../ports/documents.ts';
import type { IdentityClaims } from '../ports/identity.ts';
import type { Placement } from './groups.ts';

/** Why a sign-in that passed the IdP's checks still gets no session: shown to the person as is. */
export class SignInDenied extends Error {
  override name = 'SignInDenied';
  constructor(
    readonly status: number,
    readonly title: string,
    message: string,
  ) {
    super(message);
  }
}

interface OnboardDeps {
  users: UserStore;
  teams: TeamStore;
}

/** The person's user id: their email when the IdP gives one (what admins already use), else `oidc:<sub>`. */
export function userIdOf(claims: IdentityClaims): string {
  return claims.email ?? `oidc:${claims.subject}`.slice(0, 256);
}

/** The person's user record, created or brought in line with their groups; refused when blocked or taken. */
export async function onboard(
  deps: OnboardDeps,
  claims: IdentityClaims,
  place: Placement,
  now: Date,
): Promise<{ user: User; created: boolean }> {
  const team = place.team_id === null ? null : await requireTeam(deps.teams, place.team_id);
  const user_id = userIdOf(claims);
  const link = { issuer: claims.issuer, subject: claims.subject, groups: claims.groups };
  const existing = await deps.users.get(user_id);
  if (existing) {
    const linked = existing.metadata.oidc as { issuer?: string; subject?: string } | undefined;
    if (linked && (linked.issuer !== claims.issuer || linked.subject !== claims.subject))
      throw new SignInDenied(
        409,
        'This account is taken',
        `The user '${user_id}' belongs to another identity at the IdP. Ask an admin.`,
      );
    if (existing.blocked || existing.invalid)
      throw new SignInDenied(
        403,
        'Your account is blocked',
        `The user '${user_id}' is blocked. Ask an admin.`,
      );
    const updated: User = {
      ...existing,
      user_role: place.role,
      metadata: { ...existing.metadata, oidc: link },
    };
    await deps.users.update(updated);
    if (team) await joinTeam(deps.teams, team, user_id);
    return { user: updated, created: false };
  }
  const user: User = {
    user_id,
    user_alias: claims.name,
    user_email: claims.email,
    user_role: place.role,
    models: [],
    ...NO_LIMITS,
    max_budget_micros: team?.member_max_budget_micros ?? null,
    budget_duration: team?.member_budget_duration ?? null,
    metadata: { oidc: link },
    blocked: false,
    created_at: now.toISOString(),
  };
  await deps.users.create(user);
  if (team) await joinTeam(deps.teams, team, user_id);
  return { user, created: true };
}

async function requireTeam(teams: TeamStore, team_id: string): Promise<Team> {
  const team = await teams.get(team_id);
  if (!team || team.invalid)
    throw new SignInDenied(
      403,
      'Your team is not set up yet',
      `Your groups place you in team '${team_id}', which does not exist in Tollgate yet. Ask an admin to create it.`,
    );
  if (team.blocked)
    throw new SignInDenied(403, 'Your team is blocked', `Team '${team_id}' is blocked. Ask an admin.`);
  return team;
}

async function joinTeam(teams: TeamStore, team: Team, user_id: string): Promise<void> {
  if (team.members.some((m) => m.user_id === user_id)) return;
  await teams.update({ ...team, members: [...team.members, { user_id, role: 'user' }] });
}
