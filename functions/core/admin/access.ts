/**
 * Who is calling the admin API, and what they may do. The master key may do everything (break-glass:
 * every use is audited). A person — by their own virtual key (one carrying a `user_id` with a user
 * record) or by a sign-in session — may list, create and revoke their own keys and read their own
 * info, never anyone else's; a person signed in whose role is `proxy_admin` may also use the admin
 * routes. A key is looked at first: a request with both a key and a session cookie is the key's.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Sessions } from '../auth/sessions.ts';
import { GatewayError } from '../errors.ts';
import { assertKeyUsable, hashKey, presentedKey } from '../governance/keys.ts';
import type { Actor } from '../ports/audit.ts';
import type { Clock } from '../ports/clock.ts';
import type { TeamStore, User, UserStore } from '../ports/documents.ts';
import type { KeyStore, VirtualKey } from '../ports/keys.ts';

/**
 * A person calls with their key (`key` set, their team the key's) or from a sign-in session (`key`
 * null, their team the one their groups named at sign-in).
 */
export type Caller =
  | { type: 'master' }
  | { type: 'person'; key: VirtualKey | null; user: User; team_id: string | null };

export interface AccessDeps {
  keys: KeyStore;
  users: UserStore;
  teams: TeamStore;
  clock: Clock;
  masterKey: string;
  /** Sign-in sessions, when OIDC sign-in is on. */
  sessions?: Sessions;
}

export interface Access {
  /**
   * The master key, a person's usable key, or a person's session; 401 for none or an unknown one, 403
   * for a key of no one.
   */
  caller(headers: Headers): Promise<Caller>;
  /**
   * The master key or a signed-in `proxy_admin`; 401 (no or unknown key or session) / 403 (anyone else).
   */
  requireMaster(headers: Headers): Promise<Caller>;
  /** Whether the request presents the master key. */
  presentsMaster(headers: Headers): boolean;
}

export function createAccess(deps: AccessDeps): Access {
  const master = Buffer.from(hashKey(deps.masterKey), 'hex');
  const isMaster = (secret: string) => timingSafeEqual(Buffer.from(hashKey(secret), 'hex'), master);

  async function virtualKey(secret: string): Promise<VirtualKey> {
    const key = await deps.keys.get(hashKey(secret));
    if (!key)
      throw new GatewayError('authentication', 'Invalid API key: this key is not known to the gateway.');
    return key;
  }

  async function sessionCaller(headers: Headers): Promise<Caller> {
    const session = await deps.sessions?.current(headers);
    if (!session) throw new GatewayError('authentication', 'Your sign-in has ended: sign in again.');
    const user = await deps.users.get(session.user_id);
    if (!user || user.blocked || user.invalid)
      throw new GatewayError('permission', `User '${session.user_id}' is blocked or gone: ask an admin.`);
    return { type: 'person', key: null, user, team_id: session.team_id };
  }

  return {
    async caller(headers) {
      const secret = presentedKey(headers);
      if (!secret && deps.sessions?.presented(headers)) return sessionCaller(headers);
      if (!secret) throw missingKey();
      if (isMaster(secret)) return { type: 'master' };
      const key = await virtualKey(secret);
      assertKeyUsable(key, deps.clock.now());
      const user = key.user_id ? await deps.users.get(key.user_id) : undefined;
      if (!user) {
        throw new GatewayError(
          'permission',
          `Key '${key.key_alias ?? key.key_id}' belongs to no user record: self-service needs a key made for a person (/user/new).`,
        );
      }
      if (user.blocked) throw new GatewayError('permission', `User '${user.user_id}' is blocked.`);
      const team = key.team_id ? await deps.teams.get(key.team_id) : undefined;
      if (key.team_id && (!team || team.blocked))
        throw new GatewayError('permission', `Team '${key.team_id}' is blocked or gone: ask an admin.`);
      return { type: 'person', key, user, team_id: key.team_id };
    },
    presentsMaster(headers) {
      const secret = presentedKey(headers);
      return secret !== undefined && isMaster(secret);
    },
    async requireMaster(headers) {
      const secret = presentedKey(headers);
      if (!secret && deps.sessions?.presented(headers)) {
        const caller = await sessionCaller(headers);
        if (caller.type === 'person' && caller.user.user_role === 'proxy_admin') return caller;
        throw new GatewayError('permission', 'This route is for admins (role proxy_admin).');
      }
      if (!secret) throw missingKey();
      if (isMaster(secret)) return { type: 'master' };
      await virtualKey(secret);
      throw new GatewayError(
        'permission',
        'This route needs the master key. A personal key may only list, create and revoke its own keys.',
      );
    },
  };
}

export function actorOf(caller: Caller): Actor {
  if (caller.type === 'master') return { type: 'master' };
  return caller.key
    ? { type: 'user', user_id: caller.user.user_id, key_id: caller.key.key_id }
    : { type: 'user', user_id: caller.user.user_id, via: 'session' };
}

/** The master key, or a person signed in (a session, not a key) whose role is `proxy_admin`. */
export function isAdmin(caller: Caller): boolean {
  return caller.type === 'master' || (caller.key === null && caller.user.user_role === 'proxy_admin');
}

/** Whether the caller may see or act on this key: an admin any, a person only their own. */
export function mayManage(caller: Caller, key: VirtualKey): boolean {
  return isAdmin(caller) || (caller.type === 'person' && key.user_id === caller.user.user_id);
}

function missingKey(): GatewayError {
  return new GatewayError(
    'authentication',
    'This route needs a key, in Authorization: Bearer or x-api-key, or a sign-in session.',
  );
}
