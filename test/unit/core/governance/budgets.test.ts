import { encode } from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import {
  MIN_OUTPUT_TOKENS,
  promptTokensAtMost,
  reserveBudget,
} from '../../../../functions/core/governance/budgets.ts';
import type { BudgetLedger } from '../../../../functions/core/ports/budgets.ts';
import { createModelCatalog } from '../../../../functions/core/pricing/catalog.ts';

// reserveBudget against a real ledger (dynalite) is in test/integration/ledger.test.ts.

describe('promptTokensAtMost', () => {
  /** Texts that pack many tokens into few bytes, beside ordinary ones: the bound must hold for all. */
  const texts: Array<[string, string]> = [
    ['English prose', 'Read the failing test, then fix the parser so it keeps the last line. '.repeat(400)],
    ['TypeScript', 'export const x = (a: number[]) => a.map((n) => n * 2).filter(Boolean);\n'.repeat(300)],
    [
      'rare CJK ideographs',
      Array.from({ length: 20_000 }, (_, i) => String.fromCodePoint(0x20000 + ((i * 7) % 0xa6d0))).join(''),
    ],
    ['emoji', '🙂🚀🧪🔥'.repeat(3_000)],
    ['Greek, Cyrillic and Latin Extended', 'ΑβγΔжЖщЩĀăĆčĐęĞ'.repeat(2_000)],
    ['digits and punctuation', '0.1,-2;3:4!5?6'.repeat(3_000)],
    [
      'random code points',
      Array.from({ length: 20_000 }, (_, i) => String.fromCodePoint(0x100 + ((i * 7919) % 0xd000))).join(''),
    ],
  ];

  it.each(texts)('holds what o200k counts in %s, as a JSON body carries it', (_, text) => {
    // Prepare: the text as a chat request body, as a client sends it
    const body = JSON.stringify({ model: 'gpt-4.1-mini', messages: [{ role: 'user', content: text }] });

    // Act
    const bound = promptTokensAtMost(Buffer.byteLength(body));

    // Assess: OpenAI's tokenizer never counts more than the bound
    expect(encode(text).length).toBeLessThanOrEqual(bound);
  });
});

describe('reserveBudget', () => {
  it('lets a ledger failure other than an exhausted budget through without retrying', async () => {
    // Prepare
    let calls = 0;
    const failing: BudgetLedger = {
      async reserve() {
        calls += 1;
        throw new Error('ProvisionedThroughputExceeded');
      },
      async settle() {
        return [];
      },
      leaseHeld: async () => null,
      settleLease: async () => {},
      async read() {
        return { spent_micros: 0, committed_micros: 0, worst_committed_micros: 0 };
      },
    };
    const price = createModelCatalog().resolve('gpt-5')!.price;

    // Act
    const attempt = reserveBudget(
      failing,
      [],
      {
        promptTokens: 10,
        outputTokens: MIN_OUTPUT_TOKENS,
        price,
        fairOutputTokens: 4_096,
        fairOvershootPct: 10,
      },
      { id: 'r', expires_at: new Date('2026-11-25T12:10:00Z') },
    );

    // Assess
    await expect(attempt).rejects.toThrow('ProvisionedThroughputExceeded');
    expect(calls).toBe(1);
  });
});
