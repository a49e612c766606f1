/**
 * Synthetic history for `npm run demo`: teams, people with keys and budgets, and 60 days of usage
 * records shaped like a real rollout — people start at different times, work on weekdays, use one to
 * three agents, a few lapse; one team and a few people run close to their budgets. Records go to the
 * lake like real ones, and this month's spend is settled on the budget counters, so budget status,
 * the rollup and each person's page all agree. Deterministic for a seed.
 */
import { randomUUID } from 'node:crypto';
import { keyCounter } from '../core/governance/keys.ts';
import { teamCounter } from '../core/governance/teams.ts';
import { userCounter } from '../core/governance/users.ts';
import type { BudgetCounter } from '../core/ports/budgets.ts';
import type { Clock } from '../core/ports/clock.ts';
import type { UsageSink } from '../core/ports/lake.ts';
import { createModelCatalog } from '../core/pricing/catalog.ts';
import { costMicros } from '../core/pricing/cost.ts';
import { USAGE_SCHEMA_VERSION, type UsageRecord } from '../core/usage/record.ts';
import type { RunningGateway } from './runtime.ts';

const TEAMS = [
  { team_id: 'web', team_alias: 'Web', budget: 3000 },
  { team_id: 'data', team_alias: 'Data', budget: 0 }, // set to run at ~92 % of its spend
  { team_id: 'platform', team_alias: 'Platform', budget: 2500 },
  { team_id: 'mobile', team_alias: 'Mobile', budget: 1200 },
];
const NAMES = [
  'ada',
  'ben',
  'cleo',
  'dev',
  'eli',
  'fay',
  'gus',
  'hana',
  'ivan',
  'jo',
  'kai',
  'lea',
  'max',
  'nia',
  'omar',
  'pia',
  'quinn',
  'rae',
  'sam',
  'tess',
  'uma',
  'vic',
  'wen',
  'xia',
  'yuri',
  'zoe',
  'abe',
  'bea',
  'cy',
  'dot',
  'ed',
  'flo',
  'gil',
  'hal',
  'ines',
  'jay',
];
const AGENT_MODELS: Record<string, Array<[string, number]>> = {
  'claude-code': [
    ['claude-sonnet-4-5', 0.7],
    ['claude-haiku-4-5', 0.2],
    ['claude-opus-4-5', 0.1],
  ],
  codex: [
    ['gpt-5-codex', 0.85],
    ['gpt-5', 0.15],
  ],
  'kimi-cli': [['kimi-k2.5', 1]],
};

/** A small seeded generator (mulberry32): the same seed gives the same history. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Person {
  user_id: string;
  team_id: string;
  agents: string[];
  startDay: number;
  lapseDay: number | null;
  perDay: number;
}

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
interface StepDown {
  rule: { id: string; name: string };
  team: string;
  fromDay: number;
}

function history(
  people: Person[],
  days: number,
  now: Date,
  random: () => number,
  keyId: (p: Person, agent: string) => string,
  stepDown: StepDown,
): UsageRecord[] {
  const catalog = createModelCatalog();
  const records: UsageRecord[] = [];
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  for (let d = days - 1; d >= 0; d--) {
    const dayStart = today - d * 86_400_000;
    const index = days - 1 - d;
    const weekday = new Date(dayStart).getUTCDay() % 6 !== 0;
    for (const p of people) {
      if (index < p.startDay || (p.lapseDay !== null && index >= p.lapseDay)) continue;
      if (random() > (weekday ? 0.85 : 0.12)) continue;
      const requests = Math.round(p.perDay * (0.5 + random()));
      for (let n = 0; n < requests; n++) {
        const started = dayStart + (8 * 3600 + random() * 10 * 3600) * 1000;
        if (started > now.getTime()) continue;
        const agent = p.agents[Math.floor(random() * p.agents.length)] ?? 'claude-code';
        const routed = p.team_id === stepDown.team && index >= stepDown.fromDay ? stepDown.rule : null;
        records.push(record(p, agent, keyId(p, agent), started, catalog, random, routed));
      }
    }
  }
  return records;
}

/** The choice whose share of the cumulative weights `roll` (0–1) falls in. */
function weighted(choices: Array<[string, number]>, roll: number): string | undefined {
  let left = roll;
  for (const [choice, share] of choices) {
    left -= share;
    if (left < 0) return choice;
  }
  return choices[0]?.[0];
}

function record(
  p: Person,
  agent: string,
  keyId: string,
  startedMs: number,
  catalog: ReturnType<typeof createModelCatalog>,
  random: () => number,
  stepDownRule: StepDown['rule'] | null,
): UsageRecord {
  const choices = AGENT_MODELS[agent] ?? [];
  const model = weighted(choices, random()) ?? 'claude-sonnet-4-5';
  const rule = stepDownRule && model.startsWith('claude-opus') ? stepDownRule : null;
  const served = rule ? 'claude-sonnet-4-5' : model;
  const resolved = catalog.resolve(served);
  const outcomeRoll = random();
  const outcome =
    outcomeRoll < 0.015
      ? 'denied'
      : outcomeRoll < 0.025
        ? 'upstream_error'
        : outcomeRoll < 0.03
          ? 'invalid'
          : 'success';
  const ok = outcome === 'success';
  const usage = {
    input_tokens: ok ? 500 + Math.floor(random() * 8_000) : 0,
    output_tokens: ok ? 100 + Math.floor(random() * 2_500) : 0,
    cache_read_tokens: ok ? Math.floor(random() * 90_000) : 0,
    cache_write_5m_tokens: ok ? Math.floor(random() * 4_000) : 0,
    cache_write_1h_tokens: 0,
    reasoning_tokens: ok && agent === 'codex' ? Math.floor(random() * 800) : 0,
    web_search_requests: 0,
  };
  const cost = resolved && ok ? costMicros(usage, resolved.price) : 0;
  const latency = ok ? 2_000 + Math.floor(random() * 38_000) : 20 + Math.floor(random() * 400);
  const ts = new Date(startedMs).toISOString();
  return {
    schema_version: USAGE_SCHEMA_VERSION,
    request_id: randomUUID(),
    ts,
    dt: ts.slice(0, 10),
    key_id: keyId,
    key_alias: `${p.user_id}-${agent}`,
    user_id: p.user_id,
    team_id: p.team_id,
    agent,
    agent_version: agent === 'codex' ? '0.169.0' : '2.1.331',
    session_id: `${p.user_id}-${ts.slice(0, 13)}`,
    route: agent === 'codex' ? '/v1/responses' : '/v1/messages',
    protocol: agent === 'codex' ? 'openai-responses' : 'anthropic-messages',
    provider: resolved?.provider ?? null,
    model_requested: model,
    model_used: served,
    stream: true,
    status: outcome === 'success' ? 200 : outcome === 'denied' ? 402 : outcome === 'invalid' ? 400 : 502,
    outcome,
    error_type:
      outcome === 'success'
        ? null
        : outcome === 'denied'
          ? 'budget_exceeded'
          : outcome === 'invalid'
            ? 'invalid_request'
            : 'upstream',
    ...usage,
    usage_source: ok ? 'provider' : 'none',
    cost_micros: cost,
    shadow_cost_micros: cost,
    reserved_micros: cost * 3,
    price_version: resolved?.price.version ?? null,
    latency_ms: latency,
    ttfb_ms: ok ? 300 + Math.floor(random() * 1_700) : null,
    upstream_ms: ok ? latency - 10 : null,
    overhead_ms: ok ? 2 + Math.floor(random() * 12) : null,
    tags: [agent],
    route_rule_id: rule?.id ?? null,
    route_rule: rule?.name ?? null,
    attempts: outcome === 'denied' || outcome === 'invalid' ? 0 : 1,
    attempt_log:
      outcome === 'denied' || outcome === 'invalid'
        ? []
        : [`${resolved?.provider}/${served} ${ok ? 200 : 502}`],
    cost_as_requested_micros: rule && ok ? costMicros(usage, catalog.resolve(model)!.price) : null,
  };
}
