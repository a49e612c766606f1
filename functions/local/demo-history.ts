/**
 * The demo's synthetic cast and its usage history: teams and people (when each starts, which agents they
 * use, who lapses), and 60 days of usage records shaped like a real rollout, priced by the catalog.
 * Deterministic for a seed. demo-data.ts seeds a running gateway with them.
 */
import { randomUUID } from 'node:crypto';
import { createModelCatalog } from '../core/pricing/catalog.ts';
import { costMicros } from '../core/pricing/cost.ts';
import { USAGE_SCHEMA_VERSION, type UsageRecord } from '../core/usage/record.ts';

export const TEAMS = [
  { team_id: 'web', team_alias: 'Web', budget: 3000 },
  { team_id: 'data', team_alias: 'Data', budget: 0 }, // set to run at ~92 % of its spend
  { team_id: 'platform', team_alias: 'Platform', budget: 2500 },
  { team_id: 'mobile', team_alias: 'Mobile', budget: 1200 },
];
export const NAMES = [
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

export interface Person {
  user_id: string;
  team_id: string;
  agents: string[];
  startDay: number;
  lapseDay: number | null;
  perDay: number;
}

export interface StepDown {
  rule: { id: string; name: string };
  team: string;
  fromDay: number;
}

export function history(
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
    provider_request_id:
      outcome === 'denied' || outcome === 'invalid' ? null : `req_demo${randomUUID().slice(0, 18)}`,
  };
}
