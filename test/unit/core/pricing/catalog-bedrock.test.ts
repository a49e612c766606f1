import { describe, expect, it } from 'vitest';
import {
  BEDROCK_DEFAULT_IDS,
  createModelCatalog,
  mergeModelOverrides,
  TOLLGATE_MODELS,
} from '../../../../functions/core/pricing/catalog.ts';

describe('bedrock/<model> names', () => {
  const catalog = createModelCatalog();

  // Bedrock's own list: a regional (geographic or in-region) endpoint of Claude 4.5 and later costs 10 %
  // more than Anthropic's price, a global one the same; a rate Bedrock does not list is Anthropic's.
  it.each([
    ['us.anthropic.claude-sonnet-4-5-20250929-v1:0', 'claude-sonnet-4-5', 3_300_000],
    ['anthropic.claude-haiku-4-5-20251001-v1:0', 'claude-haiku-4-5', 1_100_000],
    ['eu.anthropic.claude-sonnet-4-20250514-v1:0', 'claude-sonnet-4', 3_000_000],
    ['apac.anthropic.claude-sonnet-4-20250514-v1:0', 'claude-sonnet-4', 3_000_000],
    ['global.anthropic.claude-opus-4-5-20251101-v1:0', 'claude-opus-4-5', 5_000_000],
    ['us-gov.anthropic.claude-sonnet-4-5-20250929-v1:0', 'claude-sonnet-4-5', 3_300_000],
    ['us.anthropic.claude-opus-4-1-20250805-v1:0', 'claude-opus-4-1', 15_000_000],
    ['global.anthropic.claude-opus-4-6-v1', 'claude-opus-4-6', 5_000_000],
    ['anthropic.claude-sonnet-4-6', 'claude-sonnet-4-6', 3_300_000],
  ])(
    "prices the Bedrock id %s as %s at Bedrock's rate and sends the id unchanged",
    (bedrockId, canonical, input) => {
      // Prepare
      const requested = `bedrock/${bedrockId}`;

      // Act
      const resolved = catalog.resolve(requested);

      // Assess
      expect(resolved).toMatchObject({ provider: 'bedrock', model: canonical, upstream_model: bedrockId });
      expect(resolved?.price.input).toBe(input);
      // Bedrock lists no 1-hour cache write: Anthropic's rate, twice its input price.
      expect(resolved?.price.cache_write_1h).toBe(catalog.resolve(canonical)?.price.cache_write_1h);
    },
  );

  it.each([
    ['claude-sonnet-4-5', 'global.anthropic.claude-sonnet-4-5-20250929-v1:0'],
    ['claude-sonnet-4-5-20250929', 'global.anthropic.claude-sonnet-4-5-20250929-v1:0'],
    ['claude-haiku-4-5', 'global.anthropic.claude-haiku-4-5-20251001-v1:0'],
    ['claude-opus-4-1', 'us.anthropic.claude-opus-4-1-20250805-v1:0'],
  ])('sends the short name bedrock/%s to the Bedrock id %s', (name, bedrockId) => {
    // Prepare
    const requested = `bedrock/${name}`;

    // Act
    const resolved = catalog.resolve(requested);

    // Assess
    expect(resolved).toMatchObject({ provider: 'bedrock', upstream_model: bedrockId });
  });

  it('has a default Bedrock id for catalog models only, each of them a Bedrock Claude id', () => {
    // Prepare
    const known = new Set(TOLLGATE_MODELS.map((m) => m.model));

    // Act
    const defaults = [...BEDROCK_DEFAULT_IDS.entries()];

    // Assess
    for (const [model, bedrockId] of defaults) {
      expect(known).toContain(model);
      expect(catalog.resolve(`bedrock/${bedrockId}`)?.model).toBe(model);
    }
  });

  it.each([
    'bedrock/amazon.nova-pro-v1:0',
    'bedrock/anthropic.claude-3-7-sonnet-20250219-v1:0',
    'bedrock/us.anthropic.claude-sonnet-9-v1:0',
    'bedrock/gpt-5',
    'bedrock/kimi-k2.5',
    'bedrock/',
  ])('does not resolve %j, which names no Claude model it has a price for', (requested) => {
    // Prepare
    const name = requested;

    // Act
    const resolved = catalog.resolve(name);

    // Assess
    expect(resolved).toBeUndefined();
  });

  it('sends a model whose deployment entry names Bedrock as its provider to its default Bedrock id', () => {
    // Prepare
    const overrides = JSON.stringify([
      {
        model: 'claude-sonnet-4-5',
        provider: 'bedrock',
        price: { input: '3', output: '15', cache_read: '0.30', cache_write_5m: '3.75' },
        max_output_tokens: 64_000,
      },
    ]);

    // Act
    const resolved = createModelCatalog(mergeModelOverrides(overrides)).resolve('claude-sonnet-4-5');

    // Assess
    expect(resolved).toMatchObject({
      provider: 'bedrock',
      model: 'claude-sonnet-4-5',
      upstream_model: 'global.anthropic.claude-sonnet-4-5-20250929-v1:0',
    });
  });
});
