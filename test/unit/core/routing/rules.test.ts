import { describe, expect, it } from 'vitest';
import { createModelCatalog } from '../../../../functions/core/pricing/catalog.ts';
import {
  compileCondition,
  NewRuleSchema,
  readsBudget,
  resolveTarget,
  rulesFromConfig,
} from '../../../../functions/core/routing/rules.ts';

const catalog = createModelCatalog();
const vars = {
  model: 'claude-opus-4-5',
  provider: 'anthropic',
  agent: 'claude-code',
  team_id: 'web',
  user_id: '',
  key_alias: 'laptop',
  tags: ['ci'],
  headers: { 'x-tier': 'fast' },
  budget_used: 86.5,
};

describe('conditions', () => {
  it('compiles CEL once into a predicate over the routing variables', async () => {
    // Act
    const condition = await compileCondition(
      'budget_used > 85 && model.matches("^claude-opus-") && "ci" in tags',
    );

    // Assess
    expect(condition(vars)).toBe(true);
    expect(condition({ ...vars, budget_used: 12 })).toBe(false);
  });

  it.each([
    ['model ==', /does not compile/],
    ['budget_used', /must be a boolean expression; 'budget_used' is of type double/],
    ['cost > 1', /Unknown variable: cost/],
    ['model + 1 == 2', /does not compile/],
  ])('refuses %s with a message that says why', async (text, message) => {
    await expect(compileCondition(text)).rejects.toThrow(message);
  });

  it('knows which conditions need the budgets read', () => {
    expect(readsBudget('budget_used >= 90')).toBe(true);
    expect(readsBudget('model == "budget"')).toBe(false);
  });
});

describe('targets', () => {
  const opus = catalog.resolve('claude-opus-4-5-20251101');

  it.each([
    [{ model: 'claude-haiku-4-5', provider: null }, 'anthropic claude-haiku-4-5'],
    [{ model: null, provider: 'bedrock' }, 'bedrock global.anthropic.claude-opus-4-5-20251101-v1:0'],
    [{ model: null, provider: 'anthropic' }, 'anthropic claude-opus-4-5-20251101'],
    [{ model: 'claude-sonnet-4-5', provider: 'openrouter' }, 'openrouter claude-sonnet-4-5'],
    [{ model: 'claude-sonnet-4-5', provider: 'openai' }, 'none'],
    [{ model: 'gpt-5', provider: 'bedrock' }, 'none'],
    [{ model: null, provider: 'moonshot' }, 'none'],
  ] as const)('resolves %j against an opus request as %s', (target, expected) => {
    // Act
    const model = resolveTarget(catalog, target, opus);

    // Assess
    expect(model ? `${model.provider} ${model.upstream_model}` : 'none').toBe(expected);
  });
});

describe('rules from config', () => {
  it('checks each rule like one saved through the API, naming the one at fault', async () => {
    // Prepare
    const good = {
      name: 'alias',
      scope: 'global',
      condition: 'model == "fast"',
      targets: [{ model: 'claude-haiku-4-5' }],
    };
    const bad = { ...good, name: 'broken', condition: 'model ==' };

    // Act
    const rules = await rulesFromConfig(JSON.stringify([good]), catalog);

    // Assess
    expect(rules).toMatchObject([{ id: 'config-1', source: 'config', priority: 100, fallbacks: [] }]);
    await expect(rulesFromConfig(JSON.stringify([good, bad]), catalog)).rejects.toThrow(
      /TOLLGATE_ROUTING_RULES_JSON: rule 'broken': The condition does not compile/,
    );
    await expect(rulesFromConfig('[{"name":"x"}]', catalog)).rejects.toThrow(
      /TOLLGATE_ROUTING_RULES_JSON: entry 1 \('x'\): scope/,
    );
  });

  it('accepts the weights and fallbacks of the documented shape', () => {
    expect(
      NewRuleSchema.parse({
        name: 'split',
        scope: { team_id: 'web' },
        condition: 'true',
        targets: [{ model: 'gpt-5', weight: 3 }, { model: 'gpt-5.1' }],
        fallbacks: [{ provider: 'openrouter' }],
      }).targets,
    ).toEqual([{ model: 'gpt-5', weight: 3 }, { model: 'gpt-5.1' }]);
  });
});
