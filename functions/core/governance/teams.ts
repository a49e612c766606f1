import { GatewayError } from '../errors.ts';
import type { BudgetCounter } from '../ports/budgets.ts';
import type { Team } from '../ports/documents.ts';
import { allowsModel, assertAllowsModel } from './allow-list.ts';
import { budgetCounter } from './budgets.ts';

/** Rejects requests on a blocked team's keys with 403. */
export function assertTeamUsable(team: Team): void {
  if (team.invalid)
    throw new GatewayError(
      'permission',
      `Team '${team.team_id}' cannot be read (${team.invalid}): ask an admin.`,
    );
  if (team.blocked)
    throw new GatewayError('permission', `Team '${team.team_alias ?? team.team_id}' is blocked.`);
}

export function isModelAllowedForTeam(team: Team, requested: string, canonical: string): boolean {
  return allowsModel(team.models, requested, canonical);
}

export function assertTeamModelAllowed(team: Team, requested: string, canonical: string): void {
  assertAllowsModel(`Team '${team.team_alias ?? team.team_id}'`, team.models, requested, canonical);
}

/** The team's budget counter for the period containing `now`, shared by every key of the team. */
export function teamCounter(team: Team, now: Date, timeZone = 'UTC'): BudgetCounter {
  return budgetCounter(
    {
      scope: 'team',
      scope_id: team.team_id,
      label: team.team_alias ?? team.team_id,
      limit_micros: team.max_budget_micros,
      soft_limit_micros: team.soft_budget_micros,
      mode: team.budget_mode,
      duration: team.budget_duration,
      anchor: team.created_at,
    },
    now,
    timeZone,
  );
}
