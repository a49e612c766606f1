import { describe, expect, it } from 'vitest';
import { createModelCatalog, type ResolvedPrice } from '../../../../functions/core/pricing/catalog.ts';
import {
  affordableOutputTokens,
  cacheSavingsMicros,
  costMicros,
  maxCostMicros,
  promptTokens,
  type TokenUsage,
  ZERO_USAGE,
} from '../../../../functions/core/pricing/cost.ts';

/*
 * Working rule for the hand computations below: a price of P USD per million tokens is P micro-dollars
 * per token, so N tokens cost N × P µ$ before the single rounding at the end.
 */
const catalog = createModelCatalog();
const price = (model: string): ResolvedPrice => {
  const resolved = catalog.resolve(model);
  if (!resolved) throw new Error(`test setup: ${model} is not in the catalog`);
  return resolved.price;
};
const usage = (u: Partial<TokenUsage>): TokenUsage => ({ ...ZERO_USAGE, ...u });

describe('costMicros on claude-opus-4-5 (5 / 25 / 0.50 / 6.25 / 10)', () => {
  it.each([
    // 1,000 × 5 = 5,000
    ['fresh input', { input_tokens: 1_000 }, 5_000],
    // 2,000 × 25 = 50,000
    ['output', { output_tokens: 2_000 }, 50_000],
    // 10,000 × 0.50 = 5,000
    ['cache reads', { cache_read_tokens: 10_000 }, 5_000],
    // 1,000 × 6.25 = 6,250
    ['5-minute cache writes', { cache_write_5m_tokens: 1_000 }, 6_250],
    // 1,000 × 10 = 10,000
    ['1-hour cache writes', { cache_write_1h_tokens: 1_000 }, 10_000],
  ])('bills %s at its own rate', (_, tokens, expected) => {
    // Prepare
    const u = usage(tokens);

    // Act
    const cost = costMicros(u, price('claude-opus-4-5'));

    // Assess
    expect(cost).toBe(expected);
  });

  it('adds every token class of a typical Claude Code turn', () => {
    // Prepare
    // 3 × 5 = 15; 120,000 × 0.50 = 60,000; 2,000 × 6.25 = 12,500; 500 × 10 = 5,000; 800 × 25 = 20,000
    // total 97,515
    const u = usage({
      input_tokens: 3,
      cache_read_tokens: 120_000,
      cache_write_5m_tokens: 2_000,
      cache_write_1h_tokens: 500,
      output_tokens: 800,
    });

    // Act
    const cost = costMicros(u, price('claude-opus-4-5'));

    // Assess
    expect(cost).toBe(97_515);
  });

  it('does not bill reasoning tokens on top of the output tokens that already contain them', () => {
    // Prepare
    // 800 output × 25 = 20,000 whether or not 500 of them were reasoning
    const withReasoning = usage({ output_tokens: 800, reasoning_tokens: 500 });

    // Act
    const cost = costMicros(withReasoning, price('claude-opus-4-5'));

    // Assess
    expect(cost).toBe(20_000);
  });

  it('prices the other Opus 4.x snapshots the same and Opus 4.1 at its own, higher rates', () => {
    // Prepare
    // 1,000 in + 1,000 out: opus 4.5–4.8 → 5,000 + 25,000 = 30,000; opus 4.1 → 15,000 + 75,000 = 90,000
    const u = usage({ input_tokens: 1_000, output_tokens: 1_000 });

    // Act
    const costs = ['claude-opus-4-8', 'claude-opus-4-5-20251101', 'claude-opus-4-1'].map((m) =>
      costMicros(u, price(m)),
    );

    // Assess
    expect(costs).toEqual([30_000, 30_000, 90_000]);
  });
});

describe('costMicros on claude-sonnet-4-5 (3 / 15 / 0.30 / 3.75 / 6, above 200k: 6 / 22.50 / 0.60 / 7.50 / 12)', () => {
  it('uses the base tier for a prompt of exactly 200,000 tokens', () => {
    // Prepare
    // prompt = 150,000 + 50,000 = 200,000, not above the threshold:
    // 150,000 × 3 = 450,000; 50,000 × 0.30 = 15,000; 2,000 × 15 = 30,000 → 495,000
    const u = usage({ input_tokens: 150_000, cache_read_tokens: 50_000, output_tokens: 2_000 });

    // Act
    const cost = costMicros(u, price('claude-sonnet-4-5'));

    // Assess
    expect(cost).toBe(495_000);
  });

  it('bills the whole request at the long-context tier once input plus cache reads pass 200,000', () => {
    // Prepare
    // prompt = 1 + 200,000 = 200,001 > 200,000, so every class moves to the long tier:
    // 1 × 6 = 6; 200,000 × 0.60 = 120,000; 2,000 × 22.50 = 45,000 → 165,006
    // (the base tier would have given 3 + 60,000 + 30,000 = 90,003)
    const u = usage({ input_tokens: 1, cache_read_tokens: 200_000, output_tokens: 2_000 });

    // Act
    const cost = costMicros(u, price('claude-sonnet-4-5'));

    // Assess
    expect(cost).toBe(165_006);
  });

  it('counts cache writes towards the long-context threshold and bills them at the long rates', () => {
    // Prepare
    // prompt = 1,000 + 150,000 + 50,000 = 201,000 > 200,000:
    // 1,000 × 6 = 6,000; 150,000 × 7.50 = 1,125,000; 50,000 × 12 = 600,000; 1,000 × 22.50 = 22,500
    // total 1,753,500
    const u = usage({
      input_tokens: 1_000,
      cache_write_5m_tokens: 150_000,
      cache_write_1h_tokens: 50_000,
      output_tokens: 1_000,
    });

    // Act
    const cost = costMicros(u, price('claude-sonnet-4-5'));

    // Assess
    expect(cost).toBe(1_753_500);
  });

  it('does not count output tokens towards the long-context threshold', () => {
    // Prepare
    // prompt = 200,000 (not above); 64,000 output do not move it: 200,000 × 3 + 64,000 × 15 = 1,560,000
    const u = usage({ input_tokens: 200_000, output_tokens: 64_000 });

    // Act
    const cost = costMicros(u, price('claude-sonnet-4-5'));

    // Assess
    expect(cost).toBe(1_560_000);
  });

  it('applies the same tiers to a dated snapshot and to sonnet 4.5', () => {
    // Prepare
    // 100,000 × 3 + 1,000 × 15 = 315,000
    const u = usage({ input_tokens: 100_000, output_tokens: 1_000 });

    // Act
    const costs = ['claude-sonnet-4-20250514', 'claude-sonnet-4-5'].map((m) => costMicros(u, price(m)));

    // Assess
    expect(costs).toEqual([315_000, 315_000]);
  });

  it('measures the prompt as fresh input plus cache reads and both kinds of cache writes', () => {
    // Prepare
    const u = usage({
      input_tokens: 1,
      cache_read_tokens: 20,
      cache_write_5m_tokens: 300,
      cache_write_1h_tokens: 4_000,
      output_tokens: 50_000,
    });

    // Act
    const tokens = promptTokens(u);

    // Assess
    expect(tokens).toBe(4_321);
  });
});

describe('costMicros on OpenAI models, which have no cache-write price', () => {
  it.each([
    // gpt-5 1.25 / 10 / 0.125
    ['gpt-5', 'fresh input', { input_tokens: 1_000 }, 1_250], // 1,000 × 1.25
    ['gpt-5', 'output', { output_tokens: 1_000 }, 10_000], // 1,000 × 10
    ['gpt-5', 'cache reads', { cache_read_tokens: 1_000 }, 125], // 1,000 × 0.125
    ['gpt-5', '5-minute cache writes (input rate)', { cache_write_5m_tokens: 1_000 }, 1_250],
    ['gpt-5', '1-hour cache writes (input rate)', { cache_write_1h_tokens: 1_000 }, 1_250],
    ['gpt-5.1-codex', 'fresh input', { input_tokens: 8_000 }, 10_000], // 8,000 × 1.25
    // o4-mini 1.10 / 4.40 / 0.275
    ['o4-mini', 'fresh input', { input_tokens: 10_000 }, 11_000], // 10,000 × 1.10
    ['o4-mini', 'output', { output_tokens: 10_000 }, 44_000], // 10,000 × 4.40
    ['o4-mini', 'cache reads', { cache_read_tokens: 10_000 }, 2_750], // 10,000 × 0.275
    ['o4-mini', 'cache writes (input rate)', { cache_write_5m_tokens: 10_000 }, 11_000],
    // gpt-4.1-mini 0.40 / 1.60 / 0.10
    ['gpt-4.1-mini', 'fresh input', { input_tokens: 1_000_000 }, 400_000], // 1M × 0.40
    ['gpt-4.1-mini', 'output', { output_tokens: 1_000_000 }, 1_600_000], // 1M × 1.60
    ['gpt-4.1-mini', 'cache reads', { cache_read_tokens: 1_000_000 }, 100_000], // 1M × 0.10
    ['gpt-4.1-mini-2025-04-14', 'output (dated snapshot)', { output_tokens: 1_000 }, 1_600],
  ])('%s bills %s', (model, _, tokens, expected) => {
    // Prepare
    const u = usage(tokens);

    // Act
    const cost = costMicros(u, price(model));

    // Assess
    expect(cost).toBe(expected);
  });

  it('adds the classes of a mixed o4-mini request before rounding', () => {
    // Prepare
    // 1,234 × 1.10 = 1,357.4; 5,678 × 0.275 = 1,561.45; 910 × 4.40 = 4,004 → 6,922.85 → 6,923
    const u = usage({ input_tokens: 1_234, cache_read_tokens: 5_678, output_tokens: 910 });

    // Act
    const cost = costMicros(u, price('o4-mini'));

    // Assess
    expect(cost).toBe(6_923);
  });
});

describe('costMicros rounding', () => {
  it.each([
    [1, 0], // 0.125 µ$ → 0
    [3, 0], // 0.375 µ$ → 0
    [4, 1], // 0.5 µ$ → 1: Math.round rounds a half up
    [12, 2], // 1.5 µ$ → 2
    [20, 3], // 2.5 µ$ → 3: half up, not to even
  ])('rounds %i gpt-5 cache-read tokens to %i µ$', (tokens, expected) => {
    // Prepare
    const u = usage({ cache_read_tokens: tokens });

    // Act
    const cost = costMicros(u, price('gpt-5'));

    // Assess
    expect(cost).toBe(expected);
  });

  it('rounds once, after summing, not once per token class', () => {
    // Prepare
    // gpt-5: 1 × 1.25 + 2 × 0.125 = 1.5 → 2 (rounding each class first would give 1 + 0 = 1)
    // gpt-4.1-mini: 1 × 0.40 + 1 × 0.10 = 0.5 → 1 (per class: 0 + 0 = 0)
    const gpt5 = usage({ input_tokens: 1, cache_read_tokens: 2 });
    const mini = usage({ input_tokens: 1, cache_read_tokens: 1 });

    // Act
    const costs = [costMicros(gpt5, price('gpt-5')), costMicros(mini, price('gpt-4.1-mini'))];

    // Assess
    expect(costs).toEqual([2, 1]);
  });

  it('costs nothing for no tokens', () => {
    // Prepare
    const u = usage({});

    // Act
    const cost = costMicros(u, price('claude-opus-4-5'));

    // Assess
    expect(cost).toBe(0);
  });
});

describe('costMicros with large counts', () => {
  it('stays exact where decimal floats would drift', () => {
    // Prepare
    // o4-mini cache reads: 987,654,321 × 0.275 = 271,604,938.275 → 271,604,938
    // gpt-4.1-mini input: 123,456,789 × 0.40 = 49,382,715.6 → 49,382,716
    const reads = usage({ cache_read_tokens: 987_654_321 });
    const input = usage({ input_tokens: 123_456_789 });

    // Act
    const costs = [costMicros(reads, price('o4-mini')), costMicros(input, price('gpt-4.1-mini'))];

    // Assess
    expect(costs).toEqual([271_604_938, 49_382_716]);
  });

  it('prices a maximal long-context Sonnet request to the micro-dollar', () => {
    // Prepare
    // 13 × 6 = 78; 987,654 × 0.60 = 592,592.4; 11,111 × 7.50 = 83,332.5; 1,111 × 12 = 13,332;
    // 63,999 × 22.50 = 1,439,977.5 → 2,129,312.4 → 2,129,312
    const u = usage({
      input_tokens: 13,
      cache_read_tokens: 987_654,
      cache_write_5m_tokens: 11_111,
      cache_write_1h_tokens: 1_111,
      output_tokens: 63_999,
    });

    // Act
    const cost = costMicros(u, price('claude-sonnet-4-5'));

    // Assess
    expect(cost).toBe(2_129_312);
  });
});

describe('maxCostMicros', () => {
  it('bills the prompt at the 1-hour cache-write rate, the dearest way a prompt token is billed', () => {
    // Prepare
    // opus 4.5: 10,000 × max(5, 6.25, 10) = 100,000; 64,000 × 25 = 1,600,000 → 1,700,000
    const [prompt, output] = [10_000, 64_000];

    // Act
    const max = maxCostMicros(prompt, output, price('claude-opus-4-5'));

    // Assess
    expect(max).toBe(1_700_000);
  });

  it('bills the prompt at the input rate where cache writes cost input', () => {
    // Prepare
    // gpt-5: 10,000 × 1.25 = 12,500; 1,000 × 10 = 10,000 → 22,500
    const [prompt, output] = [10_000, 1_000];

    // Act
    const max = maxCostMicros(prompt, output, price('gpt-5'));

    // Assess
    expect(max).toBe(22_500);
  });

  it('rounds up so a reservation never falls short by a fraction', () => {
    // Prepare
    // gpt-5: 1 × 1.25 = 1.25 → 2; o4-mini: 1 × 1.10 + 1 × 4.40 = 5.5 → 6
    const gpt5 = price('gpt-5');
    const mini = price('o4-mini');

    // Act
    const maxes = [maxCostMicros(1, 0, gpt5), maxCostMicros(1, 1, mini)];

    // Assess
    expect(maxes).toEqual([2, 6]);
  });

  it('switches to the long-context tier only above 200,000 prompt tokens', () => {
    // Prepare
    // 200,000 × 6 + 1,000 × 15 = 1,215,000
    // 200,001 × 12 + 1,000 × 22.50 = 2,400,012 + 22,500 = 2,422,512
    const sonnet = price('claude-sonnet-4-5');

    // Act
    const maxes = [maxCostMicros(200_000, 1_000, sonnet), maxCostMicros(200_001, 1_000, sonnet)];

    // Assess
    expect(maxes).toEqual([1_215_000, 2_422_512]);
  });

  it('is never below the actual cost when the prompt is written to the 5-minute cache', () => {
    // Prepare
    const opus = price('claude-opus-4-5');
    const actual = usage({ cache_write_5m_tokens: 10_000, output_tokens: 64_000 });

    // Act
    const max = maxCostMicros(10_000, 64_000, opus);

    // Assess
    expect(max).toBeGreaterThanOrEqual(costMicros(actual, opus));
  });

  // 10,000 prompt tokens all written to the 1h cache + 64,000 output cost 100,000 + 1,600,000 = 1,700,000 µ$.
  it('is never below the actual cost when the prompt is written to the 1-hour cache', () => {
    // Prepare
    const opus = price('claude-opus-4-5');
    const actual = usage({ cache_write_1h_tokens: 10_000, output_tokens: 64_000 });

    // Act
    const max = maxCostMicros(10_000, 64_000, opus);

    // Assess
    expect(max).toBeGreaterThanOrEqual(costMicros(actual, opus));
  });
});

describe('affordableOutputTokens', () => {
  it('gives what is left after the prompt, divided by the output rate', () => {
    // Prepare
    // opus 4.5, $1 budget: prompt 10,000 × 10 (1h cache write) = 100,000; (1,000,000 − 100,000) / 25 = 36,000
    const budget = 1_000_000;

    // Act
    const tokens = affordableOutputTokens(budget, 10_000, price('claude-opus-4-5'));

    // Assess
    expect(tokens).toBe(36_000);
  });

  it('rounds down to whole tokens', () => {
    // Prepare
    // gpt-5: 105 / 10 = 10.5 → 10; (105 − 1 × 1.25) / 10 = 10.375 → 10; 99 / 10 = 9.9 → 9
    const gpt5 = price('gpt-5');

    // Act
    const tokens = [
      affordableOutputTokens(105, 0, gpt5),
      affordableOutputTokens(105, 1, gpt5),
      affordableOutputTokens(99, 0, gpt5),
    ];

    // Assess
    expect(tokens).toEqual([10, 10, 9]);
  });

  it('gives 0 when the budget does not even pay for the prompt, or pays it exactly', () => {
    // Prepare
    // opus 4.5 prompt of 10,000 reserves 100,000
    const opus = price('claude-opus-4-5');

    // Act
    const tokens = [
      affordableOutputTokens(99_999, 10_000, opus),
      affordableOutputTokens(100_000, 10_000, opus),
    ];

    // Assess
    expect(tokens).toEqual([0, 0]);
  });

  it('uses the long-context rates for a prompt above 200,000 tokens', () => {
    // Prepare
    // sonnet 4, $3: prompt 200,001 × 12 = 2,400,012; (3,000,000 − 2,400,012) / 22.50 = 26,666.1 → 26,666
    const budget = 3_000_000;

    // Act
    const tokens = affordableOutputTokens(budget, 200_001, price('claude-sonnet-4-5'));

    // Assess
    expect(tokens).toBe(26_666);
  });

  it('never affords more than the budget pays for when reserved with maxCostMicros', () => {
    // Prepare
    const cases: Array<[string, number, number]> = [
      ['claude-opus-4-5', 1_000_000, 10_000],
      ['claude-sonnet-4-5', 3_000_000, 200_001],
      ['gpt-5', 105, 1],
      ['o4-mini', 777_777, 33_333],
      ['gpt-4.1-mini', 12_345, 6_789],
    ];

    // Act
    const fits = cases.map(([model, budget, prompt]) => {
      const p = price(model);
      const out = affordableOutputTokens(budget, prompt, p);
      return {
        model,
        within: maxCostMicros(prompt, out, p) <= budget,
        oneMoreOver: maxCostMicros(prompt, out + 1, p) > budget,
      };
    });

    // Assess
    expect(fits.filter((f) => !f.within || !f.oneMoreOver)).toEqual([]);
  });
});

describe('reasoning tokens', () => {
  it('bills them once, at the output rate by default', () => {
    // Prepare
    // o4-mini 1.10/4.40: 100 × 1.10 + 1,000 output (400 of them reasoning) × 4.40 = 110 + 4,400
    const u = usage({ input_tokens: 100, output_tokens: 1_000, reasoning_tokens: 400 });

    // Act
    const cost = costMicros(u, price('o4-mini'));

    // Assess
    expect(cost).toBe(4_510);
  });

  it('bills them at their own rate where the catalog gives one', () => {
    // Prepare
    // 100 × 1 + 600 plain output × 4 + 400 reasoning × 2 = 100 + 2,400 + 800
    const catalog = createModelCatalog([
      {
        model: 'thinker',
        provider: 'openai',
        price: { input: '1', output: '4', reasoning: '2' },
        max_output_tokens: 1_000,
      },
    ]);
    const u = usage({ input_tokens: 100, output_tokens: 1_000, reasoning_tokens: 400 });

    // Act
    const cost = costMicros(u, catalog.resolve('thinker')!.price);

    // Assess
    expect(cost).toBe(3_300);
  });
});

describe('cacheSavingsMicros', () => {
  it('prices cache reads at the input rate less the cache-read rate', () => {
    // Prepare: claude-sonnet-4-5 input $3/M, cache read $0.30/M → $2.70 saved per million read.
    const price = createModelCatalog().resolve('claude-sonnet-4-5')!.price;

    // Act
    const saved = cacheSavingsMicros(1_000_000, price);

    // Assess
    expect(saved).toBe(2_700_000);
  });
});

describe('web searches', () => {
  it('bills each search run at $10 per 1,000 on top of the tokens', () => {
    // Prepare
    // sonnet 4.5: 1,000 × 3 + 100 × 15 + 3 × 10,000 = 3,000 + 1,500 + 30,000
    const u = usage({ input_tokens: 1_000, output_tokens: 100, web_search_requests: 3 });

    // Act
    const cost = costMicros(u, price('claude-sonnet-4-5'));

    // Assess
    expect(cost).toBe(34_500);
  });

  it('bills no search fee where the catalog gives none', () => {
    // Prepare
    const u = usage({ input_tokens: 1_000, web_search_requests: 3 });

    // Act
    const cost = costMicros(u, price('kimi-k2.5'));

    // Assess
    expect(cost).toBe(600);
  });
});

describe('the worst case of n choices and allowed searches', () => {
  it('holds the prompt once and the output cap once per choice', () => {
    // Prepare
    // gpt-4.1, the request: 100 × 2 + 8 × 1,000 × 8 = 200 + 64,000
    const gpt41 = price('gpt-4.1');

    // Act
    const max = maxCostMicros(100, 1_000, gpt41, { choices: 8, webSearches: 0 });

    // Assess
    expect(max).toBe(64_200);
    expect(max).toBeGreaterThanOrEqual(costMicros(usage({ input_tokens: 100, output_tokens: 8_000 }), gpt41));
  });

  it('holds every search the request allows', () => {
    // Prepare
    // sonnet 4.5: 1,000 × 6 (1h cache write) + 1,000 × 15 + 5 × 10,000 = 6,000 + 15,000 + 50,000
    const sonnet = price('claude-sonnet-4-5');

    // Act
    const max = maxCostMicros(1_000, 1_000, sonnet, { choices: 1, webSearches: 5 });

    // Assess
    expect(max).toBe(71_000);
  });

  it('affords each choice its share of what is left after the prompt and the searches', () => {
    // Prepare
    // gpt-4.1, 10,000 µ$: (10,000 − 100 × 2) / (8 × 8) = 153.1 → 153
    // sonnet 4.5, 100,000 µ$: (100,000 − 1,000 × 6 − 5 × 10,000) / 15 = 2,933.3 → 2,933
    // sonnet 4.5, 50,000 µ$: the five searches alone do not fit → 0

    // Act
    const tokens = [
      affordableOutputTokens(10_000, 100, price('gpt-4.1'), { choices: 8, webSearches: 0 }),
      affordableOutputTokens(100_000, 1_000, price('claude-sonnet-4-5'), { choices: 1, webSearches: 5 }),
      affordableOutputTokens(50_000, 1_000, price('claude-sonnet-4-5'), { choices: 1, webSearches: 5 }),
    ];

    // Assess
    expect(tokens).toEqual([153, 2_933, 0]);
  });

  it('never affords more than the budget pays for, whatever the choices and searches', () => {
    // Prepare
    const cases: Array<[string, number, number, number, number]> = [
      ['gpt-4.1', 10_000, 100, 8, 0],
      ['gpt-4.1-mini', 777_777, 3_333, 128, 0],
      ['claude-sonnet-4-5', 123_457, 999, 1, 7],
      ['claude-sonnet-4-5', 3_000_000, 200_001, 1, 3],
      ['claude-opus-4-5', 1_000_000, 10_000, 1, 10],
    ];

    // Act
    const fits = cases.map(([model, budget, prompt, choices, webSearches]) => {
      const p = price(model);
      const shape = { choices, webSearches };
      const out = affordableOutputTokens(budget, prompt, p, shape);
      return {
        model,
        within: maxCostMicros(prompt, out, p, shape) <= budget,
        oneMoreOver: maxCostMicros(prompt, out + 1, p, shape) > budget,
      };
    });

    // Assess
    expect(fits.filter((f) => !f.within || !f.oneMoreOver)).toEqual([]);
  });
});
