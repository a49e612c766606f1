import { z } from 'zod';
import type { Team } from '../ports/documents.ts';
import type { AdminContext, Route } from './context.ts';
import { documentService } from './document-service.ts';
import { id, parse, parseQuery } from './fields.ts';
import {
  addMembers,
  applyTeamChanges,
  DeleteTeamsSchema,
  describeTeam,
  MemberAddSchema,
  NewTeamSchema,
  newTeam,
  UpdateTeamSchema,
} from './teams.ts';

const TeamInfoQuery = z.looseObject({ team_id: id });

/** Teams as admin documents: LiteLLM's `/team/new` and `/team/update` bodies, described with their spend. */
export function teamService(ctx: AdminContext) {
  const { teams, ledger, clock, policy, log } = ctx.deps;
  return documentService(ctx, {
    label: 'Team',
    store: teams,
    audit: { action: (verb) => `team.${verb}`, target: (team_id) => `team:${team_id}` },
    create: { schema: NewTeamSchema, build: newTeam },
    update: { schema: UpdateTeamSchema, id: (input) => input.team_id, apply: applyTeamChanges },
    describe: (team: Team) => describeTeam(ledger, team, clock.now(), policy.timeZone, log),
  });
}

/** LiteLLM's team routes, all for the master key (checked before the body is read); each change is audited. */
export function teamRoutes(ctx: AdminContext): Record<string, Route> {
  const { teams } = ctx.deps;
  const service = teamService(ctx);
  /** The admin calling (checked before the body is read), and the body. */
  const body = async (request: Request) => {
    const by = await ctx.requireMaster(request.headers);
    return { by, body: await ctx.readJson(request) };
  };

  return {
    'POST /team/new': async (request) => {
      const { by, body: input } = await body(request);
      const { doc } = await service.create(input, undefined, by);
      return Response.json(await service.describe(doc));
    },
    'POST /team/update': async (request) => {
      const { by, body: input } = await body(request);
      return Response.json(await service.describe(await service.update(input, by)));
    },
    'POST /team/member_add': async (request) => {
      const { by, body: raw } = await body(request);
      const input = parse(MemberAddSchema, raw);
      const team = await addMembers(teams, input);
      const added = input.member.map((m) => m.user_id);
      await ctx.audit(by, 'team.member_add', `team:${team.team_id}`, { user_ids: added });
      return Response.json(await service.describe(team));
    },
    'POST /team/delete': async (request) => {
      const { by, body: raw } = await body(request);
      const { team_ids } = parse(DeleteTeamsSchema, raw);
      await service.remove(team_ids, by);
      return Response.json({ deleted_teams: team_ids });
    },
    'GET /team/info': async (request, url) => {
      await ctx.requireMaster(request.headers);
      const { team_id } = parseQuery(TeamInfoQuery, url);
      const team = await service.require(team_id);
      return Response.json({ team_id: team.team_id, team_info: await service.describe(team) });
    },
    'GET /team/list': async (request) => {
      await ctx.requireMaster(request.headers);
      return Response.json(await service.list());
    },
  };
}
