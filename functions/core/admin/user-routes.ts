import { z } from 'zod';
import { GatewayError } from '../errors.ts';
import type { User } from '../ports/documents.ts';
import { actorOf, isAdmin } from './access.ts';
import type { AdminContext, Route } from './context.ts';
import { documentService } from './document-service.ts';
import { erasePerson } from './erase.ts';
import { describeErasureJob, requestErasure } from './erasure-job.ts';
import { id as idField, parse, parseQuery } from './fields.ts';
import { describeKey, generateKey } from './keys.ts';
import { addMembers, requireTeam } from './teams.ts';
import {
  applyUserChanges,
  DeleteUsersSchema,
  describeUser,
  NewUserSchema,
  newUser,
  UpdateUserSchema,
} from './users.ts';

const UserInfoQuery = z.looseObject({ user_id: idField.optional() });
const EraseUserSchema = z.strictObject({ user_id: idField });

/**
 * LiteLLM's user routes. The master key manages people; a person's own key may read their own
 * `/user/info` (budget, spend, keys), nobody else's.
 */
/** People as admin documents: LiteLLM's `/user/new` and `/user/update` bodies, described with their spend. */
function userService(ctx: AdminContext) {
  const { users, ledger, clock, policy, log } = ctx.deps;
  return documentService(ctx, {
    label: 'User',
    store: users,
    audit: { action: (verb) => `user.${verb}`, target: (user_id) => `user:${user_id}` },
    create: { schema: NewUserSchema, build: newUser },
    update: { schema: UpdateUserSchema, id: (input) => input.user_id, apply: applyUserChanges },
    describe: (user: User) => describeUser(ledger, user, clock.now(), policy.timeZone, log),
  });
}

/**
 * LiteLLM's user routes. The master key manages people; a person's own key may read their own
 * `/user/info` (budget, spend, keys), nobody else's.
 */
export function userRoutes(ctx: AdminContext): Record<string, Route> {
  const { teams, keys, ledger, clock, policy, log } = ctx.deps;
  const service = userService(ctx);
  /** The admin calling (checked before the body is read), and the body. */
  const body = async (request: Request) => {
    const by = await ctx.requireMaster(request.headers);
    return { by, body: await ctx.readJson(request) };
  };
  const describe = service.describe;

  return {
    'POST /user/new': async (request) => {
      const { by: master, body: raw } = await body(request);
      const { doc: user, input } = await service.create(
        raw,
        async ({ teams: named }) => {
          // Every named team must exist before anything is written.
          for (const team_id of named ?? []) await requireTeam(teams, team_id);
        },
        master,
      );
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
      const { by, body: raw } = await body(request);
      return Response.json(await describe(await service.update(raw, by)));
    },
    'POST /user/delete': async (request) => {
      const { by, body: raw } = await body(request);
      const { user_ids } = parse(DeleteUsersSchema, raw);
      await service.remove(user_ids, by);
      return Response.json({ deleted_users: user_ids });
    },
    'POST /user/erase': async (request) => {
      const { by, body: raw } = await body(request);
      const { user_id } = parse(EraseUserSchema, raw);
      const erasure = ctx.deps.erasure;
      if (!erasure) throw new GatewayError('invalid_request', 'Erasure is not available on this deployment.');
      if ('jobs' in erasure) {
        // On AWS: the rewrite takes Athena runs, so the rollup function works it; the keys stop now.
        const job = await requestErasure(
          { ...erasure, keys, users: ctx.deps.users, clock },
          user_id,
          actorOf(by),
        );
        await ctx.audit(by, 'user.erase_requested', `user:${user_id}`, {
          job_id: job.job_id,
          keys_blocked: job.keys_blocked,
        });
        return Response.json(describeErasureJob(job), { status: 202 });
      }
      const erased = await erasePerson({ ...erasure, keys, teams, users: ctx.deps.users }, user_id);
      const { user_id: _id, ...counts } = erased;
      await ctx.audit(by, 'user.erase', `user:${user_id}`, counts);
      return Response.json(erased);
    },
    'GET /user/erase/{job_id}': async (request, url) => {
      await ctx.requireMaster(request.headers);
      const erasure = ctx.deps.erasure;
      const jobId = decodeURIComponent(url.pathname.split('/').filter(Boolean).at(-1) ?? '');
      const job = erasure && 'jobs' in erasure ? await erasure.jobs.get(jobId) : undefined;
      // Locally an erasure is done when POST /user/erase answers: there are no jobs to ask about.
      if (!job) throw new GatewayError('not_found', `No erasure job '${jobId}'.`);
      return Response.json(describeErasureJob(job));
    },
    'GET /user/info': async (request, url) => {
      const caller = await ctx.caller(request.headers);
      const id =
        parseQuery(UserInfoQuery, url).user_id ??
        (caller.type === 'person' ? caller.user.user_id : undefined);
      if (!id) throw new GatewayError('invalid_request', 'Pass the person as ?user_id=...');
      if (caller.type === 'person' && !isAdmin(caller) && caller.user.user_id !== id)
        throw new GatewayError('not_found', `No user '${id}'.`);
      const user = await service.require(id);
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
      return Response.json({ users: await service.list() });
    },
  };
}
