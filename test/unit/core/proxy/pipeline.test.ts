import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../functions/adapters/logger.ts';
import { loadConfig } from '../../../../functions/config.ts';
import { hashKey } from '../../../../functions/core/governance/keys.ts';
import { DEFAULT_POLICY } from '../../../../functions/core/governance/scopes.ts';
import type { UsageSink } from '../../../../functions/core/ports.ts';
import { createModelCatalog } from '../../../../functions/core/pricing/catalog.ts';
import { createProxy } from '../../../../functions/core/proxy/pipeline.ts';
import { defineRule, NewRuleSchema, type RoutingRule } from '../../../../functions/core/routing/rules.ts';
import type { UsageRecord } from '../../../../functions/core/usage/record.ts';
import {
  collectingNotifier,
  keysOf,
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

function setup(rules: RoutingRule[] = []) {
  const sent: Array<{ url: string; body: string }> = [];
  const records: UsageRecord[] = [];
  const ledger = memoryLedger;
  const usage: UsageSink = { write: async (r) => void records.push(...r) };
  const proxy = createProxy({
    keys: keysOf(key),
    teams: noTeams,
    users: noUsers,
    notifier: collectingNotifier(),
    policy: DEFAULT_POLICY,
    limiter: noLimits,
    ledger,
    usage,
    upstream: async (url, init) => {
      sent.push({ url, body: String(init.body) });
      return Response.json({ id: 'x', usage: { input_tokens: 1, output_tokens: 1 } });
    },
    clock: { now: () => new Date('2026-11-25T12:00:00Z') },
    catalog: createModelCatalog(),
    providers: loadConfig({ ANTHROPIC_API_KEY: 'a', OPENAI_API_KEY: 'o' }).providers,
    log: silentLogger,
    newRequestId: () => 'req',
    upstreamTimeoutMs: 10_000,
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
  return { post, sent, records };
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

  it('writes exactly one record for a request', async () => {
    // Prepare
    const { post, records } = setup();

    // Act
    await post('/v1/messages', '{"model":"claude-haiku-4-5","max_tokens":5,"messages":[]}');

    // Assess
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      request_id: 'req',
      outcome: 'success',
      input_tokens: 1,
      output_tokens: 1,
    });
  });

  it('skips a rule whose target is on a provider this gateway has no key for: the request goes as asked', async () => {
    // Prepare: this gateway has Anthropic and OpenAI keys only.
    const rule = defineRule(
      NewRuleSchema.parse({
        name: 'via openrouter, else openai',
        scope: 'global',
        condition: 'model == "gpt-4.1"',
        targets: [{ provider: 'openrouter' }],
        fallbacks: [{ provider: 'openai' }],
      }),
      createModelCatalog(),
      { id: 'r1', source: 'api', created_at: '2026-12-01T00:00:00.000Z' },
    );
    const { post, sent, records } = setup([rule]);

    // Act
    const response = await post('/v1/chat/completions', '{"model":"gpt-4.1","messages":[]}');

    // Assess
    expect(response.status).toBe(200);
    expect(sent.map((s) => s.url)).toEqual(['https://api.openai.com/v1/chat/completions']);
    expect(records[0]).toMatchObject({ route_rule: null, attempts: 1, attempt_log: ['openai/gpt-4.1 200'] });
  });
});
