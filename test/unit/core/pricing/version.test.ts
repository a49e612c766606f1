import { describe, expect, it } from 'vitest';
import { comparePriceVersions } from '../../../../functions/core/pricing/version.ts';

describe('price versions', () => {
  it('order catalog versions by their numbers, not as text', () => {
    // Prepare: as text, 0.1.10 < 0.1.9 and 0.10.0 < 0.9.0
    const versions = [
      'genai-prices@0.1.10',
      'genai-prices@0.9.0',
      'genai-prices@0.1.9',
      'genai-prices@0.10.0',
    ];

    // Act
    const sorted = [...versions].sort(comparePriceVersions);

    // Assess
    expect(sorted).toEqual([
      'genai-prices@0.1.9',
      'genai-prices@0.1.10',
      'genai-prices@0.9.0',
      'genai-prices@0.10.0',
    ]);
  });

  it('rank a re-pricing day above any catalog version, a stand-in as its catalog, and none lowest', () => {
    // Prepare
    const versions = [
      '2026-12-01',
      null,
      'genai-prices@0.1.10 default:claude-opus-4-8',
      '2026-11-01',
      'genai-prices@0.1.9',
    ];

    // Act
    const sorted = [...versions].sort(comparePriceVersions);

    // Assess
    expect(sorted).toEqual([
      null,
      'genai-prices@0.1.9',
      'genai-prices@0.1.10 default:claude-opus-4-8',
      '2026-11-01',
      '2026-12-01',
    ]);
  });
});
