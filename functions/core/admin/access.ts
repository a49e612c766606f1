/**
 * Who is calling the admin API, and what they may do. The master key may do everything. A person's
 * own virtual key (one carrying a `user_id` with a user record) may list, create and revoke that
 * person's keys and read their own info — never anyone else's, and never the admin routes.
 */
import { timingSafeEqual } from 'node:crypto';
import { GatewayError } from '../errors.ts';
import { assertKeyUsable, hashKey, presentedKey } from '../governance/keys.ts';
import type { Actor } from '../ports/audit.ts';
import type { Clock } from '../ports/clock.ts';
import type { TeamStore, User, UserStore } from '../ports/documents.ts';
import type { KeyStore, VirtualKey } from '../ports/keys.ts';

export type Caller = { type: 'master' } | { type: 'person'; key: VirtualKey; user: User };

export interface AccessDeps {
  keys: KeyStore;
  users: UserStore;
  teams: TeamStore;
  clock: Clock;
  masterKey: string;
}

export interface Access {
  /** The master key or a person's usable key; 401 for none or an unknown one, 403 for a key of no one. */
  caller(headers: Headers): Promise<Caller>;
  /** The master key, or 401 (no or unknown key) / 403 (a virtual key). */
  requireMaster(headers: Headers): Promise<void>;
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

  return {
    async caller(headers) {
      const secret = presentedKey(headers);
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
      return { type: 'person', key, user };
    },
    async requireMaster(headers) {
      const secret = presentedKey(headers);
      if (!secret) throw missingKey();
      if (isMaster(secret)) return;
      await virtualKey(secret);
      throw new GatewayError(
        'permission',
        'This route needs the master key. A personal key may only list, create and revoke its own keys.',
      );
    },
  };
}

export function actorOf(caller: Caller): Actor {
  return caller.type === 'master'
    ? { type: 'master' }
    : { type: 'user', user_id: caller.user.user_id, key_id: caller.key.key_id };
}

/** Whether the caller may see or act on this key: the master any, a person only their own. */
export function mayManage(caller: Caller, key: VirtualKey): boolean {
  return caller.type === 'master' || key.user_id === caller.user.user_id;
}

function missingKey(): GatewayError {
  return new GatewayError('authentication', 'This route needs a key, in Authorization: Bearer or x-api-key.');
}
