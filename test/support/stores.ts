import { silentLogger } from '../../functions/adapters/logger.ts';
import type { ProxyPorts } from '../../functions/compose/gateway.ts';
import type { Notifier } from '../../functions/core/ports/alerts.ts';
import type { BudgetLedger, Reservation } from '../../functions/core/ports/budgets.ts';
import { systemClock } from '../../functions/core/ports/clock.ts';
import type { DocumentStore, Team, User } from '../../functions/core/ports/documents.ts';
import type { InflightEntry, InflightJournal } from '../../functions/core/ports/journal.ts';
import type { KeyStore, VirtualKey } from '../../functions/core/ports/keys.ts';
import type { RateLimiter } from '../../functions/core/ports/rate-limits.ts';

function emptyStore<T>(): DocumentStore<T> {
  return {
    idOf: () => '',
    get: async () => undefined,
    create: async () => {},
    update: async () => {},
    delete: async () => {},
    list: async () => [],
  };
}

/** A team store with no teams, for pipeline tests whose keys belong to none. */
export const noTeams: DocumentStore<Team> = emptyStore<Team>();
/** A user store with no user records, for pipeline tests about something else. */
export const noUsers: DocumentStore<User> = emptyStore<User>();

/** A ledger that grants every reservation and forgets it: for tests and benchmarks about the pipeline. */
export const memoryLedger: BudgetLedger = {
  reserve: async (claims, lease) => ({ lease_id: lease.id, claims, binding: null }),
  settle: async () => [],
  leaseHeld: async () => null,
  settleLease: async () => {},
  read: async () => ({ spent_micros: 0, committed_micros: 0, worst_committed_micros: 0 }),
};

/** A notifier that keeps what it was told. */
export function collectingNotifier(): Notifier & { alerts: Parameters<Notifier['notify']>[0][] } {
  const alerts: Parameters<Notifier['notify']>[0][] = [];
  return { alerts, notify: async (alert) => void alerts.push(alert) };
}

/** An in-memory key store holding `keys`, for tests and benchmarks that need a key without DynamoDB. */
export function keysOf(...keys: VirtualKey[]): KeyStore {
  const byId = new Map(keys.map((k) => [k.key_id, k]));
  return {
    get: async (hash) => [...byId.values()].find((k) => k.hash === hash),
    getById: async (key_id) => byId.get(key_id),
    create: async (key) => void byId.set(key.key_id, key),
    update: async (key) => void byId.set(key.key_id, key),
    delete: async (key_id) => void byId.delete(key_id),
    list: async () => [...byId.values()],
  };
}

/** A rate limiter that admits everything, for pipeline tests about something else. */
export const noLimits: RateLimiter = {
  admit: async () => {},
  addTokens: async () => {},
  acquire: async () => {},
  release: async () => {},
};

/** No routing rules: every request goes to the model it asks for. */
export const noRouting = { rules: async () => [], maxAttempts: 3, fallbackAfterMs: 20_000 };

/** An in-flight journal in memory: what began and has not ended, for pipeline tests and benches. */
export function memoryJournal(): InflightJournal & { open: Map<string, InflightEntry>; begun: number } {
  const open = new Map<string, InflightEntry>();
  const journal = {
    open,
    begun: 0,
    async begin(entry: Omit<InflightEntry, 'holder' | 'final'>) {
      journal.begun++;
      open.set(entry.request_id, { ...entry, holder: 'memory' });
    },
    async reserved(request_id: string, reservation: Reservation) {
      const entry = open.get(request_id);
      if (entry) entry.reservation = reservation;
    },
    async slice() {},
    async slots() {},
    async flushed() {},
    orphanSlices: async () => [],
    async finishing(request_id: string, final: NonNullable<InflightEntry['final']>) {
      const entry = open.get(request_id);
      if (entry) entry.final = final;
    },
    async end(request_id: string) {
      open.delete(request_id);
    },
    orphans: async () => [...open.values()],
    async forget(entries: InflightEntry[]) {
      for (const e of entries) open.delete(e.request_id);
    },
    async close() {},
  };
  return journal;
}

/**
 * The stand-ins above as one set of ports for the composition root (compose/gateway.ts `proxyDeps`):
 * a proxy that grants, limits and records nothing, for tests and benches about something else. Pass
 * the ports a test is about.
 */
export function memoryPorts(ports: Partial<ProxyPorts> = {}): ProxyPorts {
  return {
    keys: keysOf(),
    teams: noTeams,
    users: noUsers,
    journal: memoryJournal(),
    ledger: memoryLedger,
    limiter: noLimits,
    usage: { write: async () => {} },
    notifier: collectingNotifier(),
    upstream: (input, init) => fetch(input, init),
    clock: systemClock,
    log: silentLogger,
    rules: noRouting.rules,
    lifecycle: 'process',
    ...ports,
  };
}
