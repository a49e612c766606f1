/**
 * What routing rules cost on the proxy hot path. Rules are CEL conditions, compiled once per rule and
 * kept by the router; a request pays only for evaluating the ones it reaches. Three parts:
 *
 *   1. Micro: `router.plan()` alone, with 0, 1, 10 and 100 rules (key, team and global scopes, all in
 *      scope for the request, so every one is evaluated), when the rule that fires is the last one
 *      (the worst case), the first one, or none. Also how often the budget is read: only when a rule
 *      the request reaches mentions `budget_used`.
 *   2. Compile cost: one `compileCondition()`, against evaluating a compiled condition, and a fresh
 *      router's first `plan()` (compiles every rule) against later ones with the same rule list.
 *   3. End to end: the proxy pipeline called in-process (as `breakdown.ts` does) against a local mock
 *      upstream, with no rules, 10 rules none of which fire, and 10 rules the last of which rewrites
 *      the model. Sequential requests, the variants interleaved in rounds so drift hits each alike.
 *
 * Prints figures and asserts nothing about time (STYLE.md: benchmarks are never timing assertions).
 *
 *   npm run bench:routing [-- --scale 0.01]
 */
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { silentLogger } from '../../functions/adapters/logger.ts';
import { gatewaySettings, proxyDeps } from '../../functions/compose/gateway.ts';
import { loadConfig } from '../../functions/config.ts';
import { NO_LIMITS } from '../../functions/core/admin/fields.ts';
import { generateSecretKey, hashKey } from '../../functions/core/governance/keys.ts';
import type { Principal } from '../../functions/core/governance/scopes.ts';
import type { BudgetLedger } from '../../functions/core/ports/budgets.ts';
import type { Team } from '../../functions/core/ports/documents.ts';
import type { UsageSink } from '../../functions/core/ports/lake.ts';
import { createModelCatalog } from '../../functions/core/pricing/catalog.ts';
import { createProxy } from '../../functions/core/proxy/pipeline.ts';
import {
  createRouter,
  type RouteChecks,
  type RouteRequest,
  type Router,
} from '../../functions/core/routing/router.ts';
import {
  compileConditionIn,
  conditionEnvironment,
  defineRule,
  NewRuleSchema,
  type RoutingRule,
  type RoutingVariables,
  type RuleScope,
} from '../../functions/core/routing/rules.ts';
import { startMockUpstream } from '../support/mock-upstream.ts';
import { keysOf, memoryLedger, memoryPorts, noTeams } from '../support/stores.ts';
import { virtualKey } from '../support/virtual-key.ts';
import { median, ms, type Percentiles, percentiles, printTable } from './measure.ts';

/**
 * `--scale 0.01` runs every part with a hundredth of its calls (at least one round of each): a smoke
 * run that proves the bench still works, whose figures mean nothing.
 */
const { values: flags } = parseArgs({ options: { scale: { type: 'string', default: '1' } } });
const SCALE = Number(flags.scale);
if (!(SCALE > 0 && SCALE <= 1)) throw new Error('--scale must be a number in (0, 1]');
const scaled = (n: number, least = 1) => Math.max(least, Math.round(n * SCALE));

/** Micro part: timed `plan()` calls per row, after WARMUP untimed ones. */
const CALLS = scaled(200_000);
const WARMUP = scaled(20_000);
/** The 100-rule rows take several times longer per call; fewer calls still give a stable p99. */
const CALLS_100 = scaled(50_000);
/** Compile part: distinct conditions compiled, and fresh routers whose first plan() is timed. */
const COMPILES = scaled(2_000);
const FRESH_ROUTERS = scaled(50);
/** Per fresh router: plan() calls right after the rule list was refetched (a new array, same rules). */
const REFETCHES = 20;
/** End-to-end part: requests per variant, in ROUNDS interleaved blocks, after E2E_WARMUP per variant. */
const ROUNDS = 12;
const E2E_REQUESTS = scaled(6_000, ROUNDS);
const E2E_WARMUP = scaled(200);

const catalog = createModelCatalog();
/** Values in ms, printed in µs with the bench's own formatter. */
const us = (valueMs: number) => ms(valueMs * 1000);

// ── The request every part routes ────────────────────────────────────────────────────────────────
// A Claude Code request for sonnet from a key (of team "web") that has a budget, so a `budget_used`
// rule has a budget counter to read.

const WEB_TEAM: Team = {
  team_id: 'web',
  team_alias: null,
  models: [],
  members: [],
  metadata: {},
  blocked: false,
  created_at: '2026-11-25T00:00:00.000Z',
  ...NO_LIMITS,
};
const SECRET = generateSecretKey();
const KEY = virtualKey({
  hash: hashKey(SECRET),
  key_alias: 'bench',
  team_id: 'web',
  max_budget_micros: 100_000_000,
});
const WHO: Principal = { key: KEY, team: WEB_TEAM, user: undefined };
const REQUESTED = 'claude-sonnet-4-5';
const REWRITTEN_TO = 'claude-haiku-4-5';
const HEADERS = {
  'x-api-key': SECRET,
  'content-type': 'application/json',
  'anthropic-version': '2023-06-01',
  'user-agent': 'claude-cli/2.0.14 (external, cli)',
  'x-tier': 'standard',
  'x-tollgate-tags': 'bench',
};
const ROUTE_REQUEST: RouteRequest = {
  who: WHO,
  requested: REQUESTED,
  asked: catalog.resolve(REQUESTED),
  agent: 'claude-code',
  tags: ['bench'],
  headers: new Headers(HEADERS),
  seed: 'bench-request',
};

// ── Rule sets ────────────────────────────────────────────────────────────────────────────────────

/** Conditions of the kinds deployments write, none of which holds for the request; `i` keeps each distinct. */
const MISSES: Array<(i: number) => string> = [
  (i) => `"ci-${i}" in tags`,
  (i) => `headers["x-tier"] == "fast-${i}"`,
  (i) => `model.startsWith("claude-opus") && budget_used > ${80 + (i % 20)}`,
  (i) => `team_id == "web" && agent == "codex-${i}"`,
];
/** The condition that holds for the request. */
const HIT = 'team_id == "web" && agent == "claude-code"';

type Firing = 'last' | 'first' | 'none';

/**
 * `count` rules, defined and checked as the admin API does. The first third are key rules, the next
 * team rules, the rest global, with priority = position: so they are evaluated in the order built,
 * and the rule at `firing` is the one that fires (rewriting the model to haiku).
 */
function ruleSet(count: number, firing: Firing): Promise<RoutingRule[]> {
  const scopes: RuleScope[] = [{ key_alias: 'bench' }, { team_id: 'web' }, 'global'];
  const firingAt = firing === 'last' ? count - 1 : firing === 'first' ? 0 : -1;
  const rules = Array.from({ length: count }, (_, i) => {
    const input = NewRuleSchema.parse({
      id: `rule-${i}`,
      name: i === firingAt ? 'sonnet to haiku for claude-code in web' : `rule ${i}`,
      scope: scopes[Math.min(2, Math.floor((3 * i) / count))],
      priority: i,
      condition: i === firingAt ? HIT : MISSES[i % MISSES.length]!(i),
      targets: [{ model: REWRITTEN_TO }],
    });
    return defineRule(input, catalog, {
      id: `rule-${i}`,
      source: 'api',
      created_at: '2026-11-25T00:00:00.000Z',
    });
  });
  return Promise.all(rules);
}

/** A router over a fixed list: the same array every call, as the TTL-cached rule source returns it. */
function routerOver(rules: RoutingRule[]): Router {
  return createRouter({ rules: async () => rules, catalog, log: silentLogger, maxAttempts: 3 });
}

/** Every model usable; the budget read counted, and answering a constant 42 %. */
function countingChecks(): RouteChecks & { budgetReads: number } {
  const checks = {
    budgetReads: 0,
    usable: () => true,
    budgetUsed: async () => {
      checks.budgetReads++;
      return 42;
    },
  };
  return checks;
}

// ── 1. Micro: router.plan() ──────────────────────────────────────────────────────────────────────

/** Per-call times in ms of `task`, after `warmup` untimed calls. */
async function timeCalls(calls: number, warmup: number, task: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await task();
  const samples = new Array<number>(calls);
  for (let i = 0; i < calls; i++) {
    const started = performance.now();
    await task();
    samples[i] = performance.now() - started;
  }
  return samples;
}

/** The same for a synchronous `task`: no await in the timed span. */
function timeSync(calls: number, warmup: number, task: (i: number) => unknown): number[] {
  for (let i = 0; i < warmup; i++) task(i);
  const samples = new Array<number>(calls);
  for (let i = 0; i < calls; i++) {
    const started = performance.now();
    task(i);
    samples[i] = performance.now() - started;
  }
  return samples;
}

const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;

async function microTable(): Promise<string[][]> {
  const table = [['rules', 'rule that fires', 'calls', 'p50 µs', 'p99 µs', 'mean µs', 'budget reads/plan']];
  // The floor every row includes: two performance.now() calls and one await.
  const floor = await timeCalls(CALLS, WARMUP, () => Promise.resolve());
  const f = percentiles(floor);
  table.push(['—', 'timer + await only', String(CALLS), us(f.p50), us(f.p99), us(mean(floor)), '—']);

  const rows: Array<[number, Firing]> = [
    [0, 'none'],
    [1, 'last'],
    [1, 'none'],
    [10, 'first'],
    [10, 'last'],
    [10, 'none'],
    [100, 'first'],
    [100, 'last'],
    [100, 'none'],
  ];
  for (const [count, firing] of rows) {
    const rules = await ruleSet(count, firing);
    const router = routerOver(rules);
    const checks = countingChecks();
    // Not a timing check: the row measures what it says (the expected rule fires, or none does).
    const plan = await router.plan(ROUTE_REQUEST, checks);
    const expected = firing === 'none' ? undefined : rules[firing === 'last' ? count - 1 : 0]?.id;
    if (plan?.rule.id !== expected || (plan && plan.models[0]?.model !== REWRITTEN_TO)) {
      throw new Error(`${count} rules, ${firing}: expected ${expected ?? 'no rule'}, got ${plan?.rule.id}`);
    }
    const calls = count >= 100 ? CALLS_100 : CALLS;
    const samples = await timeCalls(calls, WARMUP, () => router.plan(ROUTE_REQUEST, checks));
    const p = percentiles(samples);
    const evaluated = firing === 'first' ? 1 : count;
    const readsPerPlan = checks.budgetReads / (1 + WARMUP + calls);
    table.push([
      String(count),
      `${firing === 'none' ? 'none fires' : firing} (${evaluated} evaluated)`,
      String(calls),
      us(p.p50),
      us(p.p99),
      us(mean(samples)),
      readsPerPlan.toFixed(2),
    ]);
  }
  return table;
}

// ── 2. Compile cost ──────────────────────────────────────────────────────────────────────────────

async function compileTable(): Promise<string[][]> {
  // Distinct texts, so nothing the CEL library might keep by text can help.
  const typical = (i: number) => `model.startsWith("claude-opus") && budget_used > ${i}.5`;
  let next = 0;
  const environment = await conditionEnvironment();
  const distinct = timeSync(COMPILES, 200, () => compileConditionIn(environment, typical(next++)));
  const sameText = timeSync(COMPILES, 0, () => compileConditionIn(environment, typical(0)));
  const condition = compileConditionIn(environment, typical(1));
  const variables: RoutingVariables = {
    model: REQUESTED,
    provider: 'anthropic',
    agent: 'claude-code',
    team_id: 'web',
    user_id: '',
    key_alias: 'bench',
    tags: ['bench'],
    headers: { 'x-tier': 'standard' },
    budget_used: 42,
  };
  const evaluations = timeSync(CALLS, WARMUP, () => condition(variables));

  // A fresh router's first plan() compiles and sorts its 100 rules; later calls with the same array
  // reuse them. A new array of the same rules (the rule source refetched after its TTL) recompiles
  // nothing either: compiled forms are kept by rule id and condition text, and only re-sorted.
  const rules = await ruleSet(100, 'last');
  const first: number[] = [];
  const refetched: number[] = [];
  let steady: number[] = [];
  for (let r = 0; r < FRESH_ROUTERS; r++) {
    let current = rules;
    const router = createRouter({ rules: async () => current, catalog, log: silentLogger, maxAttempts: 3 });
    const checks = countingChecks();
    let started = performance.now();
    await router.plan(ROUTE_REQUEST, checks);
    first.push(performance.now() - started);
    steady = steady.concat(await timeCalls(1_000, 100, () => router.plan(ROUTE_REQUEST, checks)));
    for (let i = 0; i < REFETCHES; i++) {
      current = [...rules];
      started = performance.now();
      await router.plan(ROUTE_REQUEST, checks);
      refetched.push(performance.now() - started);
    }
  }

  const d = percentiles(distinct);
  const e = percentiles(evaluations);
  return [
    ['what', 'p50 µs', 'p99 µs', 'samples'],
    ['compileCondition(), a typical condition, distinct texts', us(d.p50), us(d.p99), String(COMPILES)],
    [
      'compileCondition(), the same text again (no cache by text)',
      us(median(sameText)),
      us(percentiles(sameText).p99),
      String(COMPILES),
    ],
    ['evaluate that condition once compiled', us(e.p50), us(e.p99), String(CALLS)],
    [
      '100 rules: first plan() of a fresh router (compiles all 100)',
      us(median(first)),
      us(percentiles(first).p99),
      String(FRESH_ROUTERS),
    ],
    [
      '100 rules: later plan(), same array (no compile)',
      us(median(steady)),
      us(percentiles(steady).p99),
      String(steady.length),
    ],
    [
      '100 rules: plan() after a refetch (new array, same rules: re-keyed and sorted, not compiled)',
      us(median(refetched)),
      us(percentiles(refetched).p99),
      String(refetched.length),
    ],
  ];
}

// ── 3. End to end: the pipeline in-process ───────────────────────────────────────────────────────

interface E2eVariant {
  name: string;
  rules: RoutingRule[];
  /** The model the mock must have been asked for: checks the variant routes as it says. */
  sentModel: string;
  response: number[];
  ledgerReads: number;
}

const nullSink: UsageSink = { write: async () => {} };

async function endToEndTable(): Promise<string[][]> {
  const mock = await startMockUpstream();
  try {
    const settings = await gatewaySettings(
      loadConfig({ TOLLGATE_ANTHROPIC_BASE_URL: mock.url, ANTHROPIC_API_KEY: 'sk-ant-upstream-secret' }),
    );
    const body = JSON.stringify({
      model: REQUESTED,
      max_tokens: 256,
      messages: [{ role: 'user', content: 'hi' }],
    });
    const variants: E2eVariant[] = [
      { name: 'no rules', rules: [], sentModel: REQUESTED, response: [], ledgerReads: 0 },
      {
        name: '10 rules, none fires',
        rules: await ruleSet(10, 'none'),
        sentModel: REQUESTED,
        response: [],
        ledgerReads: 0,
      },
      {
        name: `10 rules, the last fires (${REQUESTED} → ${REWRITTEN_TO})`,
        rules: await ruleSet(10, 'last'),
        sentModel: REWRITTEN_TO,
        response: [],
        ledgerReads: 0,
      },
    ];

    const proxies = variants.map((variant) => {
      // The in-memory ledger, with its reads counted: the reads a budget_used rule adds show here.
      const ledger: BudgetLedger = {
        ...memoryLedger,
        read: async (counter) => {
          variant.ledgerReads++;
          return memoryLedger.read(counter);
        },
      };
      return createProxy(
        proxyDeps(settings, {
          ...memoryPorts({ keys: keysOf(KEY), ledger, usage: nullSink }),
          teams: { ...noTeams, get: async (id) => (id === WEB_TEAM.team_id ? WEB_TEAM : undefined) },
          rules: async () => variant.rules,
        }),
      );
    });

    const send = async (i: number, url: string, call: (request: Request) => Promise<Response>) => {
      const started = performance.now();
      const response = await call(new Request(url, { method: 'POST', headers: HEADERS, body }));
      await response.text();
      if (!response.ok) throw new Error(`request ${i} answered ${response.status}`);
      return performance.now() - started;
    };
    const direct: number[] = [];
    const block = E2E_REQUESTS / ROUNDS;
    for (let round = -1; round < ROUNDS; round++) {
      // Round -1 is the warm-up of every variant.
      const count = round < 0 ? E2E_WARMUP : block;
      for (let i = 0; i < count; i++) {
        const took = await send(i, `${mock.url}/v1/messages`, (request) => fetch(request));
        if (round >= 0) direct.push(took);
      }
      for (const [v, variant] of variants.entries()) {
        const proxy = proxies[v]!;
        if (round === 0) variant.ledgerReads = 0;
        for (let i = 0; i < count; i++) {
          const took = await send(i, 'http://gateway.local/v1/messages', (request) => proxy.handle(request));
          // Bookkeeping runs after the response; let it finish outside the timed span.
          await proxy.drain();
          if (round >= 0) variant.response.push(took);
        }
        const sent = (mock.requests.at(-1)?.body as { model?: string } | undefined)?.model;
        if (sent !== variant.sentModel) throw new Error(`${variant.name}: the mock was sent ${sent}`);
        mock.requests.length = 0;
      }
      mock.requests.length = 0;
    }

    const d = percentiles(direct);
    const none = percentiles(variants[0]!.response);
    const three = (p: Percentiles) => [ms(p.p50), ms(p.p90), ms(p.p99)];
    const minus = (a: Percentiles, b: Percentiles) => ({
      p50: a.p50 - b.p50,
      p90: a.p90 - b.p90,
      p99: a.p99 - b.p99,
    });
    return [
      [
        'variant (sequential, in-process)',
        'p50 ms',
        'p90',
        'p99',
        'added p50',
        'p90',
        'p99',
        'vs no rules p50',
        'p90',
        'p99',
        'ledger reads/req',
      ],
      ['direct to the mock (reference)', ...three(d), '—', '—', '—', '—', '—', '—', '—'],
      ...variants.map((variant) => {
        const p = percentiles(variant.response);
        return [
          variant.name,
          ...three(p),
          ...three(minus(p, d)),
          ...three(minus(p, none)),
          (variant.ledgerReads / variant.response.length).toFixed(2),
        ];
      }),
    ];
  } finally {
    await mock.close();
  }
}

// ── Run and print ────────────────────────────────────────────────────────────────────────────────

async function main(): Promise<void> {
  const benchStarted = performance.now();
  const loadAtStart = loadavg()[0] ?? 0;
  const micro = await microTable();
  const compile = await compileTable();
  const e2e = await endToEndTable();

  printTable(
    `router.plan() per call, µs, after ${WARMUP} warm-up calls. Rules are key, team and global, all in ` +
      `scope; request: ${REQUESTED} from claude-code, team web. Every 4th rule mentions budget_used: the ` +
      'budget is read once per plan, and only when the evaluation reaches such a rule',
    micro,
  );
  printTable('Compiling conditions, µs: why the router compiles each rule once and keeps it', compile);
  printTable(
    `End to end: createProxy() in-process, one anthropic JSON request at a time to a local mock, ` +
      `${E2E_REQUESTS} per variant in ${ROUNDS} interleaved rounds, ms. "added" is variant minus direct at ` +
      'the same percentile; "vs no rules" is the routing cost. p99 rests on the slowest ' +
      `${E2E_REQUESTS / 100} requests, which GC pauses and other work on the machine dominate: compare p50 and p90`,
    e2e,
  );
  console.log(
    '\nThe 10-rule sets include budget_used rules (the 3rd and 7th), so a request that reaches them reads ' +
      "its budget counters: here from the in-memory ledger (the extra 'ledger reads/req'), in production " +
      'one DynamoDB GetItem per budget counter with a limit (key, its model and provider budgets, ' +
      'person, team, org: in parallel) per request, a network round trip this bench does not measure. A rule set without budget_used, or whose firing rule comes first, ' +
      'reads nothing.',
  );
  console.log(
    `\nbench wall time ${((performance.now() - benchStarted) / 1000).toFixed(1)} s; node ${process.version}, ` +
      `${availableParallelism()} CPUs, 1-min load average ${loadAtStart.toFixed(2)} at start and ` +
      `${(loadavg()[0] ?? 0).toFixed(2)} at the end (other work on the machine skews every figure)`,
  );
}

await main();
