import { describe, expect, it } from 'vitest';
import { allowsModel, assertAllowsModel } from '../../../../functions/core/governance/allow-list.ts';

describe('model allow-lists', () => {
  it.each([
    [[], 'gpt-4.1', true],
    [['all-proxy-models'], 'gpt-4.1', true],
    [['gpt-4.1'], 'gpt-4.1', true],
    [['claude-sonnet-4'], 'claude-sonnet-4-20250514', true], // by its canonical name
    [['gpt-4.1-mini'], 'gpt-4.1', false],
  ])('%j admits %s: %s', (models, requested, expected) => {
    // Act
    const allowed = allowsModel(models, requested, requested.replace(/-\d{8}$/, ''));

    // Assess
    expect(allowed).toBe(expected);
  });

  it('refuses with 403 naming the owner and the list', () => {
    // Act
    const refuse = () => assertAllowsModel("Team 'backend'", ['gpt-4.1'], 'o3', 'o3');

    // Assess
    expect(refuse).toThrow("Team 'backend' may not use model 'o3'. Allowed: gpt-4.1.");
  });
});
