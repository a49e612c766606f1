import { GatewayError } from '../errors.ts';
import type { BudgetLedger, Clock, Logger, TeamStore } from '../ports.ts';
import {
  addMembers,
  createTeam,
  DeleteTeamsSchema,
  describeTeam,
  MemberAddSchema,
  NewTeamSchema,
  parse,
  requireTeam,
  UpdateTeamSchema,
  updateTeam,
} from './teams.ts';

export interface TeamRouteDeps {
  teams: TeamStore;
  ledger: BudgetLedger;
  clock: Clock;
  log: Logger;
}

type Route = (request: Request, url: URL) => Promise<Response>;

/** LiteLLM's team routes, all for the master key: `requireMaster` runs before each. */
export function teamRoutes(
  deps: TeamRouteDeps,
  helpers: { requireMaster(headers: Headers): void; readJson(request: Request): Promise<unknown> },
): Record<string, Route> {
  const { teams, ledger, clock, log } = deps;
  const body = async (request: Request) => {
    helpers.requireMaster(request.headers);
    return helpers.readJson(request);
  };
  const describe = async (team: Parameters<typeof describeTeam>[1]) =>
    describeTeam(ledger, team, clock.now());

  return {
    'POST /team/new': async (request) => {
      const team = await createTeam(teams, parse(NewTeamSchema, await body(request)), clock.now());
      log.info('admin.team_created', { team_id: team.team_id, actor: 'master' });
      return Response.json(await describe(team));
    },
    'POST /team/update': async (request) => {
      const team = await updateTeam(teams, parse(UpdateTeamSchema, await body(request)));
      log.info('admin.team_updated', { team_id: team.team_id, actor: 'master' });
      return Response.json(await describe(team));
    },
    'POST /team/member_add': async (request) => {
      const team = await addMembers(teams, parse(MemberAddSchema, await body(request)));
      log.info('admin.team_members_added', { team_id: team.team_id, actor: 'master' });
      return Response.json(await describe(team));
    },
    'POST /team/delete': async (request) => {
      const { team_ids } = parse(DeleteTeamsSchema, await body(request));
      for (const id of team_ids) await requireTeam(teams, id);
      await Promise.all(team_ids.map((id) => teams.delete(id)));
      log.info('admin.teams_deleted', { team_ids, actor: 'master' });
      return Response.json({ deleted_teams: team_ids });
    },
    'GET /team/info': async (request, url) => {
      helpers.requireMaster(request.headers);
      const id = url.searchParams.get('team_id');
      if (!id) throw new GatewayError('invalid_request', 'Pass the team as ?team_id=...');
      const team = await requireTeam(teams, id);
      return Response.json({ team_id: team.team_id, team_info: await describe(team) });
    },
    'GET /team/list': async (request) => {
      helpers.requireMaster(request.headers);
      return Response.json(await Promise.all((await teams.list()).map(describe)));
    },
  };
}
