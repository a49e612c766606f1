import { GatewayError, NotFoundError } from '../errors.ts';
import { generateSecretKey, presentedKey } from '../governance/keys.ts';
import type { BudgetLedger, Clock, KeyStore, Logger, TeamStore, VirtualKey } from '../ports.ts';
import {
  applyKeyChanges,
  type DeleteKeys,
  DeleteKeysSchema,
  describeKey,
  GenerateKeySchema,
  generateKey,
  hashOfRef,
  invalidBody,
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
import { parse } from './teams.ts';

export interface KeyRouteDeps {
  keys: KeyStore;
  teams: TeamStore;
  ledger: BudgetLedger;
  clock: Clock;
  log: Logger;
}

type Route = (request: Request, url: URL) => Promise<Response>;

/**
 * LiteLLM's key routes. All but `/key/info` are for the master key (`requireMaster` runs before the body
 * is read); a key may read its own info. Secrets are answered once, by generate and regenerate, and
 * never logged.
 */
export function keyRoutes(
  deps: KeyRouteDeps,
  helpers: {
    isMaster(headers: Headers): boolean;
    requireMaster(headers: Headers): void;
    readJson(request: Request): Promise<unknown>;
  },
): Record<string, Route> {
  const { keys, teams, ledger, clock, log } = deps;
  const body = async (request: Request) => {
    helpers.requireMaster(request.headers);
    return helpers.readJson(request);
  };
  const describe = async (key: VirtualKey) => describeKey(ledger, key, clock.now());
  const assertTeamExists = async (team_id: string | null | undefined) => {
    if (team_id && !(await teams.get(team_id)))
      throw new GatewayError('invalid_request', `No team '${team_id}': create it with /team/new first.`);
  };

  const update = async (request: Request) => {
    const input = parse(UpdateKeySchema, await body(request));
    const key = await requireKey(keys, input.key);
    await assertTeamExists(input.team_id);
    const updated = applyKeyChanges(key, input, clock.now());
    await saveKey(keys, updated);
    log.info('admin.key_updated', { key_id: key.key_id, actor: 'master' });
    return Response.json(await describe(updated));
  };

  const setBlocked = (blocked: boolean) => async (request: Request) => {
    const { key: ref } = parse(KeyRefSchema, await body(request));
    const key = await requireKey(keys, ref);
    const updated = { ...key, blocked };
    await saveKey(keys, updated);
    log.info(blocked ? 'admin.key_blocked' : 'admin.key_unblocked', { key_id: key.key_id, actor: 'master' });
    return Response.json(await describe(updated));
  };

  /** A new secret for the same record: alias, owner, budget and spend stay; the old secret stops. */
  const regenerate = async (request: Request, pathRef?: string) => {
    const input = parse(RegenerateKeySchema, await body(request));
    const ref = pathRef || input.key;
    if (!ref) throw new GatewayError('invalid_request', 'Pass the key in the body as {"key": "sk-..."}.');
    const key = await requireKey(keys, ref);
    await assertTeamExists(input.team_id);
    const secret = generateSecretKey();
    const regenerated = withSecret(applyKeyChanges(key, input, clock.now()), secret);
    await saveKey(keys, regenerated, key.hash);
    log.info('admin.key_regenerated', { key_id: key.key_id, actor: 'master' });
    return Response.json({ key: secret, ...(await describe(regenerated)) });
  };

  /** Every key the body names, or a 404 naming those it does not know; nothing is deleted until all resolve. */
  const keysToDelete = async (input: DeleteKeys) => {
    const found = new Map<string, VirtualKey>();
    const missing: string[] = [];
    const byRef = await Promise.all((input.keys ?? []).map((ref) => keys.get(hashOfRef(ref))));
    byRef.forEach((key, i) => {
      if (key) found.set(key.key_id, key);
      else missing.push(showRef(input.keys?.[i] ?? ''));
    });
    if (input.key_aliases) {
      const all = await keys.list();
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
      const input = parse(GenerateKeySchema, await body(request));
      await assertTeamExists(input.team_id);
      const { secret, key } = await generateKey(keys, input, clock.now());
      log.info('admin.key_generated', { key_id: key.key_id, key_alias: key.key_alias, actor: 'master' });
      return Response.json({ key: secret, ...(await describe(key)) });
    },

    // LiteLLM lets a key read its own info; the master key reads any.
    'GET /key/info': async (request, url) => {
      const asked = url.searchParams.get('key') ?? presentedKey(request.headers);
      if (!asked) throw new GatewayError('invalid_request', 'Pass the key as ?key=...');
      if (!helpers.isMaster(request.headers) && presentedKey(request.headers) !== asked) {
        throw new GatewayError('authentication', 'Use the master key, or the key itself, to read a key.');
      }
      const key = await keys.get(hashOfRef(asked));
      if (!key) throw new GatewayError('not_found', 'No such key.');
      return Response.json({ key: asked, info: await describe(key) });
    },

    'POST /key/update': update,
    'POST /key/block': setBlocked(true),
    'POST /key/unblock': setBlocked(false),
    'POST /key/regenerate': (request) => regenerate(request),
    'POST /key/{key}/regenerate': (request, url) => regenerate(request, pathSegment(url, 2)),

    'POST /key/delete': async (request) => {
      const input = parse(DeleteKeysSchema, await body(request));
      for (const key of await keysToDelete(input)) {
        await keys.delete(key.key_id).catch((err: unknown) => {
          // Deleted by someone else since it was found: the outcome asked for.
          if (!(err instanceof NotFoundError)) throw err;
        });
        log.info('admin.key_deleted', { key_id: key.key_id, actor: 'master' });
      }
      return Response.json({ deleted_keys: [...(input.keys ?? []), ...(input.key_aliases ?? [])] });
    },

    'GET /key/list': async (request, url) => {
      helpers.requireMaster(request.headers);
      const given = [...url.searchParams].filter(([, value]) => value !== '');
      const query = ListKeysQuerySchema.safeParse(Object.fromEntries(given));
      if (!query.success) throw invalidBody(query.error, 'query');
      const page = pageOfKeys(await keys.list(), query.data);
      return Response.json({ ...page, keys: await Promise.all(page.keys.map(describe)) });
    },
  };
}

function pathSegment(url: URL, index: number): string {
  const segment = url.pathname.split('/')[index] ?? '';
  try {
    return decodeURIComponent(segment);
  } catch (cause) {
    throw new GatewayError('invalid_request', 'The key in the path is not valid URL encoding.', { cause });
  }
}
