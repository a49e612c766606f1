/**
 * SCIM 2.0 (RFC 7644) under `/scim/v2/` on the admin API: how Okta, Entra ID and OneLogin tell
 * Tollgate that a person is gone. Only Users, and only what deprovisioning needs: find (`filter`),
 * create, read, replace, patch, delete, and the ServiceProviderConfig. The IdP authenticates with its
 * own bearer token (TOLLGATE_SCIM_TOKEN), never the master key or a person's key. Bodies and tokens
 * are never logged.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { GatewayError } from '../errors.ts';
import { parseJsonObject, readBodyText } from '../json-body.ts';
import type { Logger } from '../ports/logging.ts';
import type { ScimUser, ScimUserStore } from '../ports/scim.ts';
import { type DeprovisionDeps, deprovision, reactivate } from './deprovision.ts';
import {
  applyPatch,
  listResponse,
  parseFilter,
  SCIM,
  ScimError,
  type ScimUserFields,
  scimErrorResponse,
  scimJson,
  toResource,
  userFields,
} from './resource.ts';

export const SCIM_PREFIX = '/scim/v2';

export interface ScimDeps extends DeprovisionDeps {
  /** The IdP's bearer token. */
  token: string;
  scimUsers: ScimUserStore;
  log: Logger;
  /** The dashboard's origin for a request (resources' `meta.location`); unset, the request URL's. */
  originOf?: (request: Request) => string;
}

/** SCIM bodies are one User resource or a few PATCH operations. */
const MAX_BODY_BYTES = 64 * 1024;
const MAX_PAGE = 200;

export function createScimApi(deps: ScimDeps): (request: Request) => Promise<Response> {
  const expected = digest(deps.token);
  const authorised = (headers: Headers) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(headers.get('authorization') ?? '');
    return match?.[1] !== undefined && timingSafeEqual(digest(match[1]), expected);
  };
  const now = () => deps.clock.now().toISOString();

  const find = async (id: string): Promise<ScimUser> => {
    const user = await deps.scimUsers.get(id);
    if (!user || user.deleted) throw new ScimError(404, `No User '${id}'.`);
    return user;
  };

  /** Saves the fields over `before`, and acts on a change of `active`. */
  const save = async (before: ScimUser, fields: ScimUserFields): Promise<ScimUser> => {
    await assertUniqueUserName(fields.user_name, before.id);
    const after: ScimUser = { ...before, ...fields, last_modified: now() };
    await deps.scimUsers.update(after);
    if (before.active && !after.active) await deprovision(deps, after, 'user.scim_deactivate');
    if (!before.active && after.active) await reactivate(deps, after);
    return after;
  };

  const assertUniqueUserName = async (user_name: string, id: string | null) => {
    const taken = (await deps.scimUsers.list()).some(
      (u) => !u.deleted && u.id !== id && u.user_name.toLowerCase() === user_name.toLowerCase(),
    );
    if (taken) throw new ScimError(409, `A User with userName '${user_name}' exists.`, 'uniqueness');
  };

  type ScimRoute = (request: Request, url: URL, id: string) => Promise<Response>;
  const routes: Record<string, ScimRoute> = {
    'GET /ServiceProviderConfig': async () =>
      scimJson({
        schemas: [SCIM.serviceProviderConfig],
        patch: { supported: true },
        bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
        filter: { supported: true, maxResults: MAX_PAGE },
        changePassword: { supported: false },
        sort: { supported: false },
        etag: { supported: false },
        authenticationSchemes: [
          {
            type: 'oauthbearertoken',
            name: 'Bearer token',
            description: 'The token set as TOLLGATE_SCIM_TOKEN, in Authorization: Bearer.',
          },
        ],
        meta: { resourceType: 'ServiceProviderConfig' },
      }),

    'GET /Users': async (request: Request, url: URL) => {
      const filter = url.searchParams.get('filter');
      const matches = filter ? parseFilter(filter) : () => true;
      const found = (await deps.scimUsers.list())
        .filter((u) => !u.deleted && matches(u))
        .sort((a, b) => a.created.localeCompare(b.created) || a.id.localeCompare(b.id));
      const startIndex = Math.max(1, Math.floor(Number(url.searchParams.get('startIndex') ?? 1)) || 1);
      const count = Math.min(MAX_PAGE, Math.max(0, Number(url.searchParams.get('count') ?? MAX_PAGE) || 0));
      const page = found.slice(startIndex - 1, startIndex - 1 + count);
      const base = baseOf(request);
      return scimJson(
        listResponse(
          page.map((u) => toResource(u, base)),
          found.length,
          startIndex,
        ),
      );
    },

    'POST /Users': async (request: Request) => {
      const fields = userFields(await readBody(request));
      await assertUniqueUserName(fields.user_name, null);
      // The IdP says this person exists now: a deleted record of the same userName gives way.
      for (const gone of (await deps.scimUsers.list()).filter(
        (u) => u.deleted && u.user_name.toLowerCase() === fields.user_name.toLowerCase(),
      ))
        await deps.scimUsers.delete(gone.id);
      const at = now();
      const user: ScimUser = { id: randomUUID(), ...fields, deleted: false, created: at, last_modified: at };
      await deps.scimUsers.create(user);
      await deps.audit.append({
        ts: at,
        actor: { type: 'scim' },
        action: 'scim.user_create',
        target: `scim:${user.id}`,
        details: { active: user.active },
      });
      if (!user.active) await deprovision(deps, user, 'user.scim_deactivate');
      const resource = toResource(user, baseOf(request));
      return scimJson(resource, 201, { location: resource.meta.location });
    },

    'GET /Users/{id}': async (request: Request, _url: URL, id: string) =>
      scimJson(toResource(await find(id), baseOf(request))),

    'PUT /Users/{id}': async (request: Request, _url: URL, id: string) => {
      const before = await find(id);
      const fields = userFields(await readBody(request));
      return scimJson(toResource(await save(before, fields), baseOf(request)));
    },

    'PATCH /Users/{id}': async (request: Request, _url: URL, id: string) => {
      const before = await find(id);
      const fields = applyPatch(before, await readBody(request));
      return scimJson(toResource(await save(before, fields), baseOf(request)));
    },

    'DELETE /Users/{id}': async (_request: Request, _url: URL, id: string) => {
      const before = await find(id);
      const gone: ScimUser = { ...before, active: false, deleted: true, last_modified: now() };
      await deps.scimUsers.update(gone);
      await deprovision(deps, gone, 'user.scim_delete');
      return new Response(null, { status: 204 });
    },
  };

  const baseOf = (request: Request) =>
    `${deps.originOf?.(request) ?? new URL(request.url).origin}${SCIM_PREFIX}`;

  return async (request) => {
    const url = new URL(request.url);
    const path = url.pathname.slice(SCIM_PREFIX.length).replace(/\/+$/, '');
    try {
      if (!authorised(request.headers))
        throw new ScimError(401, 'This endpoint needs the SCIM bearer token in Authorization: Bearer.');
      const [, resource = '', id, extra] = path.split('/');
      if (extra !== undefined) throw new ScimError(404, `No SCIM endpoint ${url.pathname}.`);
      const name = `${request.method} /${resource}${id === undefined ? '' : '/{id}'}`;
      const route = routes[name];
      if (!route) throw new ScimError(404, `No SCIM endpoint ${request.method} ${url.pathname}.`);
      return await route(request, url, decodeId(id));
    } catch (err) {
      const error = asScimError(err);
      if (error.status >= 500)
        deps.log.error('scim.internal_error', { method: request.method, error: String(err) });
      return scimErrorResponse(
        error,
        error.status === 401 ? { 'www-authenticate': 'Bearer realm="tollgate-scim"' } : undefined,
      );
    }
  };
}

async function readBody(request: Request): Promise<Record<string, unknown>> {
  const text = await readBodyText(request, MAX_BODY_BYTES, 'A SCIM request body');
  return parseJsonObject(text, 16);
}

function decodeId(id: string | undefined): string {
  if (id === undefined) return '';
  try {
    return decodeURIComponent(id);
  } catch {
    throw new ScimError(404, 'No such User.');
  }
}

function asScimError(err: unknown): ScimError {
  if (err instanceof ScimError) return err;
  if (err instanceof GatewayError && err.kind === 'invalid_request')
    return new ScimError(400, err.message, 'invalidSyntax', { cause: err });
  if (err instanceof GatewayError && err.status < 500)
    return new ScimError(err.status, err.message, undefined, { cause: err });
  return new ScimError(500, 'The SCIM endpoint failed.', undefined, { cause: err });
}

/** Both sides hashed, so the comparison is constant-time whatever the presented token's length. */
function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
