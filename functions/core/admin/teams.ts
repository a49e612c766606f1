import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { teamCounter } from '../governance/teams.ts';
import type { BudgetLedger } from '../ports/budgets.ts';
import type { Team, TeamStore } from '../ports/documents.ts';
import type { Logger } from '../ports/logging.ts';
import { withGiven } from './document-service.ts';
import { replaceDocument, requireDocument } from './documents.ts';
import {
  applyLimits,
  describeLimits,
  duration,
  id,
  limitFields,
  metadata,
  microsToUsd,
  modelList,
  NO_LIMITS,
  usd,
  usdToMicros,
} from './fields.ts';
import { describeSpend, periodSpend, silent } from './period-spend.ts';

const Member = z.strictObject({
  user_id: id,
  role: z.enum(['admin', 'user']).default('user'),
});

/** LiteLLM's `/team/new` body, plus Tollgate's `budget_mode`. */
const teamFields = {
  team_alias: id.nullish(),
  models: modelList.optional(),
  ...limitFields,
  /** The user budget of a person their first sign-in creates in the team (LiteLLM's name). */
  team_member_budget: usd.nullish(),
  team_member_budget_duration: duration.nullish(),
  metadata: metadata.optional(),
  blocked: z.boolean().optional(),
};
export const NewTeamSchema = z.strictObject({
  team_id: id.optional(),
  members_with_roles: z.array(Member).max(10_000).default([]),
  ...teamFields,
});
export const UpdateTeamSchema = z.strictObject({ team_id: id, ...teamFields });
export const MemberAddSchema = z.strictObject({
  team_id: id,
  // LiteLLM takes one member or a list; both become a list, so errors name the member and field.
  member: z.preprocess((v) => (Array.isArray(v) ? v : [v]), z.array(Member).min(1).max(10_000)),
});
export const DeleteTeamsSchema = z.strictObject({ team_ids: z.array(id).min(1).max(1000) });

/** A new team from a `/team/new` body. */
export function newTeam(input: z.infer<typeof NewTeamSchema>, now: Date): Team {
  const blank: Team = {
    team_id: input.team_id ?? randomUUID(),
    team_alias: null,
    models: [],
    ...NO_LIMITS,
    members: input.members_with_roles,
    metadata: {},
    blocked: false,
    created_at: now.toISOString(),
  };
  return applyTeamChanges(blank, input);
}

export function applyTeamChanges(
  team: Team,
  input: z.infer<typeof UpdateTeamSchema> | z.infer<typeof NewTeamSchema>,
): Team {
  const changed = withGiven(applyLimits(team, input), input, ['team_alias', 'models', 'metadata', 'blocked']);
  return {
    ...changed,
    ...(input.team_member_budget !== undefined && {
      member_max_budget_micros:
        input.team_member_budget === null ? null : usdToMicros(input.team_member_budget),
    }),
    ...(input.team_member_budget_duration !== undefined && {
      member_budget_duration: input.team_member_budget_duration,
    }),
  };
}

export async function addMembers(store: TeamStore, input: z.infer<typeof MemberAddSchema>): Promise<Team> {
  const team = await requireTeam(store, input.team_id);
  const added = input.member;
  const members = [...team.members.filter((m) => !added.some((a) => a.user_id === m.user_id)), ...added];
  const updated = { ...team, members };
  return replaceDocument(store, updated, 'Team');
}

export function requireTeam(store: TeamStore, team_id: string): Promise<Team> {
  return requireDocument(store, team_id, 'Team');
}

/** A team in LiteLLM's field names, with its spend in the current budget period. */
export async function describeTeam(
  ledger: BudgetLedger,
  team: Team,
  now: Date,
  timeZone = 'UTC',
  log: Logger = silent,
) {
  const read = await periodSpend(ledger, team, () => teamCounter(team, now, timeZone), {
    kind: 'team',
    id: team.team_id,
    log,
  });
  return {
    team_id: team.team_id,
    team_alias: team.team_alias,
    models: team.models,
    ...describeLimits(team),
    ...describeSpend(read),
    members_with_roles: team.members,
    team_member_budget:
      team.member_max_budget_micros == null ? null : microsToUsd(team.member_max_budget_micros),
    team_member_budget_duration: team.member_budget_duration ?? null,
    metadata: team.metadata,
    blocked: team.blocked,
    created_at: team.created_at,
  };
}
