/**
 * SCIM 2.0's wire format for the little Tollgate takes from the IdP: the User resource (RFC 7643 §4.1),
 * the ListResponse, errors (RFC 7644 §3.12), PATCH operations (RFC 7644 §3.5.2) and the `eq` filters
 * IdPs search with (RFC 7644 §3.4.2.2). Attribute names are case-insensitive (RFC 7643 §2.1).
 */
import type { ScimEmail, ScimName, ScimUser } from '../ports/scim.ts';

export const SCIM = {
  user: 'urn:ietf:params:scim:schemas:core:2.0:User',
  list: 'urn:ietf:params:scim:api:messages:2.0:ListResponse',
  error: 'urn:ietf:params:scim:api:messages:2.0:Error',
  patch: 'urn:ietf:params:scim:api:messages:2.0:PatchOp',
  serviceProviderConfig: 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig',
} as const;

export const SCIM_CONTENT_TYPE = 'application/scim+json';

/** RFC 7644 §3.12: the HTTP status, and for a 400 or 409 the `scimType` that says why. */
export class ScimError extends Error {
  override name = 'ScimError';
  constructor(
    readonly status: number,
    message: string,
    readonly scimType?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function scimJson(body: unknown, status = 200, headers?: Record<string, string>): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': SCIM_CONTENT_TYPE, 'cache-control': 'no-store', ...headers },
  });
}

/** The error body: `status` is a string, as RFC 7644 §3.12 has it. */
export function scimErrorResponse(error: ScimError, headers?: Record<string, string>): Response {
  return scimJson(
    {
      schemas: [SCIM.error],
      status: String(error.status),
      ...(error.scimType && { scimType: error.scimType }),
      detail: error.message,
    },
    error.status,
    headers,
  );
}

/** What a POST or PUT body sets; `id`, `meta` and unknown attributes are the server's or ignored. */
export type ScimUserFields = Pick<
  ScimUser,
  'user_name' | 'external_id' | 'display_name' | 'name' | 'emails' | 'active'
>;

export function toResource(user: ScimUser, base: string) {
  return {
    schemas: [SCIM.user],
    id: user.id,
    ...(user.external_id !== null && { externalId: user.external_id }),
    userName: user.user_name,
    ...(user.name && { name: user.name }),
    ...(user.display_name !== null && { displayName: user.display_name }),
    emails: user.emails,
    active: user.active,
    meta: {
      resourceType: 'User',
      created: user.created,
      lastModified: user.last_modified,
      location: `${base}/Users/${user.id}`,
    },
  };
}

export function listResponse(resources: unknown[], total: number, startIndex: number) {
  return {
    schemas: [SCIM.list],
    totalResults: total,
    startIndex,
    itemsPerPage: resources.length,
    Resources: resources,
  };
}

/** A POST or PUT body (a full User resource); `active` is true unless it says otherwise. */
export function userFields(body: Record<string, unknown>): ScimUserFields {
  const attrs = lowerKeys(body);
  return {
    user_name: userName(attrs.username),
    external_id: optionalText(attrs.externalid, 'externalId'),
    display_name: optionalText(attrs.displayname, 'displayName'),
    name: nameOf(attrs.name),
    emails: emailsOf(attrs.emails),
    active: attrs.active === undefined ? true : bool(attrs.active),
  };
}

/**
 * A PATCH body applied to the fields. Okta sends `{"op":"replace","value":{"active":false}}`, Entra
 * `{"op":"Replace","path":"active","value":false}` (and, before its 2020 fix, `"False"` as a string):
 * both forms are taken, the op in any case. Attributes Tollgate keeps nothing of (phone numbers, the
 * enterprise extension, groups) are accepted and ignored, so a deactivation is never refused for them.
 */
export function applyPatch(fields: ScimUserFields, body: Record<string, unknown>): ScimUserFields {
  const schemas = body.schemas;
  if (!Array.isArray(schemas) || !schemas.includes(SCIM.patch))
    throw new ScimError(400, `A PATCH body names the schema ${SCIM.patch}.`, 'invalidSyntax');
  const operations = body.Operations ?? body.operations;
  if (!Array.isArray(operations) || operations.length === 0)
    throw new ScimError(400, 'A PATCH body carries a non-empty "Operations" list.', 'invalidSyntax');
  let next = { ...fields };
  for (const operation of operations) {
    if (!isObject(operation)) throw new ScimError(400, 'Each PATCH operation is an object.', 'invalidSyntax');
    const op = typeof operation.op === 'string' ? operation.op.toLowerCase() : '';
    if (op !== 'add' && op !== 'replace' && op !== 'remove')
      throw new ScimError(400, 'A PATCH operation\'s "op" is add, replace or remove.', 'invalidSyntax');
    const path = operation.path;
    if (path !== undefined && typeof path !== 'string')
      throw new ScimError(400, 'A PATCH operation\'s "path" is a string.', 'invalidPath');
    if (op === 'remove') {
      if (!path) throw new ScimError(400, 'A remove operation names its "path".', 'noTarget');
      next = setAttribute(next, path, undefined);
      continue;
    }
    if (operation.value === undefined)
      throw new ScimError(400, `An ${op} operation carries a "value".`, 'invalidSyntax');
    if (path) {
      next = setAttribute(next, path, operation.value);
      continue;
    }
    if (!isObject(operation.value))
      throw new ScimError(400, `An ${op} operation without a path carries an object.`, 'invalidSyntax');
    for (const [name, value] of Object.entries(operation.value)) next = setAttribute(next, name, value);
  }
  return next;
}

/** One attribute set (or, with `undefined`, removed); a path Tollgate keeps nothing of is ignored. */
function setAttribute(fields: ScimUserFields, path: string, value: unknown): ScimUserFields {
  const attr = path.trim().replace(/^urn:ietf:params:scim:schemas:core:2\.0:User:/i, '');
  const lower = attr.toLowerCase();
  switch (lower) {
    case 'active':
      if (value === undefined) throw new ScimError(400, '"active" cannot be removed.', 'mutability');
      return { ...fields, active: bool(value) };
    case 'username':
      if (value === undefined) throw new ScimError(400, '"userName" cannot be removed.', 'mutability');
      return { ...fields, user_name: userName(value) };
    case 'externalid':
      return { ...fields, external_id: optionalText(value, 'externalId') };
    case 'displayname':
      return { ...fields, display_name: optionalText(value, 'displayName') };
    case 'name':
      return { ...fields, name: nameOf(value) };
    case 'emails':
      return { ...fields, emails: value === undefined ? [] : emailsOf(value) };
  }
  const namePart = /^name\.(formatted|givenname|familyname)$/.exec(lower)?.[1];
  if (namePart) {
    const key = ({ formatted: 'formatted', givenname: 'givenName', familyname: 'familyName' } as const)[
      namePart as 'formatted' | 'givenname' | 'familyname'
    ];
    const name: ScimName = { ...fields.name };
    const text = optionalText(value, attr);
    if (text === null) delete name[key];
    else name[key] = text;
    return { ...fields, name: Object.keys(name).length > 0 ? name : null };
  }
  // Entra: `emails[type eq "work"].value`.
  const typed = /^emails\[type eq "([^"]*)"\]\.value$/.exec(lower);
  if (typed) {
    const type = typed[1];
    const others = fields.emails.filter((e) => (e.type ?? '').toLowerCase() !== type);
    const text = optionalText(value, attr);
    const primary = others.every((e) => !e.primary);
    return { ...fields, emails: text === null ? others : [...others, { value: text, type, primary }] };
  }
  return fields;
}

/**
 * A filter as IdPs send them to find a person before creating one: `userName eq "..."`,
 * `externalId eq "..."`, `id eq "..."`, `emails[type eq "work"].value eq "..."` or `emails.value eq "..."`.
 * Anything else is a 400 `invalidFilter`, as RFC 7644 §3.4.2.2 allows for what a server does not support.
 */
export function parseFilter(filter: string): (user: ScimUser) => boolean {
  const match =
    /^\s*(userName|externalId|id|emails(?:\[type eq "[^"]*"\])?\.value|emails)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$/i.exec(
      filter,
    );
  if (!match)
    throw new ScimError(
      400,
      'Only `userName eq "..."`, `externalId eq "..."`, `id eq "..."` and `emails.value eq "..."` filters are supported.',
      'invalidFilter',
    );
  const attr = (match[1] ?? '').toLowerCase();
  let value: string;
  try {
    value = JSON.parse(`"${match[2]}"`) as string;
  } catch (cause) {
    throw new ScimError(400, "The filter's value is not a valid string.", 'invalidFilter', { cause });
  }
  const folded = value.toLowerCase();
  if (attr === 'username') return (u) => u.user_name.toLowerCase() === folded;
  if (attr === 'externalid') return (u) => u.external_id === value;
  if (attr === 'id') return (u) => u.id === value;
  return (u) => u.emails.some((e) => e.value.toLowerCase() === folded);
}

function userName(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > 256)
    throw new ScimError(400, '"userName" is a non-empty string of at most 256 characters.', 'invalidValue');
  return value.trim();
}

function optionalText(value: unknown, name: string): string | null {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string' || value.length > 1024)
    throw new ScimError(400, `"${name}" is a string of at most 1024 characters.`, 'invalidValue');
  return value;
}

/** A boolean; Entra sent "True"/"False" as strings before its 2020 fix (aadOptscim062020). */
function bool(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  throw new ScimError(400, '"active" is true or false.', 'invalidValue');
}

function nameOf(value: unknown): ScimName | null {
  if (value === undefined || value === null) return null;
  if (!isObject(value)) throw new ScimError(400, '"name" is an object.', 'invalidValue');
  const attrs = lowerKeys(value);
  const name: ScimName = {};
  for (const [key, lower] of [
    ['formatted', 'formatted'],
    ['givenName', 'givenname'],
    ['familyName', 'familyname'],
  ] as const) {
    const text = optionalText(attrs[lower], `name.${key}`);
    if (text !== null) name[key] = text;
  }
  return Object.keys(name).length > 0 ? name : null;
}

function emailsOf(value: unknown): ScimEmail[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.length > 20)
    throw new ScimError(400, '"emails" is a list of at most 20 emails.', 'invalidValue');
  return value.map((entry) => {
    if (!isObject(entry)) throw new ScimError(400, 'Each email is an object.', 'invalidValue');
    const attrs = lowerKeys(entry);
    const address = optionalText(attrs.value, 'emails.value');
    if (address === null) throw new ScimError(400, 'Each email has a "value".', 'invalidValue');
    const type = optionalText(attrs.type, 'emails.type');
    return {
      value: address,
      ...(type !== null && { type }),
      ...(attrs.primary !== undefined && { primary: attrs.primary === true || attrs.primary === 'true' }),
    };
  });
}

function lowerKeys(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.toLowerCase(), v]));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
