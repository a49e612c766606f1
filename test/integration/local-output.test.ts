/**
 * What `npm start` prints, as a person (or a log collector) sees it: one line per request with its
 * status, model, cost and time, never a prompt or a key; no AWS SDK notice about Node versions (the
 * local mode uses the SDK only to reach dynalite).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, startGatewayProcess } from '../support/gateway-process.ts';
import { type MockUpstream, startMockUpstream } from '../support/mock-upstream.ts';

let upstream: MockUpstream;
let gateway: GatewayProcess;

beforeAll(async () => {
  upstream = await startMockUpstream();
  // The gateway's own log level and format: info, and JSON lines since its output is a pipe here.
  gateway = await startGatewayProcess(upstream.url, { TOLLGATE_LOG_LEVEL: undefined });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

describe('the local gateway output', () => {
  it('logs each request once, with status, model, cost and time and nothing of its body or key', async () => {
    // Prepare
    const key = await gateway.createKey({ key_alias: 'output-check', max_budget: 10 });
    const prompt = 'a secret prompt about the payroll service';

    // Act
    for (let i = 0; i < 2; i++) {
      const response = await fetch(`${gateway.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': key, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'claude-haiku-4-5',
          max_tokens: 50,
          messages: [{ role: 'user', content: prompt }],
        }),
      });
      await response.text();
    }
    await gateway.records(2);

    // Assess
    const lines = gateway
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === 'request');
    expect(lines).toHaveLength(2);
    for (const line of lines)
      expect(line).toMatchObject({
        level: 'info',
        status: 200,
        outcome: 'success',
        model: 'claude-haiku-4-5',
        cost_micros: expect.any(Number),
        ms: expect.any(Number),
        key: 'output-check',
      });
    expect(gateway.output()).not.toContain(prompt);
    expect(gateway.output()).not.toContain(key);
  });

  it('prints no AWS SDK notice about Node versions', () => {
    // Prepare
    const output = gateway.output();

    // Act
    const notice = /NodeVersionSupportWarning|AWS SDK for JavaScript/.test(output);

    // Assess
    expect(notice).toBe(false);
  });
});
