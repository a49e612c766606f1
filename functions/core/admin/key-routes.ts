import { GatewayError, NotFoundError } from '../errors.ts';
import { generateSecretKey, presentedKey } from '../governance/keys.ts';
import type { VirtualKey } from '../ports/keys.ts';
import { type Caller, isAdmin, mayManage } from './access.ts';
import type { AdminContext, Route } from './context.ts';
import { parse, parseQuery, pathParam } from './fields.ts';
import {
  applyKeyChanges,
  type DeleteKeys,
  DeleteKeysSchema,
  describeKey,
  GenerateKeySchema,
  generateKey,
  hashOfRef,
  KeyInfoQuerySchema,
  KeyRefSchema,
  ListKeysQuerySchema,
  pageOfKeys,
  RegenerateKeySchema,
  requireKey,
  saveKey,
  showRef,
  UpdateKeySchema,
  withSecret,
} from './keys.ts';
import { boundSelfServiceKey, checkSelfServiceRequest, personOf } from './self-service.ts';

/**
 * LiteLLM's key routes. The master key may do everything; a person's own key may generate, list,
 * block (revoke) and delete that person's keys and read their info. Secrets are answered once, by
 * generate and regenerate, and never logged. Every change lands in the audit trail.
 */
export function keyRoutes(ctx: AdminContext): Record<string, Route> {
  const { keys, teams, ledger, clock, policy, log } = ctx.deps;
  const describe = async (key: VirtualKey) => describeKey(ledger, key, clock.now(), policy.timeZone, log);
  const assertTeamExists = async (team_id: string | null | undefined) => {
    if (team_id && !(await teams.get(team_id)))
      throw new GatewayError('invalid_request', `No team '${team_id}': create it with /team/new first.`);
  };
  /** The key, if the caller may manage it; someone else's key is answered as not found. */
  const ownKey = async (caller: Caller, ref: string) => {
    const key = await requireKey(keys, ref);
    if (!mayManage(caller, key)) throw new GatewayError('not_found', `No key '${showRef(ref)}'.`);
    return key;
  };

  const update = async (request: Request) => {
    const by = await ctx.requireMaster(request.headers);
    const input = parse(UpdateKeySchema, await ctx.readJson(request));
    const key = await requireKey(keys, input.key);
    await assertTeamExists(input.team_id);
    const updated = applyKeyChanges(key, input, clock.now());
    await saveKey(keys, updated);
    await ctx.audit(by, 'key.update', `key:${key.key_id}`, changedFields(input));
    return Response.json(await describe(updated));
  };

  const setBlocked = (blocked: boolean) => async (request: Request) => {
    // A person may revoke their own keys; only an admin may unblock one.
    const caller = blocked ? await ctx.caller(request.headers) : await ctx.requireMaster(request.headers);
    const { key: ref } = parse(KeyRefSchema, await ctx.readJson(request));
    const key = await ownKey(caller, ref);
    const updated = { ...key, blocked };
    await saveKey(keys, updated);
    await ctx.audit(caller, blocked ? 'key.block' : 'key.unblock', `key:${key.key_id}`);
    return Response.json(await describe(updated));
  };

  /** A new secret for the same record: alias, owner, budget and spend stay; the old secret stops. */
  const regenerate = async (request: Request, pathRef?: string) => {
    const by = await ctx.requireMaster(request.headers);
    const input = parse(RegenerateKeySchema, await ctx.readJson(request));
    const ref = pathRef || input.key;
    if (!ref) throw new GatewayError('invalid_request', 'Pass the key in the body as {"key": "sk-..."}.');
    const key = await requireKey(keys, ref);
    await assertTeamExists(input.team_id);
    const secret = generateSecretKey();
    const regenerated = withSecret(applyKeyChanges(key, input, clock.now()), secret);
    await saveKey(keys, regenerated, key.hash);
    await ctx.audit(by, 'key.regenerate', `key:${key.key_id}`, changedFields(input));
    return Response.json({ key: secret, ...(await describe(regenerated)) });
  };

  /** Every key the body names, or a 404 naming those it does not know; nothing is deleted until all resolve. */
  const keysToDelete = async (caller: Caller, input: DeleteKeys) => {
    const found = new Map<string, VirtualKey>();
    const missing: string[] = [];
    const byRef = await Promise.all((input.keys ?? []).map((ref) => keys.get(hashOfRef(ref))));
    byRef.forEach((key, i) => {
      if (key && mayManage(caller, key)) found.set(key.key_id, key);
      else missing.push(showRef(input.keys?.[i] ?? ''));
    });
    if (input.key_aliases) {
      const all = (await keys.list()).filter((k) => mayManage(caller, k));
      for (const alias of input.key_aliases) {
        const named = all.filter((k) => k.key_alias === alias);
        if (named.length === 0) missing.push(alias);
        for (const k of named) found.set(k.key_id, k);
      }
    }
    if (missing.length > 0) {
      const names = missing.map((m) => `'${m}'`).join(', ');
      throw new GatewayError('not_found', `No key ${names}: nothing was deleted.`);
    }
    return [...found.values()];
  };

  return {
    'POST /key/generate': async (request) => {
      const caller = await ctx.caller(request.headers);
      const input = parse(GenerateKeySchema, await ctx.readJson(request));
      let shape: ((key: VirtualKey) => VirtualKey) | undefined;
      if (caller.type === 'person' && !isAdmin(caller)) {
        const held = (await keys.list()).filter((k) => k.user_id === caller.user.user_id).length;
        const person = await personOf(keys, caller, clock.now());
        checkSelfServiceRequest(person, input, held);
        shape = (key) => boundSelfServiceKey(person, key, input);
      }
      await assertTeamExists(input.team_id);
      const { secret, key } = await generateKey(keys, input, clock.now(), shape);
      await ctx.audit(caller, 'key.generate', `key:${key.key_id}`, changedFields(input));
      return Response.json({ key: secret, ...(await describe(key)) });
    },

    // LiteLLM lets a key read its own info; the master key reads any, a person any of theirs.
    'GET /key/info': async (request, url) => {
      const caller = await ctx.caller(request.headers);
      const asked = parseQuery(KeyInfoQuerySchema, url).key ?? presentedKey(request.headers);
      if (!asked) throw new GatewayError('invalid_request', 'Pass the key as ?key=...');
      const key = await ownKey(caller, asked);
      return Response.json({ key: asked, info: await describe(key) });
    },

    'POST /key/update': update,
    'POST /key/block': setBlocked(true),
    'POST /key/unblock': setBlocked(false),
    'POST /key/regenerate': (request) => regenerate(request),
    'POST /key/{key}/regenerate': (request, url) => regenerate(request, pathParam(url, 2, 'key')),

    'POST /key/delete': async (request) => {
      const caller = await ctx.caller(request.headers);
      const input = parse(DeleteKeysSchema, await ctx.readJson(request));
      for (const key of await keysToDelete(caller, input)) {
        await keys.delete(key.key_id).catch((err: unknown) => {
          // Deleted by someone else since it was found: the outcome asked for.
          if (!(err instanceof NotFoundError)) throw err;
        });
        await ctx.audit(caller, 'key.delete', `key:${key.key_id}`);
      }
      return Response.json({ deleted_keys: [...(input.keys ?? []), ...(input.key_aliases ?? [])] });
    },

    'GET /key/list': async (request, url) => {
      const caller = await ctx.caller(request.headers);
      const query = parseQuery(ListKeysQuerySchema, url);
      const visible = (await keys.list()).filter((k) => mayManage(caller, k));
      const page = pageOfKeys(visible, query);
      return Response.json({ ...page, keys: await Promise.all(page.keys.map(describe)) });
    },
  };
}

/** The names of the fields a request set, for the audit trail (values may be secrets or prompts). */
function changedFields(input: Record<string, unknown>): { fields: string[] } {
  return { fields: Object.keys(input).filter((k) => k !== 'key' && input[k] !== undefined) };
}
