import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../../functions/core/config-error.ts';
import { deploymentCatalog, PRICE_VERSION } from '../../../../functions/core/pricing/catalog.ts';

describe('a model nothing prices (TOLLGATE_UNKNOWN_MODEL)', () => {
  it('is refused by default', () => {
    // Prepare
    const catalog = deploymentCatalog({ modelsJson: undefined, unknownModel: 'refuse' });

    // Act
    const resolved = catalog.resolve('my-inhouse-model');

    // Assess
    expect(resolved).toBeUndefined();
  });

  it('is billed at the named model price, and its price version says so', () => {
    // Prepare
    const catalog = deploymentCatalog({ modelsJson: undefined, unknownModel: 'claude-opus-4-8' });

    // Act
    const [bare, routed] = ['my-inhouse-model', 'openrouter/acme/unheard-of'].map((m) => catalog.resolve(m));

    // Assess
    expect(bare).toMatchObject({
      model: 'my-inhouse-model',
      provider: 'anthropic',
      upstream_model: 'my-inhouse-model',
      price: { input: 5_000_000, output: 25_000_000, version: `${PRICE_VERSION} default:claude-opus-4-8` },
    });
    expect(routed).toMatchObject({ provider: 'openrouter', upstream_model: 'acme/unheard-of' });
    expect(catalog.resolve('gpt-4o-mini')?.price.version).toBe(PRICE_VERSION);
  });

  it('names the variable when the stand-in is not a priced model', () => {
    // Prepare
    const settings = { modelsJson: undefined, unknownModel: 'gpt-9-ultra' };

    // Act
    const make = () => deploymentCatalog(settings);

    // Assess
    expect(make).toThrow(ConfigError);
    expect(make).toThrow(/^TOLLGATE_UNKNOWN_MODEL: 'gpt-9-ultra' is not a model the catalog prices/);
  });
});
