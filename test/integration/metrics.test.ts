import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type MockUpstream, startMockUpstream } from '../support/mock-upstream.ts';

/** `GET /metrics` on the local server: the counters CloudWatch gets on AWS, as Prometheus text. */
let mock: MockUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  mock = await startMockUpstream();
  gateway = await startTestGateway(mock.url);
});
afterAll(async () => {
  await gateway?.close();
  await mock?.close();
});

const haiku = (key: string) =>
  fetch(`${gateway.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': key },
    body: JSON.stringify({
      model: 'claude-haiku-4-5',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'hi' }],
    }),
  });
const metricsPage = async () => {
  await gateway.proxy.drain();
  const response = await fetch(`${gateway.url}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text();
};

describe('the local /metrics page', () => {
  it('counts requests by outcome, provider errors by provider, refusals by scope, first bytes and renewals', async () => {
    // Prepare
    const { key } = await gateway.createKey({ key_alias: 'metered', user_id: 'mia', max_budget: 100 });
    const { key: poor } = await gateway.createKey({ key_alias: 'poor', user_id: 'pat', max_budget: 0.0001 });

    // Act: two served, one the provider fails, one refused by the key's budget
    for (let i = 0; i < 2; i++) await (await haiku(key)).text();
    mock.script.failWith = { status: 500 };
    const failed = await haiku(key);
    await failed.text();
    mock.script.failWith = undefined;
    const refused = await haiku(poor);
    await refused.text();
    const page = await metricsPage();

    // Assess
    expect(failed.status).toBe(500);
    expect(refused.status).toBe(402);
    expect(page).toContain('# TYPE tollgate_requests_total counter');
    expect(page).toContain('tollgate_requests_total{outcome="success"} 2');
    expect(page).toContain('tollgate_requests_total{outcome="upstream_error"} 1');
    expect(page).toContain('tollgate_requests_total{outcome="denied"} 1');
    expect(page).toContain('tollgate_upstream_requests_total{provider="anthropic"} 3');
    expect(page).toContain('tollgate_upstream_errors_total{provider="anthropic"} 1');
    expect(page).toContain('tollgate_refusals_total{scope="key"} 1');
    expect(page).toContain('# TYPE tollgate_ttfb_ms histogram');
    expect(page).toMatch(/^tollgate_ttfb_ms_count 2$/m);
    expect(page).toMatch(/^tollgate_gateway_overhead_ms_count [34]$/m);
    expect(page).toMatch(/^tollgate_lease_renewals_total [1-9]\d*$/m);
    // Nothing that names a key, a person or a model.
    expect(page).not.toMatch(/mia|pat|metered|poor|claude-haiku|sk-tg-/);
  });
});
