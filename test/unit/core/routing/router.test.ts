import { describe, expect, it } from 'vitest';
import type { Logger } from '../../../../functions/core/ports/logging.ts';
import { createModelCatalog } from '../../../../functions/core/pricing/catalog.ts';
import { createRouter, type RouteRequest } from '../../../../functions/core/routing/router.ts';
import { defineRule, NewRuleSchema, type RoutingRule } from '../../../../functions/core/routing/rules.ts';
import { virtualKey } from '../../../support/virtual-key.ts';

const catalog = createModelCatalog();
let sequence = 0;
const rule = (input: Record<string, unknown>): Promise<RoutingRule> =>
  defineRule(NewRuleSchema.parse({ name: `rule ${++sequence}`, scope: 'global', ...input }), catalog, {
    id: `r${sequence}`,
    source: 'api',
    created_at: `2026-12-01T00:00:${String(sequence % 60).padStart(2, '0')}.000Z`,
  });

function logger() {
  const warnings: Array<Record<string, unknown>> = [];
  const log: Logger = {
    debug: () => {},
    info: () => {},
    warn: (_event, fields) => void warnings.push(fields ?? {}),
    error: () => {},
  };
  return { log, warnings };
}

const request = (overrides: Partial<Omit<RouteRequest, 'asked'>> = {}): RouteRequest => {
  const r = requestFields(overrides);
  return { ...r, asked: catalog.resolve(r.requested) };
};
const requestFields = (overrides: Partial<Omit<RouteRequest, 'asked'>>): Omit<RouteRequest, 'asked'> => ({
  who: {
    key: virtualKey({ key_alias: 'laptop', team_id: 'web', user_id: 'ann' }),
    team: undefined,
    user: undefined,
  },
  requested: 'claude-opus-4-5',
  agent: 'claude-code',
  tags: ['ci'],
  headers: new Headers({ 'x-tier': 'fast', authorization: 'Bearer sk-secret', 'x-api-key': 'sk-secret' }),
  seed: 'req-1',
  ...overrides,
});

function router(rules: RoutingRule[], maxAttempts = 3) {
  const { log, warnings } = logger();
  let budgetReads = 0;
  const instance = createRouter({ rules: async () => rules, catalog, log, maxAttempts });
  const plan = (r: RouteRequest = request(), budget = 0, usable = () => true) =>
    instance.plan(r, {
      usable,
      budgetUsed: async () => {
        budgetReads++;
        return budget;
      },
    });
  return { plan, warnings, budgetReads: () => budgetReads };
}

describe('the router', () => {
  it('returns no plan when no rule fires, so the request goes as asked', async () => {
    // Prepare
    const { plan } = router([
      await rule({ condition: 'model == "gpt-5"', targets: [{ model: 'gpt-5-codex' }] }),
    ]);

    // Act
    const result = await plan();

    // Assess
    expect(result).toBeNull();
  });

  it('runs key rules, then team rules, then global ones, by priority within each', async () => {
    // Prepare: every rule fires; the list is deliberately out of order.
    const rules = [
      await rule({ priority: 1, condition: 'true', targets: [{ model: 'claude-haiku-4-5' }] }),
      await rule({
        scope: { team_id: 'web' },
        priority: 5,
        condition: 'true',
        targets: [{ model: 'claude-sonnet-4' }],
      }),
      await rule({
        scope: { key_alias: 'laptop' },
        priority: 50,
        condition: 'true',
        targets: [{ model: 'claude-sonnet-4-5' }],
      }),
      await rule({
        scope: { key_alias: 'laptop' },
        priority: 10,
        condition: 'true',
        targets: [{ model: 'claude-opus-4-1' }],
      }),
      await rule({
        scope: { key_alias: 'other' },
        priority: 0,
        condition: 'true',
        targets: [{ model: 'claude-opus-4' }],
      }),
    ];
    const { plan } = router(rules);

    // Act
    const mine = await plan();
    const teamOnly = await plan(
      request({ who: { key: virtualKey({ team_id: 'web' }), team: undefined, user: undefined } }),
    );
    const nobody = await plan(request({ who: { key: virtualKey(), team: undefined, user: undefined } }));

    // Assess
    expect(mine?.models.map((m) => m.model)).toEqual(['claude-opus-4-1']);
    expect(teamOnly?.models.map((m) => m.model)).toEqual(['claude-sonnet-4']);
    expect(nobody?.models.map((m) => m.model)).toEqual(['claude-haiku-4-5']);
  });

  it('reads the budgets only when a rule it reaches looks at budget_used', async () => {
    // Prepare: the first rule fires without the budget; the second would need it.
    const { plan, budgetReads } = router([
      await rule({ priority: 1, condition: '"ci" in tags', targets: [{ model: 'claude-haiku-4-5' }] }),
      await rule({ priority: 2, condition: 'budget_used > 85', targets: [{ model: 'claude-sonnet-4-5' }] }),
    ]);

    // Act
    const withTag = await plan();
    const readsAfterFirst = budgetReads();
    const withoutTag = await plan(request({ tags: [] }), 86);

    // Assess
    expect(withTag?.models[0]?.model).toBe('claude-haiku-4-5');
    expect(readsAfterFirst).toBe(0);
    expect(withoutTag?.models[0]?.model).toBe('claude-sonnet-4-5');
    expect(budgetReads()).toBe(1);
  });

  it.each([
    ['budget_used > 85', 85, false],
    ['budget_used > 85', 85.5, true],
    ['headers["x-tier"] == "fast"', 0, true],
    ['"authorization" in headers || "x-api-key" in headers', 0, false],
    ['team_id == "web" && user_id == "ann" && key_alias == "laptop" && agent == "claude-code"', 0, true],
    ['provider == "anthropic"', 0, true],
  ])('evaluates %s (budget %d % used) to %s', async (condition, budget, fires) => {
    // Prepare
    const { plan } = router([await rule({ condition, targets: [{ model: 'claude-haiku-4-5' }] })]);

    // Act
    const result = await plan(request(), budget);

    // Assess
    expect(result !== null).toBe(fires);
  });

  it('treats a condition that fails at run time as not holding, and says so in the log', async () => {
    // Prepare: the request has no x-team header, so the lookup fails.
    const { plan, warnings } = router([
      await rule({
        priority: 1,
        condition: 'headers["x-team"] == "web"',
        targets: [{ model: 'claude-haiku-4-5' }],
      }),
      await rule({ priority: 2, condition: 'true', targets: [{ model: 'claude-sonnet-4-5' }] }),
    ]);

    // Act
    const result = await plan();

    // Assess
    expect(result?.models[0]?.model).toBe('claude-sonnet-4-5');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.rule_id).toMatch(/^r\d+$/);
  });

  it('skips a rule none of whose targets this request may use, and drops unusable fallbacks', async () => {
    // Prepare: haiku is not allowed for this request.
    const usable = (m: { model: string }) => m.model !== 'claude-haiku-4-5';
    const { plan } = router([
      await rule({ priority: 1, condition: 'true', targets: [{ model: 'claude-haiku-4-5' }] }),
      await rule({
        priority: 2,
        condition: 'true',
        targets: [{ model: 'claude-sonnet-4-5' }],
        fallbacks: [{ model: 'claude-haiku-4-5' }, { provider: 'bedrock', model: 'claude-sonnet-4-5' }],
      }),
    ]);

    // Act
    const result = await plan(request(), 0, usable as never);

    // Assess
    expect(result?.rule.name).toMatch(/^rule \d+$/);
    expect(result?.models.map((m) => `${m.provider}/${m.model}`)).toEqual([
      'anthropic/claude-sonnet-4-5',
      'bedrock/claude-sonnet-4-5',
    ]);
  });

  it('keeps the id the client sent for a target that only names its own provider, and bounds the attempts', async () => {
    // Prepare
    const { plan } = router(
      [
        await rule({
          condition: 'true',
          targets: [{ provider: 'anthropic' }],
          fallbacks: [{ provider: 'bedrock' }, { provider: 'anthropic' }, { model: 'claude-sonnet-4-5' }],
        }),
      ],
      2,
    );

    // Act
    const result = await plan(request({ requested: 'claude-opus-4-5-20251101' }));

    // Assess: the duplicate fallback is dropped, and the third is past the bound of two attempts.
    expect(result?.models.map((m) => `${m.provider} ${m.upstream_model}`)).toEqual([
      'anthropic claude-opus-4-5-20251101',
      'bedrock global.anthropic.claude-opus-4-5-20251101-v1:0',
    ]);
  });

  it("falls back to the target's model, not the one the rule moved away from", async () => {
    // Prepare: opus steps down to sonnet; Bedrock is the fallback, without a model named.
    const { plan } = router([
      await rule({
        condition: 'true',
        targets: [{ model: 'claude-sonnet-4-5' }],
        fallbacks: [{ provider: 'bedrock' }],
      }),
    ]);

    // Act
    const result = await plan(request({ requested: 'claude-opus-4-5' }));

    // Assess
    expect(result?.models.map((m) => `${m.provider}/${m.model}`)).toEqual([
      'anthropic/claude-sonnet-4-5',
      'bedrock/claude-sonnet-4-5',
    ]);
  });

  it('shares traffic among weighted targets by weight, the same way for the same request id', async () => {
    // Prepare
    const { plan } = router([
      await rule({
        condition: 'true',
        targets: [
          { model: 'claude-sonnet-4-5', weight: 3 },
          { model: 'claude-haiku-4-5', weight: 1 },
        ],
      }),
    ]);

    // Act
    const served: Record<string, number> = {};
    for (let i = 0; i < 4_000; i++) {
      const model = (await plan(request({ seed: `9f1c2a7e-${i}` })))?.models[0]?.model ?? '';
      served[model] = (served[model] ?? 0) + 1;
    }
    const again = await plan(request({ seed: '9f1c2a7e-7' }));
    const first = await plan(request({ seed: '9f1c2a7e-7' }));

    // Assess: 3 to 1, within a few percent.
    expect((served['claude-sonnet-4-5'] ?? 0) / 4_000).toBeGreaterThan(0.71);
    expect((served['claude-sonnet-4-5'] ?? 0) / 4_000).toBeLessThan(0.79);
    expect(again?.models[0]?.model).toBe(first?.models[0]?.model);
  });
});
