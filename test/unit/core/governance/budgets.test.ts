import { describe, expect, it } from 'vitest';
import {
  estimatePromptTokensForReservation,
  MIN_OUTPUT_TOKENS,
  reserveBudget,
} from '../../../../functions/core/governance/budgets.ts';
import type { BudgetLedger } from '../../../../functions/core/ports/budgets.ts';
import { createModelCatalog } from '../../../../functions/core/pricing/catalog.ts';

// reserveBudget against a real ledger (dynalite) is in test/integration/ledger.test.ts.

describe('estimatePromptTokensForReservation', () => {
  it.each([
    [0, 0],
    [1, 1],
    [2, 1],
    [3, 2],
    [400_001, 200_001],
  ])('counts %i body bytes as %i prompt tokens (two bytes a token, rounded up)', (bytes, tokens) => {
    // Prepare
    const bodyBytes = bytes;

    // Act
    const estimate = estimatePromptTokensForReservation(bodyBytes);

    // Assess
    expect(estimate).toBe(tokens);
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
