import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../functions/config.ts';
import { ConfigError } from '../../../functions/core/config-error.ts';
import { createModelCatalog, mergeModelOverrides } from '../../../functions/core/pricing/catalog.ts';
import { rulesFromConfig } from '../../../functions/core/routing/rules.ts';

function thrown(act: () => unknown): Error {
  try {
    act();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a throw');
}

describe('configuration errors', () => {
  it('name the variable, the entry and every field wrong in it, on one line', () => {
    // Prepare
    const json = JSON.stringify([
      { model: 'ok', provider: 'openai', price: { input: '1', output: '2' }, max_output_tokens: 10 },
      { model: 'bad', provider: 'acme', price: { input: '1.5', output: 'two' } },
    ]);

    // Act
    const err = thrown(() => mergeModelOverrides(json));

    // Assess
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).not.toContain('\n');
    expect(err.message).toMatch(/^TOLLGATE_MODELS_JSON: entry 2 \('bad'\): provider: expected one of /);
    expect(err.message).toContain('price.output: a decimal USD-per-million string');
    expect(err.message).toContain('max_output_tokens: missing (expected a number)');
  });

  it('say a setting is not JSON, naming it', () => {
    // Prepare
    const json = '[{"model":';

    // Act
    const err = thrown(() => mergeModelOverrides(json));

    // Assess
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/^TOLLGATE_MODELS_JSON: not valid JSON \(/);
  });

  it('name the environment variable, not the schema path', () => {
    // Prepare
    const env = { TOLLGATE_FAIR_OVERSHOOT_PCT: '250', TOLLGATE_LOG_LEVEL: 'loud' };

    // Act
    const err = thrown(() => loadConfig(env));

    // Assess
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/^TOLLGATE_LOG_LEVEL: expected one of .*; TOLLGATE_FAIR_OVERSHOOT_PCT: /);
  });

  it('refuse a SCIM token short enough to guess, naming the variable and not echoing the token', () => {
    // Prepare
    const env = { TOLLGATE_SCIM_TOKEN: 'short-scim-token' };

    // Act
    const err = thrown(() => loadConfig(env));

    // Assess
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/^TOLLGATE_SCIM_TOKEN: expected at least 32 characters/);
    expect(err.message).not.toContain('short-scim-token');
  });

  it('name a routing rule by its name', async () => {
    // Prepare
    const json = JSON.stringify([{ name: 'cheap-fridays', scope: 'global' }]);

    // Act
    const err = (await rulesFromConfig(json, createModelCatalog()).catch((e: unknown) => e)) as Error;

    // Assess
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(
      /^TOLLGATE_ROUTING_RULES_JSON: entry 1 \('cheap-fridays'\): .*condition: missing/,
    );
  });
});
