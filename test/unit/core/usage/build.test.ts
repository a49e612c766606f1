import { describe, expect, it } from 'vitest';
import type { VirtualKey } from '../../../../functions/core/ports/keys.ts';
import { type RequestFacts, toUsageRecord } from '../../../../functions/core/usage/build.ts';
import { USAGE_SCHEMA_VERSION, UsageRecordSchema } from '../../../../functions/core/usage/record.ts';

const key: VirtualKey = {
  hash: 'f'.repeat(64),
  key_id: 'ffffffffffff',
  key_alias: 'laptop',
  user_id: 'alice',
  team_id: 'platform',
  models: [],
  max_budget_micros: 10_000_000,
  budget_duration: 'monthly',
  metadata: {},
  tags: ['cli', 'eu'],
  billing_type: 'usage',
  soft_budget_micros: null,
  budget_mode: 'strict',
  model_max_budget: {},
  provider_max_budget: {},
  max_parallel_requests: null,
  rpm_limit: null,
  tpm_limit: null,
  blocked: false,
  created_at: '2026-11-01T00:00:00.000Z',
  expires_at: null,
  key_name: 'sk-tg-...ffff',
  budget_parent: null,
};

const facts = (overrides: Partial<RequestFacts> = {}): RequestFacts => ({
  request_id: 'req-42',
  started: new Date('2026-11-25T23:59:59.500Z'),
  ended: new Date('2026-11-26T00:00:02.250Z'),
  first_byte: new Date('2026-11-25T23:59:59.900Z'),
  upstream_started: new Date('2026-11-25T23:59:59.510Z'),
  upstream_ended: new Date('2026-11-26T00:00:02.240Z'),
  tags: ['cli', 'eu'],
  route: '/v1/messages',
  protocol: 'anthropic-messages',
  agent: 'claude-code',
  agent_version: '2.0.14',
  session_id: '0a6f3e8e-4c1b-4b7e-9a51-2f1f7d9c1e42',
  key,
  provider: 'anthropic',
  model_requested: 'claude-sonnet-4-5-20250929',
  model_used: 'claude-sonnet-4-5',
  stream: true,
  status: 200,
  outcome: 'success',
  error_type: undefined,
  usage: {
    input_tokens: 10,
    output_tokens: 57,
    cache_read_tokens: 2_000,
    cache_write_5m_tokens: 100,
    cache_write_1h_tokens: 200,
    reasoning_tokens: 0,
  },
  usage_source: 'provider',
  cost_micros: 3_210,
  shadow_cost_micros: 3_210,
  reserved_micros: 990_000,
  price_version: '2026-11-01',
  rule: undefined,
  attempts: ['anthropic/claude-sonnet-4-5 200'],
  cost_as_requested_micros: undefined,
  provider_request_id: 'req_011CVx7Fq2ZtQn5e8Yd3Wm4K',
  ...overrides,
});

describe('toUsageRecord', () => {
  it('builds a record the schema accepts, dated by when the request started', () => {
    // Prepare
    const f = facts();

    // Act
    const record = toUsageRecord(f);

    // Assess
    expect(UsageRecordSchema.parse(record)).toEqual(record);
    expect(record).toMatchObject({
      schema_version: USAGE_SCHEMA_VERSION,
      ts: '2026-11-25T23:59:59.500Z',
      dt: '2026-11-25',
      key_id: 'ffffffffffff',
      key_alias: 'laptop',
      user_id: 'alice',
      team_id: 'platform',
      error_type: null,
      input_tokens: 10,
      output_tokens: 57,
      cache_read_tokens: 2_000,
      cache_write_5m_tokens: 100,
      cache_write_1h_tokens: 200,
      latency_ms: 2_750,
      ttfb_ms: 400,
      // upstream 23:59:59.510 → 00:00:02.240 is 2,730 ms; the gateway added the other 20 ms
      upstream_ms: 2_730,
      overhead_ms: 20,
      tags: ['cli', 'eu'],
      provider_request_id: 'req_011CVx7Fq2ZtQn5e8Yd3Wm4K',
    });
  });

  it('records a request refused before any key or upstream was known, with zero tokens', () => {
    // Prepare
    const f = facts({
      key: undefined,
      provider: undefined,
      model_requested: undefined,
      model_used: undefined,
      session_id: undefined,
      first_byte: undefined,
      upstream_started: undefined,
      upstream_ended: undefined,
      tags: [],
      status: 401,
      outcome: 'denied',
      error_type: 'authentication_error',
      usage: undefined,
      usage_source: 'none',
      cost_micros: 0,
      reserved_micros: 0,
      price_version: undefined,
    });

    // Act
    const record = toUsageRecord(f);

    // Assess
    expect(UsageRecordSchema.safeParse(record).success).toBe(true);
    expect(record).toMatchObject({
      key_id: null,
      user_id: null,
      provider: null,
      model_used: null,
      session_id: null,
      ttfb_ms: null,
      upstream_ms: null,
      overhead_ms: null,
      price_version: null,
      input_tokens: 0,
      output_tokens: 0,
      reasoning_tokens: 0,
      tags: [],
    });
  });

  it('never records a negative latency when the clock steps back', () => {
    // Prepare
    const f = facts({
      started: new Date('2026-11-25T12:00:01.000Z'),
      ended: new Date('2026-11-25T12:00:00.000Z'),
      first_byte: new Date('2026-11-25T12:00:00.500Z'),
    });

    // Act
    const record = toUsageRecord(f);

    // Assess
    expect([record.latency_ms, record.ttfb_ms]).toEqual([0, 0]);
  });
});
