/**
 * Seeds a running gateway for `npm run demo`: teams, people with keys and budgets through the admin
 * API, and the synthetic history of demo-history.ts — people start at different times, work on
 * weekdays, use one to three agents, a few lapse; one team and a few people run close to their
 * budgets. Records go to the lake like real ones, and this month's spend is settled on the budget counters, so budget status,
 * the rollup and each person's page all agree. Deterministic for a seed.
 */
import { randomUUID } from 'node:crypto';
import { keyCounter } from '../core/governance/keys.ts';
import { teamCounter } from '../core/governance/teams.ts';
import { userCounter } from '../core/governance/users.ts';
import type { BudgetCounter } from '../core/ports/budgets.ts';
import type { Clock } from '../core/ports/clock.ts';
import type { TelemetrySink, UsageSink } from '../core/ports/lake.ts';
import { history, NAMES, type Person, seeded, TEAMS } from './demo-history.ts';
import { telemetryHistory } from './demo-telemetry.ts';
import type { RunningGateway } from './runtime.ts';

export interface DemoSummary {
  teams: number;
  people: number;
  records: number;
  /** A person's own key, to open their page with. */
  personKey: string;
  personId: string;
}

export async function seedDemo(
  gateway: RunningGateway,
  sink: UsageSink,
  clock: Clock,
  options: {
    days?: number;
    people?: number;
    seed?: number;
    /** Called as each step is done, `done` of `total`: teams, people and their keys, history, budgets. */
    onProgress?: (done: number, total: number) => void;
    /** Where the agents' telemetry for the history goes; none is seeded without it. */
    telemetry?: TelemetrySink;
  } = {},
): Promise<DemoSummary> {
  const random = seeded(options.seed ?? 7);
  const days = options.days ?? 60;
  const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)] as T;
  const people: Person[] = NAMES.slice(0, options.people ?? NAMES.length).map((user_id, i) => ({
    user_id,
    team_id: TEAMS[i % TEAMS.length]?.team_id ?? 'web',
    agents:
      random() < 0.25
        ? ['claude-code', 'codex']
        : random() < 0.15
          ? ['claude-code', 'codex', 'kimi-cli']
          : [pick(['claude-code', 'claude-code', 'codex'])],
    startDay: Math.floor(random() * 20),
    // Every sixth person stops using the tools some weeks in.
    lapseDay: i % 6 === 5 ? 35 + (i % 15) : null,
    perDay: 15 + Math.floor(random() * 50),
  }));

  const total = TEAMS.length + people.length + 3;
  let done = 0;
  const step = () => options.onProgress?.(++done, total);
  const admin = async (path: string, body: unknown) => {
    const response = await fetch(`${gateway.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gateway.masterKey}` },
      body: JSON.stringify(body),
    });
    const answer = (await response.json()) as Record<string, unknown>;
    if (!response.ok) throw new Error(`${path}: ${JSON.stringify(answer)}`);
    return answer;
  };
  for (const t of TEAMS) {
    await admin('/team/new', {
      team_id: t.team_id,
      team_alias: t.team_alias,
      max_budget: t.budget || 1000,
      budget_duration: 'monthly',
    });
    step();
  }
  const keys = new Map<string, { secret: string; key_id: string }>();
  for (const [i, p] of people.entries()) {
    await admin('/user/new', {
      user_id: p.user_id,
      user_email: `${p.user_id}@example.com`,
      max_budget: 150,
      budget_duration: 'monthly',
      teams: [p.team_id],
      auto_create_key: false,
      ...(i === 0 && { user_role: 'proxy_admin' }),
    });
    for (const agent of p.agents) {
      const made = await admin('/key/generate', {
        key_alias: `${p.user_id}-${agent}`,
        user_id: p.user_id,
        team_id: p.team_id,
        max_budget: 100,
        budget_duration: 'monthly',
        tags: [agent],
      });
      keys.set(`${p.user_id}:${agent}`, { secret: String(made.key), key_id: String(made.key_id) });
    }
    step();
  }

  // The team near its budget has had its opus requests stepped down to sonnet for the last ten days.
  const rule = await admin('/routing/rules', {
    name: 'data: opus steps down past 85 %',
    scope: { team_id: 'data' },
    priority: 10,
    condition: 'budget_used > 85 && model.startsWith("claude-opus")',
    targets: [{ model: 'claude-sonnet-4-5' }],
  });
  const stepDown = {
    rule: { id: String(rule.id), name: String(rule.name) },
    team: 'data',
    fromDay: days - 10,
  };
  const records = history(
    people,
    days,
    clock.now(),
    random,
    (p, agent) => keys.get(`${p.user_id}:${agent}`)?.key_id ?? '',
    stepDown,
  );
  await sink.write(records);
  // From a random sequence of its own, so the usage history is the same with or without it.
  const stalePrices = people[4]?.user_id ?? '';
  await options.telemetry?.write(telemetryHistory(records, seeded((options.seed ?? 7) + 1), stalePrices));
  step();

  // This month's spend per key, person and team, from the records: what the counters would hold.
  const month = clock.now().toISOString().slice(0, 7);
  const spend = new Map<string, number>();
  for (const r of records) {
    if (r.dt.slice(0, 7) !== month || r.cost_micros === 0) continue;
    for (const id of [`key:${r.key_id}`, `user:${r.user_id}`, `team:${r.team_id}`])
      spend.set(id, (spend.get(id) ?? 0) + r.cost_micros);
  }
  // One team and every seventh person run close to their budgets this month.
  const dataSpent = (spend.get('team:data') ?? 0) / 1e6;
  await admin('/team/update', { team_id: 'data', max_budget: Math.max(1, Math.ceil(dataSpent / 0.92)) });
  for (const [i, p] of people.entries()) {
    if (i % 7 !== 3) continue;
    const spent = (spend.get(`user:${p.user_id}`) ?? 0) / 1e6;
    await admin('/user/update', { user_id: p.user_id, max_budget: Math.max(1, Math.ceil(spent / 0.95)) });
  }
  step();
  await settleMonth(gateway, spend, clock.now());
  step();
  const person = people[1] ?? people[0];
  return {
    teams: TEAMS.length,
    people: people.length,
    records: records.length,
    personId: person?.user_id ?? '',
    personKey: keys.get(`${person?.user_id}:${person?.agents[0]}`)?.secret ?? '',
  };
}

/** Puts this month's spend on the key, person and team counters, as settled requests would have. */
async function settleMonth(gateway: RunningGateway, spend: Map<string, number>, now: Date): Promise<void> {
  const { keys, users, teams, ledger } = gateway.stores;
  const counters: Array<[BudgetCounter, number]> = [];
  for (const key of await keys.list())
    counters.push([keyCounter(key, now), spend.get(`key:${key.key_id}`) ?? 0]);
  for (const user of await users.list())
    counters.push([userCounter(user, now), spend.get(`user:${user.user_id}`) ?? 0]);
  for (const team of await teams.list())
    counters.push([teamCounter(team, now), spend.get(`team:${team.team_id}`) ?? 0]);
  for (const [counter, micros] of counters) {
    if (micros === 0) continue;
    // Unlimited claims: history is recorded as it happened, even where it would now be refused.
    const claim = {
      counter: { ...counter, limit_micros: null },
      amount_micros: 0,
      worst_micros: 0,
      ceiling_micros: null,
    };
    const reservation = await ledger.reserve([claim], {
      id: randomUUID(),
      expires_at: new Date(now.getTime() + 60_000),
    });
    await ledger.settle(reservation, micros);
  }
}

/** A routing rule the demo's history shows at work: one team's requests from a day on. */
