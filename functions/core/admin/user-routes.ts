import { z } from 'zod';
import { GatewayError } from '../errors.ts';
import type { User } from '../ports/documents.ts';
import type { AdminContext, Route } from './context.ts';
import { id as idField, parse, parseQuery } from './fields.ts';
import { describeKey, generateKey } from './keys.ts';
import { addMembers, requireTeam } from './teams.ts';
import {
  createUser,
  DeleteUsersSchema,
  describeUser,
  NewUserSchema,
  requireUser,
  UpdateUserSchema,
  updateUser,
} from './users.ts';

const UserInfoQuery = z.looseObject({ user_id: idField.optional() });

/**
 * LiteLLM's user routes. The master key manages people; a person's own key may read their own
 * `/user/info` (budget, spend, keys), nobody else's.
 */
export function userRoutes(ctx: AdminContext): Record<string, Route> {
  const { users, teams, keys, ledger, clock, policy, log } = ctx.deps;
  const master = { type: 'master' } as const;
  const body = async (request: Request) => {
    await ctx.requireMaster(request.headers);
    return ctx.readJson(request);
  };
  const describe = (user: User) => describeUser(ledger, user, clock.now(), policy.timeZone, log);

  return {
    'POST /user/new': async (request) => {
      const input = parse(NewUserSchema, await body(request));
      // Every named team must exist before anything is written.
      for (const team_id of input.teams ?? []) await requireTeam(teams, team_id);
      const user = await createUser(users, input, clock.now());
      await ctx.audit(master, 'user.new', `user:${user.user_id}`, { fields: Object.keys(input) });
      for (const team_id of input.teams ?? []) {
        await addMembers(teams, { team_id, member: [{ user_id: user.user_id, role: 'user' }] });
        await ctx.audit(master, 'team.member_add', `team:${team_id}`, { user_ids: [user.user_id] });
      }
      if (!input.auto_create_key) return Response.json(await describe(user));
      const { secret, key } = await generateKey(
        keys,
        {
          user_id: user.user_id,
          team_id: input.teams?.[0] ?? null,
          key_alias: input.key_alias,
          models: user.models,
        },
        clock.now(),
      );
      await ctx.audit(master, 'key.generate', `key:${key.key_id}`, {
        fields: ['user_id', 'team_id', 'models'],
      });
      return Response.json({ ...(await describe(user)), key: secret, key_id: key.key_id, token: key.hash });
    },
    'POST /user/update': async (request) => {
      const input = parse(UpdateUserSchema, await body(request));
      const user = await updateUser(users, input);
      await ctx.audit(master, 'user.update', `user:${user.user_id}`, { fields: Object.keys(input) });
      return Response.json(await describe(user));
    },
    'POST /user/delete': async (request) => {
      const { user_ids } = parse(DeleteUsersSchema, await body(request));
      for (const id of user_ids) await requireUser(users, id);
      await Promise.all(user_ids.map((id) => users.delete(id)));
      for (const id of user_ids) await ctx.audit(master, 'user.delete', `user:${id}`);
      return Response.json({ deleted_users: user_ids });
    },
    'GET /user/info': async (request, url) => {
      const caller = await ctx.caller(request.headers);
      const id =
        parseQuery(UserInfoQuery, url).user_id ??
        (caller.type === 'person' ? caller.user.user_id : undefined);
      if (!id) throw new GatewayError('invalid_request', 'Pass the person as ?user_id=...');
      if (caller.type === 'person' && caller.user.user_id !== id)
        throw new GatewayError('not_found', `No user '${id}'.`);
      const user = await requireUser(users, id);
      const [info, theirKeys, allTeams] = await Promise.all([describe(user), keys.list(), teams.list()]);
      const now = clock.now();
      return Response.json({
        user_id: user.user_id,
        user_info: info,
        keys: await Promise.all(
          theirKeys
            .filter((k) => k.user_id === id)
            .map((k) => describeKey(ledger, k, now, policy.timeZone, log)),
        ),
        teams: allTeams.filter((t) => t.members.some((m) => m.user_id === id)).map((t) => t.team_id),
      });
    },
    'GET /user/list': async (request) => {
      await ctx.requireMaster(request.headers);
      return Response.json({ users: await Promise.all((await users.list()).map(describe)) });
    },
  };
}
