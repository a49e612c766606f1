/**
 * The mapping from IdP groups to teams and roles, for admins: list (config's and saved ones, in the
 * order sign-in reads them), save (one per group; its team must exist), delete. A change applies at
 * each person's next sign-in. Each change is audited.
 */
import { z } from 'zod';
import { GroupMappingSchema, orderMappings } from '../auth/groups.ts';
import type { SignInDeps } from '../auth/routes.ts';
import { GatewayError } from '../errors.ts';
import type { AdminContext, Route } from './context.ts';
import { parse } from './fields.ts';

const DeleteMappingSchema = z.strictObject({ group: GroupMappingSchema.shape.group });

export function groupMappingRoutes(ctx: AdminContext, signIn: SignInDeps): Record<string, Route> {
  const { mappings, configMappings } = signIn;
  const inConfig = (group: string) => configMappings.some((m) => m.group === group);
  const refuseConfig = (group: string) => {
    if (inConfig(group))
      throw new GatewayError(
        'invalid_request',
        `Group '${group}' is mapped in config (TOLLGATE_OIDC_GROUP_MAP); change it there.`,
      );
  };

  return {
    'GET /sso/group_mapping': async (request) => {
      await ctx.requireMaster(request.headers);
      return Response.json({ mappings: orderMappings(configMappings, await mappings.list()) });
    },
    'POST /sso/group_mapping': async (request) => {
      const caller = await ctx.requireMaster(request.headers);
      const input = parse(GroupMappingSchema, await ctx.readJson(request));
      refuseConfig(input.group);
      if (input.team_id && !(await ctx.deps.teams.get(input.team_id)))
        throw new GatewayError(
          'invalid_request',
          `No team '${input.team_id}': create it with /team/new first.`,
        );
      const mapping = {
        group: input.group,
        team_id: input.team_id ?? null,
        role: input.role ?? null,
        source: 'api' as const,
      };
      if (await mappings.get(input.group)) await mappings.update(mapping);
      else await mappings.create(mapping);
      await ctx.audit(caller, 'sso.group_mapping_set', `group:${input.group}`, {
        team_id: mapping.team_id,
        role: mapping.role,
      });
      return Response.json(mapping);
    },
    'POST /sso/group_mapping/delete': async (request) => {
      const caller = await ctx.requireMaster(request.headers);
      const { group } = parse(DeleteMappingSchema, await ctx.readJson(request));
      refuseConfig(group);
      if (!(await mappings.get(group)))
        throw new GatewayError('not_found', `No mapping for group '${group}'.`);
      await mappings.delete(group);
      await ctx.audit(caller, 'sso.group_mapping_delete', `group:${group}`);
      return Response.json({ deleted: group });
    },
  };
}
