import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findProvider, type Provider } from '@pydantic/genai-prices';
import { describe, expect, it } from 'vitest';
import { CATALOG_DATA, decodePrice, encodePrice } from '../../../functions/core/pricing/catalog-data.ts';
import { CATALOG_PROVIDERS, decimal, priceChanges, toCatalogData, toPrice } from '../../../scripts/prices.ts';

const ROOT = join(import.meta.dirname, '../../..');

describe('the price data the gateway carries', () => {
  it('is what prices:update makes of the installed catalog package (run it after upgrading)', () => {
    // Prepare
    const pkg = JSON.parse(
      readFileSync(join(ROOT, 'node_modules/@pydantic/genai-prices/package.json'), 'utf8'),
    ) as { version: string };
    const providers = Object.keys(CATALOG_PROVIDERS).map(
      (id) => findProvider({ providerId: id }) as Provider,
    );

    // Act
    const made = toCatalogData(providers, `genai-prices@${pkg.version}`);

    // Assess
    expect(CATALOG_DATA.version).toBe(`genai-prices@${pkg.version}`);
    expect(priceChanges(CATALOG_DATA, made)).toEqual([]);
  });

  it('turns the package floats into the decimals they were written as', () => {
    // Prepare
    const floats = [0.3, 1.625, 0.075, 22.5, 3, 0.000001];

    // Act
    const texts = floats.map(decimal);

    // Assess
    expect(texts).toEqual(['0.3', '1.625', '0.075', '22.5', '3', '0.000001']);
  });

  it('makes a tiered price the long-context tier, 1-hour writes and searches included', () => {
    // Prepare
    const tier = (base: number, price: number) => ({ base, tiers: [{ start: 200_000, price }] });
    const price = {
      input_mtok: tier(3, 6),
      output_mtok: tier(15, 22.5),
      cache_read_mtok: tier(0.3, 0.6),
      cache_write_mtok: tier(3.75, 7.5),
      cache_write_1h_mtok: 6,
      web_searches_kcount: 10,
    };

    // Act
    const converted = toPrice(price as never);

    // Assess
    expect(converted).toEqual({
      input: '3',
      output: '15',
      cache_read: '0.3',
      cache_write_5m: '3.75',
      cache_write_1h: '6',
      web_search: '10',
      long_context: {
        above_input_tokens: 200_000,
        input: '6',
        output: '22.5',
        cache_read: '0.6',
        cache_write_5m: '7.5',
        cache_write_1h: '6',
      },
    });
    expect(decodePrice(encodePrice({ from: '2026-03-13', price: converted! }))).toEqual({
      from: '2026-03-13',
      price: converted,
    });
  });

  it('lists the price changes between two catalogs, model by model', () => {
    // Prepare
    const before = {
      version: 'genai-prices@0.1.8',
      providers: {
        openai: [
          { id: 'gpt-x', p: ['1 4 0.1 - - -'] },
          { id: 'gpt-old', p: ['2 8 - - - -'] },
        ],
      },
    };
    const after = {
      version: 'genai-prices@0.1.10',
      providers: {
        openai: [
          { id: 'gpt-x', p: ['0.8 4 0.1 - - -'] },
          { id: 'gpt-new', p: ['1 2 - - - -'] },
        ],
      },
    };

    // Act
    const changes = priceChanges(before, after);

    // Assess
    expect(changes).toEqual([
      '+ openai/gpt-new: in 1, out 2',
      '- openai/gpt-old: in 2, out 8',
      '~ openai/gpt-x: in 1, out 4, cache read 0.1  ->  in 0.8, out 4, cache read 0.1',
    ]);
  });
});
