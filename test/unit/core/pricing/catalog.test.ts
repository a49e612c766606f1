import { describe, expect, it } from 'vitest';
import {
  createModelCatalog,
  type ModelEntry,
  mergeModelOverrides,
  PRICE_VERSION,
  picosPerToken,
} from '../../../../functions/core/pricing/catalog.ts';

describe('picosPerToken', () => {
  it.each([
    ['5', 5_000_000],
    ['0.50', 500_000],
    ['0.125', 125_000],
    ['22.50', 22_500_000],
    ['0.275', 275_000],
    ['0.000001', 1],
    ['75', 75_000_000],
    [' 1.10 ', 1_100_000],
  ])('reads %j USD per million as %i picodollars per token', (text, expected) => {
    // Prepare
    const usdPerMillion = text;

    // Act
    const picos = picosPerToken(usdPerMillion);

    // Assess
    expect(picos).toBe(expected);
  });

  it.each(['', 'abc', '-1', '1.2345678', '1e3', '1,5', '.5', '5.', '$5', '0x10'])('rejects %j', (text) => {
    // Prepare
    const usdPerMillion = text;

    // Act
    const parse = () => picosPerToken(usdPerMillion);

    // Assess
    expect(parse).toThrow(/Invalid price/);
  });
});

describe('the default catalog', () => {
  const catalog = createModelCatalog();

  // Prices from DESIGN.md, USD per million: in / out / cache read / 5m write / 1h write, in picos per token.
  it.each([
    ['claude-opus-4-8', 'anthropic', [5, 25, 0.5, 6.25, 10]],
    ['claude-opus-4-5', 'anthropic', [5, 25, 0.5, 6.25, 10]],
    ['claude-opus-4-1', 'anthropic', [15, 75, 1.5, 18.75, 30]],
    ['claude-sonnet-4-5', 'anthropic', [3, 15, 0.3, 3.75, 6]],
    ['claude-haiku-4-5', 'anthropic', [1, 5, 0.1, 1.25, 2]],
    ['gpt-5', 'openai', [1.25, 10, 0.125, 1.25, 1.25]],
    ['gpt-5.1-codex', 'openai', [1.25, 10, 0.125, 1.25, 1.25]],
    ['gpt-5.3-codex', 'openai', [1.75, 14, 0.175, 1.75, 1.75]],
    ['gpt-4.1', 'openai', [2, 8, 0.5, 2, 2]],
    ['gpt-4.1-mini', 'openai', [0.4, 1.6, 0.1, 0.4, 0.4]],
    ['gpt-4o', 'openai', [2.5, 10, 1.25, 2.5, 2.5]],
    ['o3', 'openai', [2, 8, 0.5, 2, 2]],
    ['o4-mini', 'openai', [1.1, 4.4, 0.275, 1.1, 1.1]],
  ] as const)('prices %s as on its provider list', (model, provider, usd) => {
    // Prepare
    // Multiplying by 1e6 and rounding only restates the list price in picos; the catalog parses strings.
    const expected = usd.map((p) => Math.round(p * 1_000_000));

    // Act
    const resolved = catalog.resolve(model);

    // Assess
    expect(resolved?.provider).toBe(provider);
    const p = resolved?.price;
    expect([p?.input, p?.output, p?.cache_read, p?.cache_write_5m, p?.cache_write_1h]).toEqual(expected);
    expect(p?.version).toBe(PRICE_VERSION);
  });

  it('gives Sonnet 4.5 its long-context tier above 200,000 prompt tokens, and Opus 4.5 none', () => {
    // Prepare
    const models = ['claude-sonnet-4-5', 'claude-opus-4-5'];

    // Act
    const [sonnet, opus] = models.map((m) => catalog.resolve(m)?.price.long_context);

    // Assess
    expect(sonnet).toEqual({
      above_input_tokens: 200_000,
      input: 6_000_000,
      output: 22_500_000,
      cache_read: 600_000,
      cache_write_5m: 7_500_000,
      cache_write_1h: 12_000_000,
      reasoning: 22_500_000,
    });
    expect(opus).toBeNull();
  });

  it('takes the price in force on its day: Sonnet 4.6 lost its long-context premium on 2026-03-13', () => {
    // Prepare
    const at = (iso: string) =>
      createModelCatalog(undefined, undefined, { clock: { now: () => new Date(iso) } });

    // Act
    const [before, after] = ['2026-03-12T23:00:00Z', '2026-03-13T00:00:00Z'].map(
      (iso) => at(iso).resolve('claude-sonnet-4-6')?.price.long_context?.input ?? null,
    );

    // Assess
    expect(before).toBe(6_000_000);
    expect(after).toBeNull();
  });

  // The models the README's agents use, and the popular ones of each provider served.
  it.each([
    ['gpt-4o-mini', 'openai', 150_000],
    ['gpt-5-mini', 'openai', 250_000],
    ['gpt-5.1-codex-mini', 'openai', 250_000],
    ['o3-mini', 'openai', 1_100_000],
    ['claude-3-7-sonnet-20250219', 'anthropic', 3_000_000],
    ['claude-sonnet-4-5-20250929', 'anthropic', 3_000_000],
    ['kimi-k2-turbo-preview', 'moonshot', 1_150_000],
    ['kimi-k2-thinking', 'moonshot', 600_000],
    ['openrouter/openai/gpt-4o-mini', 'openrouter', 150_000],
    ['openrouter/anthropic/claude-sonnet-4.5', 'openrouter', 3_000_000],
    ['openrouter/moonshotai/kimi-k2.5', 'openrouter', 400_000],
    ['openrouter/x-ai/grok-code-fast-1', 'openrouter', 200_000],
    ['openrouter/deepseek/deepseek-chat-v3.1', 'openrouter', 210_000],
    ['openrouter/qwen/qwen3-coder', 'openrouter', 220_000],
    ['moonshot/kimi-k2.5', 'moonshot', 600_000],
  ])('resolves %s at %s (input %i picos a token)', (model, provider, input) => {
    // Prepare
    const requested = model;

    // Act
    const resolved = catalog.resolve(requested);

    // Assess
    expect(resolved).toMatchObject({ provider, price: { input, version: PRICE_VERSION } });
  });

  it.each([
    ['claude-sonnet-4-20250514', 'claude-sonnet-4'],
    ['claude-sonnet-4-5-20250929', 'claude-sonnet-4-5'],
    ['claude-opus-4-1-20250805', 'claude-opus-4-1'],
    ['claude-haiku-4-5-20251001', 'claude-haiku-4-5'],
    ['gpt-4.1-mini-2025-04-14', 'gpt-4.1-mini'],
    ['gpt-5-2025-08-07', 'gpt-5'],
    ['o4-mini-2025-04-16', 'o4-mini'],
  ])('resolves the dated snapshot %s to %s', (requested, canonical) => {
    // Prepare
    const name = requested;

    // Act
    const resolved = catalog.resolve(name);

    // Assess
    expect(resolved?.model).toBe(canonical);
  });

  it.each([
    'my-inhouse-model',
    'openrouter/acme/unheard-of',
    'bedrock/amazon.nova-pro-v1:0',
    'mistral/mistral-large',
    '',
  ])('does not resolve %j, a model it has no price for', (requested) => {
    // Prepare
    const name = requested;

    // Act
    const resolved = catalog.resolve(name);

    // Assess
    expect(resolved).toBeUndefined();
  });

  it('gives Opus 4.1 a 32k output default and Claude 4.5 models 64k', () => {
    // Prepare
    const models = ['claude-opus-4-1', 'claude-sonnet-4-5', 'gpt-5', 'gpt-4o'];

    // Act
    const caps = models.map((m) => catalog.resolve(m)?.max_output_tokens);

    // Assess
    expect(caps).toEqual([32_000, 64_000, 128_000, 16_384]);
  });
});

describe('a deployment catalog override', () => {
  it('prices models from its own entries under its own version', () => {
    // Prepare
    const entries: ModelEntry[] = [
      {
        model: 'kimi-k2-0905',
        provider: 'moonshot',
        price: { input: '0.60', output: '2.50', cache_read: '0.15' },
        max_output_tokens: 16_000,
      },
    ];

    // Act
    const catalog = createModelCatalog(entries, '2026-12-override');

    // Assess
    expect(catalog.models()).toEqual(['kimi-k2-0905']);
    expect(catalog.resolve('kimi-k2-0905')?.price).toMatchObject({
      input: 600_000,
      output: 2_500_000,
      cache_read: 150_000,
      cache_write_5m: 600_000,
      cache_write_1h: 600_000,
      long_context: null,
      web_search: 0,
      version: '2026-12-override',
    });
    // Models without an entry are still priced by the maintained catalog, under the same version.
    expect(catalog.resolve('claude-opus-4-5')?.price).toMatchObject({
      input: 5_000_000,
      version: '2026-12-override',
    });
  });
});

describe('per-search prices', () => {
  it('prices a web search at $10 per 1,000 (10,000 µ$) on every Claude model, and none where not listed', () => {
    // Prepare
    const catalog = createModelCatalog();
    const claude = catalog.models().filter((m) => m.startsWith('claude-'));

    // Act
    const fees = new Set(claude.map((m) => catalog.resolve(m)?.price.web_search));

    // Assess: picodollars per search.
    expect([...fees]).toEqual([10_000_000_000]);
    expect(catalog.resolve('kimi-k2.5')?.price.web_search).toBe(0);
    expect(catalog.resolve('bedrock/claude-sonnet-4-5')?.price.web_search).toBe(10_000_000_000);
  });

  it('takes a negotiated search price from a deployment override', () => {
    // Prepare
    const json = JSON.stringify([
      {
        model: 'claude-sonnet-4-5',
        provider: 'anthropic',
        price: { input: '3', output: '15', web_search: '7.5' },
        max_output_tokens: 64_000,
      },
    ]);

    // Act
    const catalog = createModelCatalog(mergeModelOverrides(json));

    // Assess
    expect(catalog.resolve('claude-sonnet-4-5')?.price.web_search).toBe(7_500_000_000);
    expect(catalog.resolve('claude-opus-4-5')?.price.web_search).toBe(10_000_000_000);
  });
});
