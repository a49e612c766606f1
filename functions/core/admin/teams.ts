import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { ConflictError, GatewayError, NotFoundError } from '../errors.ts';
import { isValidDuration } from '../governance/periods.ts';
import { teamCounter } from '../governance/teams.ts';
import type { BudgetLedger, Team, TeamStore } from '../ports.ts';
import { invalidBody, microsToUsd, usdToMicros } from './keys.ts';

const duration = z
  .string()
  .refine(isValidDuration, { message: 'expected daily|weekly|monthly or <n>(s|m|h|d|w|mo)' });
const Member = z.object({
  user_id: z.string().min(1).max(256),
  role: z.enum(['admin', 'user']).default('user'),
});

/** LiteLLM's `/team/new` body. Unknown fields are accepted and ignored, as LiteLLM does. */
export const NewTeamSchema = z.looseObject({
  team_id: z.string().min(1).max(256).optional(),
  team_alias: z.string().min(1).max(256).nullish(),
  models: z.array(z.string().min(1)).default([]),
  max_budget: z.number().nonnegative().nullish(),
  budget_duration: duration.nullish(),
  members_with_roles: z.array(Member).default([]),
  metadata: z.record(z.string(), z.unknown()).default({}),
  blocked: z.boolean().default(false),
});

export const UpdateTeamSchema = z.looseObject({
  team_id: z.string().min(1),
  team_alias: z.string().min(1).max(256).nullish(),
  models: z.array(z.string().min(1)).optional(),
  max_budget: z.number().nonnegative().nullish(),
  budget_duration: duration.nullish(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  blocked: z.boolean().optional(),
});

export const MemberAddSchema = z.object({
  team_id: z.string().min(1),
  member: z.union([Member, z.array(Member).min(1)]),
});

export const DeleteTeamsSchema = z.object({ team_ids: z.array(z.string().min(1)).min(1) });

export function parse<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw invalidBody(parsed.error);
  return parsed.data;
}

export async function createTeam(
  store: TeamStore,
  input: z.infer<typeof NewTeamSchema>,
  now: Date,
): Promise<Team> {
  const team: Team = {
    team_id: input.team_id ?? randomUUID(),
    team_alias: input.team_alias ?? null,
    models: input.models,
    max_budget_micros: input.max_budget == null ? null : usdToMicros(input.max_budget),
    budget_duration: input.budget_duration ?? null,
    members: input.members_with_roles,
    metadata: input.metadata,
    blocked: input.blocked,
    created_at: now.toISOString(),
  };
  try {
    await store.create(team);
  } catch (err) {
    if (err instanceof ConflictError)
      throw new GatewayError('invalid_request', `Team '${team.team_id}' already exists.`);
    throw err;
  }
  return team;
}

export async function updateTeam(store: TeamStore, input: z.infer<typeof UpdateTeamSchema>): Promise<Team> {
  const team = await requireTeam(store, input.team_id);
  const updated: Team = {
    ...team,
    ...(input.team_alias !== undefined && { team_alias: input.team_alias }),
    ...(input.models !== undefined && { models: input.models }),
    ...(input.max_budget !== undefined && {
      max_budget_micros: input.max_budget === null ? null : usdToMicros(input.max_budget),
    }),
    ...(input.budget_duration !== undefined && { budget_duration: input.budget_duration }),
    ...(input.metadata !== undefined && { metadata: input.metadata }),
    ...(input.blocked !== undefined && { blocked: input.blocked }),
  };
  await saveExisting(store, updated);
  return updated;
}

export async function addMembers(store: TeamStore, input: z.infer<typeof MemberAddSchema>): Promise<Team> {
  const team = await requireTeam(store, input.team_id);
  const added = Array.isArray(input.member) ? input.member : [input.member];
  const members = [...team.members.filter((m) => !added.some((a) => a.user_id === m.user_id)), ...added];
  const updated = { ...team, members };
  await saveExisting(store, updated);
  return updated;
}

export async function requireTeam(store: TeamStore, team_id: string): Promise<Team> {
  const team = await store.get(team_id);
  if (!team) throw new GatewayError('not_found', `No team '${team_id}'.`);
  return team;
}

async function saveExisting(store: TeamStore, team: Team): Promise<void> {
  try {
    await store.update(team);
  } catch (err) {
    if (err instanceof NotFoundError) throw new GatewayError('not_found', `No team '${team.team_id}'.`);
    throw err;
  }
}

/** A team in LiteLLM's field names, with its spend in the current budget period. */
export async function describeTeam(ledger: BudgetLedger, team: Team, now: Date) {
  const counter = teamCounter(team, now);
  const { spent_micros } = await ledger.read(counter);
  return {
    team_id: team.team_id,
    team_alias: team.team_alias,
    models: team.models,
    max_budget: team.max_budget_micros === null ? null : microsToUsd(team.max_budget_micros),
    budget_duration: team.budget_duration,
    budget_reset_at: counter.resets_at,
    spend: microsToUsd(spent_micros),
    spend_micros: spent_micros,
    members_with_roles: team.members,
    metadata: team.metadata,
    blocked: team.blocked,
    created_at: team.created_at,
  };
}
