/**
 * A deployment's own catalog entries (`TOLLGATE_MODELS_JSON`, a re-pricing's corrections), checked
 * field by field: a mistake is one ConfigError naming the variable, the entry and the field.
 */

import { configError, parseJsonSetting } from '../config-error.ts';
import { PROVIDERS } from '../providers/list.ts';
import * as z from '../zod-mini.ts';
import type { CatalogEntry } from './entries.ts';
import { TOLLGATE_MODELS } from './models.ts';

const usd = z
  .string()
  .check(z.regex(/^\d+(\.\d{1,6})?$/, 'a decimal USD-per-million string such as "3" or "0.125"'));
const PriceSchema = z.object({
  input: usd,
  output: usd,
  cache_read: z.optional(usd),
  cache_write_5m: z.optional(usd),
  cache_write_1h: z.optional(usd),
  reasoning: z.optional(usd),
  web_search: z.optional(usd),
  long_context: z.optional(
    z.object({
      above_input_tokens: z.number().check(z.int(), z.positive()),
      input: usd,
      output: usd,
      cache_read: usd,
      cache_write_5m: usd,
      cache_write_1h: usd,
    }),
  ),
});
const ModelEntrySchema = z.object({
  model: z.string().check(z.minLength(1)),
  provider: z.enum(PROVIDERS),
  price: PriceSchema,
  max_output_tokens: z.number().check(z.int(), z.nonnegative()),
});

/**
 * A deployment's catalog: the defaults with its own entries (JSON, `TOLLGATE_MODELS_JSON`) added or
 * replacing defaults of the same name — e.g. a negotiated price, or a model released after this build.
 */
export function mergeModelOverrides(
  json: string | undefined,
  defaults: CatalogEntry[] = TOLLGATE_MODELS,
  variable = 'TOLLGATE_MODELS_JSON',
): CatalogEntry[] {
  if (!json) return defaults;
  const value = parseJsonSetting(variable, json);
  const parsed = z.array(ModelEntrySchema).safeParse(value);
  if (!parsed.success) {
    const named = (i: number) => {
      const model = Array.isArray(value) ? (value[i] as { model?: unknown } | null)?.model : undefined;
      return typeof model === 'string' ? `'${model}'` : undefined;
    };
    throw configError(variable, parsed.error.issues, named, parsed.error);
  }
  const overrides = parsed.data;
  const names = new Set(overrides.map((o) => o.model));
  return [...defaults.filter((d) => !names.has(d.model)), ...overrides];
}
