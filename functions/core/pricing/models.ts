/**
 * Tollgate's own models: the ones agents use, listed by `GET /v1/models`, each with the output cap a
 * reservation assumes when a request sets none. Their prices come from the maintained catalog; a
 * `price` here overrides it where Tollgate knows better (say why beside it).
 */
import type { CatalogEntry } from './entries.ts';

const claude = (model: string, max_output_tokens = 64_000): CatalogEntry => ({
  model,
  provider: 'anthropic',
  max_output_tokens,
});
const openai = (model: string, max_output_tokens = 128_000): CatalogEntry => ({
  model,
  provider: 'openai',
  max_output_tokens,
});
const moonshot = (model: string, max_output_tokens = 32_768): CatalogEntry => ({
  model,
  provider: 'moonshot',
  max_output_tokens,
});

export const TOLLGATE_MODELS: CatalogEntry[] = [
  claude('claude-opus-4-8'),
  claude('claude-opus-4-7'),
  claude('claude-opus-4-6'),
  claude('claude-opus-4-5'),
  claude('claude-opus-4-1', 32_000),
  claude('claude-opus-4', 32_000),
  claude('claude-sonnet-4-6'),
  claude('claude-sonnet-4-5'),
  claude('claude-sonnet-4'),
  claude('claude-haiku-4-5'),
  openai('gpt-5'),
  openai('gpt-5.1'),
  openai('gpt-5-codex'),
  openai('gpt-5.1-codex'),
  openai('gpt-5.2'),
  openai('gpt-5.2-codex'),
  openai('gpt-5.3-codex'),
  openai('gpt-5-mini'),
  openai('gpt-4.1', 32_768),
  openai('gpt-4.1-mini', 32_768),
  openai('gpt-4o', 16_384),
  openai('gpt-4o-mini', 16_384),
  openai('o3', 100_000),
  openai('o4-mini', 100_000),
  openai('text-embedding-3-small', 0),
  openai('text-embedding-3-large', 0),
  moonshot('kimi-k2-0905-preview'),
  moonshot('kimi-k2.5'),
];
