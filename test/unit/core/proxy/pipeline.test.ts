import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../functions/adapters/logger.ts';
import { loadConfig } from '../../../../functions/config.ts';
import { BudgetExceededError } from '../../../../functions/core/errors.ts';
import { hashKey } from '../../../../functions/core/governance/keys.ts';
import { DEFAULT_POLICY } from '../../../../functions/core/governance/scopes.ts';
import type { BudgetLedger } from '../../../../functions/core/ports/budgets.ts';
import type { VirtualKey } from '../../../../functions/core/ports/keys.ts';
import type { UsageSink } from '../../../../functions/core/ports/lake.ts';
import { createModelCatalog } from '../../../../functions/core/pricing/catalog.ts';
import { createProxy } from '../../../../functions/core/proxy/pipeline.ts';
import { defineRule, NewRuleSchema, type RoutingRule } from '../../../../functions/core/routing/rules.ts';
import type { UsageRecord } from '../../../../functions/core/usage/record.ts';
import {
  collectingNotifier,
  keysOf,
  memoryJournal,
  memoryLedger,
  noLimits,
  noRouting,
  noTeams,
  noUsers,
} from '../../../support/stores.ts';
import { virtualKey } from '../../../support/virtual-key.ts';

/** The pipeline in-process, with an upstream that records what it is sent and answers canned JSON. */
const SECRET = 'sk-tg-unit';
const key = virtualKey({ hash: hashKey(SECRET), key_alias: 'unit', user_id: 'u' });

interface Setup {
  rules?: RoutingRule[];
  /** Answers each upstream call; canned JSON by default. */
  answer?: (url: string, init: RequestInit) => Promise<Response>;
  ledger?: BudgetLedger;
  keyOverrides?: Partial<VirtualKey>;
  upstreamTimeoutMs?: number;
  usage?: UsageSink;
  /** The in-flight journal's first write takes this long (a slow disk, a DynamoDB round trip). */
  journalDelayMs?: number;
  journalFirst?: boolean;
}

const cannedJson = async () => Response.json({ id: 'x', usage: { input_tokens: 1, output_tokens: 1 } });

function setup({
  rules = [],
  answer = cannedJson,
  ledger = memoryLedger,
  keyOverrides,
  upstreamTimeoutMs,
  usage: sink,
  journalDelayMs = 0,
  journalFirst = true,
}: Setup = {}) {
  const sent: Array<{ url: string; body: string }> = [];
  const records: UsageRecord[] = [];
  const usage: UsageSink = {
    write: async (r) => {
      events.push('lake: record');
      if (sink) return sink.write(r);
      records.push(...r);
    },
  };
  const journal = memoryJournal();
  /** Entries whose write had completed when the provider was called, per call. */
  const journaledAtCall: number[] = [];
  let journaled = 0;
  /** What happened to each request's outcome, in order. */
  const events: string[] = [];
  const { begin, finishing } = journal;
  journal.begin = async (entry) => {
    await new Promise((r) => setTimeout(r, journalDelayMs));
    await begin(entry);
    journaled++;
  };
  journal.finishing = async (id, final) => {
    await new Promise((r) => setTimeout(r, journalDelayMs));
    await finishing(id, final);
    events.push('journal: final');
  };
  const proxy = createProxy({
    keys: keysOf({ ...key, ...keyOverrides }),
    teams: noTeams,
    users: noUsers,
    notifier: collectingNotifier(),
    policy: DEFAULT_POLICY,
    journal,
    limiter: noLimits,
    ledger: {
      ...ledger,
      // The ledger's contract: nothing reaches a counter before `after` resolves.
      settle: async (reservation, cost, after) => {
        await after;
        events.push('ledger: settle');
        return ledger.settle(reservation, cost);
      },
    },
    usage,
    upstream: async (url, init) => {
      journaledAtCall.push(journaled);
      sent.push({ url, body: String(init.body) });
      return answer(url, init);
    },
    clock: { now: () => new Date('2026-11-25T12:00:00Z') },
    catalog: createModelCatalog(),
    providers: loadConfig({ ANTHROPIC_API_KEY: 'a', OPENAI_API_KEY: 'o' }).providers,
    log: silentLogger,
    newRequestId: () => 'req',
    upstreamTimeoutMs: upstreamTimeoutMs ?? 10_000,
    journalFirst,
    maxBodyBytes: 1_000_000,
    routing: { ...noRouting, rules: async () => rules },
  });
  const post = async (path: string, body: string) => {
    const response = await proxy.handle(
      new Request(`https://gw.example${path}`, { method: 'POST', body, headers: { 'x-api-key': SECRET } }),
    );
    await response.text();
    await proxy.drain();
    return response;
  };
  return { post, sent, records, journal, journaledAtCall, events };
}

/** A full garbage collection, without starting the test process with --expose-gc. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

const routingRule = (input: Record<string, unknown>) =>
  defineRule(NewRuleSchema.parse({ name: 'test rule', scope: 'global', ...input }), createModelCatalog(), {
    id: 'r1',
    source: 'api',
    created_at: '2026-12-01T00:00:00.000Z',
  });

/** A ledger that remembers the lease and counters of every reservation, and refuses past a limit. */
function recordingLedger() {
  const reserved: Array<{ lease: string; scopes: string[] }> = [];
  const ledger: BudgetLedger = {
    ...memoryLedger,
    reserve: async (claims, lease) => {
      for (const c of claims) {
        if (c.counter.limit_micros !== null && c.amount_micros > c.counter.limit_micros) {
          throw new BudgetExceededError(
            c.counter.scope,
            c.counter.scope_id,
            c.counter.limit_micros,
            0,
            c.counter.resets_at,
          );
        }
      }
      reserved.push({
        lease: lease.id,
        scopes: claims.map((c) => `${c.counter.scope}:${c.counter.scope_id}`),
      });
      return { lease_id: lease.id, claims, binding: null };
    },
  };
  return { ledger, reserved };
}

describe('the proxy pipeline', () => {
  it('forwards a body it need not change byte for byte', async () => {
    // Prepare: odd spacing, key order and unicode escapes survive only if the bytes are not re-serialised
    const { post, sent } = setup();
    const body =
      '{ "max_tokens":64,  "model" : "claude-haiku-4-5",\n "messages":[{"role":"user","content":"caf\\u00e9"}]}';

    // Act
    await post('/v1/messages?beta=true', body);

    // Assess
    expect(sent).toEqual([{ url: 'https://api.anthropic.com/v1/messages?beta=true', body }]);
  });

  it('rewrites the body only where it must: usage reporting on an OpenAI stream', async () => {
    // Prepare
    const { post, sent } = setup();
    const body = '{"model":"gpt-4.1","stream":true,"messages":[]}';

    // Act
    await post('/v1/chat/completions', body);

    // Assess
    expect(JSON.parse(sent[0]!.body)).toEqual({
      model: 'gpt-4.1',
      stream: true,
      messages: [],
      stream_options: { include_usage: true },
    });
  });

  it('calls the provider only once the in-flight entry is written, where the journal says so', async () => {
    // Prepare: a journal whose write takes 20 ms, longer than the rest of the way to the provider.
    const body = '{"model":"claude-haiku-4-5","max_tokens":5,"messages":[]}';
    const first = setup({ journalDelayMs: 20, journalFirst: true });
    const beside = setup({ journalDelayMs: 20, journalFirst: false });

    // Act
    await first.post('/v1/messages', body);
    await beside.post('/v1/messages', body);

    // Assess: locally a kill -9 can never leave a provider call without an entry; on Lambda the call
    // does not wait for the DynamoDB write.
    expect(first.journaledAtCall).toEqual([1]);
    expect(beside.journaledAtCall).toEqual([0]);
    expect([first.records.length, beside.records.length]).toEqual([1, 1]);
  });

  it('writes the outcome to the journal before it settles or records it (write-ahead)', async () => {
    // Prepare: a journal slower than the ledger and the lake.
    const { post, events, records } = setup({ journalDelayMs: 20 });

    // Act
    await post('/v1/messages', '{"model":"claude-haiku-4-5","max_tokens":5,"messages":[]}');

    // Assess: a process that dies between the two leaves recovery the real record and cost, never a
    // `lost` estimate settled beside a cost or a record that already landed.
    expect(events[0]).toBe('journal: final');
    expect(events.slice(1).sort()).toEqual(['lake: record', 'ledger: settle']);
    expect(records).toHaveLength(1);
  });

  it.each([
    ['the provider waits for the journal', true],
    ['the journal is slower than the request (Lambda)', false],
  ])(
    'keeps the in-flight entry, with its own record, when the record cannot be written: %s',
    async (_, journalFirst) => {
      // Prepare: a lake that refuses every write.
      const { post, journal } = setup({
        usage: { write: async () => Promise.reject(new Error('disk full')) },
        journalDelayMs: 20,
        journalFirst,
      });

      // Act: `post` returns once the proxy has drained, as a Lambda invocation ends.
      await post('/v1/messages', '{"model":"claude-haiku-4-5","max_tokens":5,"messages":[]}');

      // Assess: recovery will write exactly this record later.
      expect([...journal.open.values()].map((e) => e.final?.record.outcome)).toEqual(['success']);
    },
  );

  it('writes exactly one record for a request, and forgets its in-flight entry once it is written', async () => {
    // Prepare
    const { post, records, journal } = setup();

    // Act
    await post('/v1/messages', '{"model":"claude-haiku-4-5","max_tokens":5,"messages":[]}');

    // Assess
    expect(journal.begun).toBe(1);
    expect(journal.open.size).toBe(0);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      request_id: 'req',
      outcome: 'success',
      input_tokens: 1,
      output_tokens: 1,
    });
  });

  it("lets go of a finished request's deadline: a busy gateway does not carry the last ten minutes of requests", async () => {
    // Prepare: a ten-minute deadline, as deployed; the signal each provider call got, weakly held
    const signals: Array<WeakRef<AbortSignal>> = [];
    const { post } = setup({
      upstreamTimeoutMs: 600_000,
      answer: async (_url, init) => {
        if (init.signal) signals.push(new WeakRef(init.signal));
        return cannedJson();
      },
    });

    // Act
    for (let i = 0; i < 5; i++)
      await post('/v1/messages', '{"model":"claude-haiku-4-5","max_tokens":5,"messages":[]}');
    await new Promise((r) => setImmediate(r));
    collectGarbage();

    // Assess: nothing keeps a finished request's signals (nor what their listeners reach) alive
    expect(signals).toHaveLength(5);
    expect(signals.filter((s) => s.deref() !== undefined)).toHaveLength(0);
  });

  it('skips a rule whose target is on a provider this gateway has no key for: the request goes as asked', async () => {
    // Prepare: this gateway has Anthropic and OpenAI keys only.
    const rule = await routingRule({
      name: 'via openrouter, else openai',
      condition: 'model == "gpt-4.1"',
      targets: [{ provider: 'openrouter' }],
      fallbacks: [{ provider: 'openai' }],
    });
    const { post, sent, records } = setup({ rules: [rule] });

    // Act
    const response = await post('/v1/chat/completions', '{"model":"gpt-4.1","messages":[]}');

    // Assess
    expect(response.status).toBe(200);
    expect(sent.map((s) => s.url)).toEqual(['https://api.openai.com/v1/chat/completions']);
    expect(records[0]).toMatchObject({ route_rule: null, attempts: 1, attempt_log: ['openai/gpt-4.1 200'] });
  });

  it('reserves each attempt under a lease of its own', async () => {
    // Prepare: OpenAI answers 503 once; the rule falls back from gpt-4.1 to gpt-4o.
    const { ledger, reserved } = recordingLedger();
    let calls = 0;
    const { post, records } = setup({
      ledger,
      rules: [
        await routingRule({
          condition: 'true',
          targets: [{ model: 'gpt-4.1' }],
          fallbacks: [{ model: 'gpt-4o' }],
        }),
      ],
      answer: async () => (++calls === 1 ? new Response('busy', { status: 503 }) : cannedJson()),
    });

    // Act
    const response = await post('/v1/chat/completions', '{"model":"gpt-4.1","messages":[]}');

    // Assess
    expect(response.status).toBe(200);
    expect(reserved.map((r) => r.lease)).toEqual(['req', 'req.1']);
    expect(records[0]?.attempt_log).toEqual(['openai/gpt-4.1 503', 'openai/gpt-4o 200']);
  });

  it("tries no fallback once the request's own deadline has passed", async () => {
    // Prepare: a non-streamed call that never answers, and a 50 ms deadline.
    const never = (_url: string, init: RequestInit) =>
      new Promise<Response>((_, reject) =>
        init.signal?.addEventListener('abort', () => reject(init.signal?.reason)),
      );
    const { post, sent, records } = setup({
      upstreamTimeoutMs: 50,
      rules: [
        await routingRule({
          condition: 'true',
          targets: [{ model: 'gpt-4.1' }],
          fallbacks: [{ model: 'gpt-4o' }],
        }),
      ],
      answer: never,
    });

    // Act
    const response = await post('/v1/chat/completions', '{"model":"gpt-4.1","messages":[]}');

    // Assess
    expect(response.status).toBe(504);
    expect(sent).toHaveLength(1);
    expect(records[0]?.attempt_log).toEqual(['openai/gpt-4.1 timeout']);
  });

  it("keeps a key's model budget by the client's name when a rule serves that same model", async () => {
    // Prepare: a 1 µ$ budget on the snapshot name; the rule only adds a fallback.
    const { ledger } = recordingLedger();
    const { post, sent } = setup({
      ledger,
      keyOverrides: { model_max_budget: { 'gpt-4.1-2025-04-14': { limit_micros: 1, duration: null } } },
      rules: [
        await routingRule({
          condition: 'true',
          targets: [{ provider: 'openai' }],
          fallbacks: [{ model: 'gpt-4o' }],
        }),
      ],
    });

    // Act
    const response = await post('/v1/chat/completions', '{"model":"gpt-4.1-2025-04-14","messages":[]}');

    // Assess
    expect(response.status).toBe(402);
    expect(sent).toHaveLength(0);
  });
});
