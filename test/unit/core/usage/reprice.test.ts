import { describe, expect, it } from 'vitest';
import { createModelCatalog } from '../../../../functions/core/pricing/catalog.ts';
import { repriceRecord } from '../../../../functions/core/usage/reprice.ts';
import { usageRecord } from '../../../support/usage-fixture.ts';

// claude-sonnet-4-5 at the default catalog's prices under a re-pricing's version: 3 in / 15 out µ$ per
// token, 10,000 µ$ per web search.
const catalog = createModelCatalog(undefined, '2026-12-01');
const base = { input_tokens: 1_000, output_tokens: 100, price_version: '2026-01-01' };

describe('repriceRecord and web searches', () => {
  it('bills the searches a record counted at the catalog’s per-search price', () => {
    // Prepare: 1,000 × 3 + 100 × 15 + 2 × 10,000
    const record = usageRecord({ ...base, web_search_requests: 2 });

    // Act
    const repriced = repriceRecord(record, catalog);

    // Assess
    expect(repriced).toMatchObject({ cost_micros: 24_500, shadow_cost_micros: 24_500 });
  });

  it('re-prices a record from before searches were counted (null) on its tokens alone', () => {
    // Prepare: 1,000 × 3 + 100 × 15
    const record = usageRecord({ ...base, schema_version: 3, web_search_requests: null });

    // Act
    const repriced = repriceRecord(record, catalog);

    // Assess
    expect(repriced).toMatchObject({ cost_micros: 4_500, web_search_requests: null });
  });
});
