import { z } from 'zod';
import type { Team } from '../ports/documents.ts';
import type { AdminContext, Route } from './context.ts';
import { id, parse, parseQuery } from './fields.ts';
import {
  addMembers,
  createTeam,
  DeleteTeamsSchema,
  describeTeam,
  MemberAddSchema,
  NewTeamSchema,
  requireTeam,
  UpdateTeamSchema,
  updateTeam,
} from './teams.ts';

const TeamInfoQuery = z.looseObject({ team_id: id });

/** LiteLLM's team routes, all for the master key (checked before the body is read); each change is audited. */
export function teamRoutes(ctx: AdminContext): Record<string, Route> {
  const { teams, ledger, clock, policy, log } = ctx.deps;
  const body = async (request: Request) => {
    await ctx.requireMaster(request.headers);
    return ctx.readJson(request);
  };
  const describe = async (team: Team) => describeTeam(ledger, team, clock.now(), policy.timeZone, log);
  const master = { type: 'master' } as const;

  return {
    'POST /team/new': async (request) => {
      const input = parse(NewTeamSchema, await body(request));
      const team = await createTeam(teams, input, clock.now());
      await ctx.audit(master, 'team.new', `team:${team.team_id}`, { fields: Object.keys(input) });
      return Response.json(await describe(team));
    },
    'POST /team/update': async (request) => {
      const input = parse(UpdateTeamSchema, await body(request));
      const team = await updateTeam(teams, input);
      await ctx.audit(master, 'team.update', `team:${team.team_id}`, { fields: Object.keys(input) });
      return Response.json(await describe(team));
    },
    'POST /team/member_add': async (request) => {
      const input = parse(MemberAddSchema, await body(request));
      const team = await addMembers(teams, input);
      const added = input.member.map((m) => m.user_id);
      await ctx.audit(master, 'team.member_add', `team:${team.team_id}`, { user_ids: added });
      return Response.json(await describe(team));
    },
    'POST /team/delete': async (request) => {
      const { team_ids } = parse(DeleteTeamsSchema, await body(request));
      for (const id of team_ids) await requireTeam(teams, id);
      await Promise.all(team_ids.map((id) => teams.delete(id)));
      for (const id of team_ids) await ctx.audit(master, 'team.delete', `team:${id}`);
      return Response.json({ deleted_teams: team_ids });
    },
    'GET /team/info': async (request, url) => {
      await ctx.requireMaster(request.headers);
      const { team_id } = parseQuery(TeamInfoQuery, url);
      const team = await requireTeam(teams, team_id);
      return Response.json({ team_id: team.team_id, team_info: await describe(team) });
    },
    'GET /team/list': async (request) => {
      await ctx.requireMaster(request.headers);
      return Response.json(await Promise.all((await teams.list()).map(describe)));
    },
  };
}
