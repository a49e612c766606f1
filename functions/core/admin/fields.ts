/**
 * The admin API's field schemas, shared by keys, users and teams: LiteLLM's names and units (USD,
 * durations), turned into Tollgate's (integer micro-dollars) once, at the edge. Bodies are strict: a
 * field the gateway does not know is a 400 naming it, not silently ignored.
 */
import { z } from 'zod';
import { GatewayError } from '../errors.ts';
import { isValidDuration, isWithinAYear } from '../governance/periods.ts';
import type { BudgetSettings, ScopedBudget } from '../ports/budgets.ts';
import type { RateSettings } from '../ports/rate-limits.ts';

export const duration = z
  .string()
  .max(32)
  .refine(isValidDuration, { message: 'expected daily|weekly|monthly or <n>(s|m|h|d|w|mo)', abort: true })
  .refine(isWithinAYear, { message: 'at most a year (12mo, 52w, 366d)' });
/**
 * An id, alias or key reference. It becomes a DynamoDB key (at most 2 KB) or is compared with one, so
 * it is bounded well below that; control characters are refused (they only ever come from a mistake).
 */
export const id = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^\p{Cc}]+$/u, 'no control characters');
/** A billion dollars is 10^15 micro-dollars: still an exact integer in a double. */
export const usd = z.number().nonnegative().max(1_000_000_000);
const positiveInt = z.number().int().positive().max(1_000_000_000);
export const modelList = z.array(id).max(1000);
export const metadata = z.record(z.string(), z.unknown());
export const budgetMode = z.enum(['strict', 'fair']);

/** LiteLLM's `{model: {budget_limit, time_period}}` (`model_max_budget`); the same shape per provider. */
export const partBudgets = z.record(
  id,
  z.strictObject({ budget_limit: usd, time_period: duration.nullish() }),
);

/** Budget and rate fields as every owner (key, user, team) accepts them; absent means unchanged. */
export const limitFields = {
  max_budget: usd.nullish(),
  soft_budget: usd.nullish(),
  budget_duration: duration.nullish(),
  budget_mode: budgetMode.optional(),
  rpm_limit: positiveInt.nullish(),
  tpm_limit: positiveInt.nullish(),
  max_parallel_requests: positiveInt.nullish(),
};

type LimitInput = { [K in keyof typeof limitFields]?: z.infer<(typeof limitFields)[K]> };

/** USD (as LiteLLM's API speaks it) to integer micro-dollars. */
export function usdToMicros(usd: number): number {
  return Math.round(usd * 1_000_000);
}

export function microsToUsd(micros: number): number {
  return micros / 1_000_000;
}

const micros = (v: number | null | undefined) => (v == null ? null : usdToMicros(v));

export const NO_LIMITS: BudgetSettings & RateSettings = {
  max_budget_micros: null,
  soft_budget_micros: null,
  budget_duration: null,
  budget_mode: 'strict',
  rpm_limit: null,
  tpm_limit: null,
  max_parallel_requests: null,
};

/** The owner's budget and rate settings with the fields `input` names changed; the rest kept. */
export function applyLimits<T extends BudgetSettings & RateSettings>(owner: T, input: LimitInput): T {
  return {
    ...owner,
    ...(input.max_budget !== undefined && { max_budget_micros: micros(input.max_budget) }),
    ...(input.soft_budget !== undefined && { soft_budget_micros: micros(input.soft_budget) }),
    ...(input.budget_duration !== undefined && { budget_duration: input.budget_duration }),
    ...(input.budget_mode !== undefined && { budget_mode: input.budget_mode }),
    ...(input.rpm_limit !== undefined && { rpm_limit: input.rpm_limit }),
    ...(input.tpm_limit !== undefined && { tpm_limit: input.tpm_limit }),
    ...(input.max_parallel_requests !== undefined && { max_parallel_requests: input.max_parallel_requests }),
  };
}

export function toPartBudgets(input: z.infer<typeof partBudgets>): Record<string, ScopedBudget> {
  return Object.fromEntries(
    Object.entries(input).map(([name, b]) => [
      name,
      { limit_micros: usdToMicros(b.budget_limit), duration: b.time_period ?? null },
    ]),
  );
}

export function fromPartBudgets(parts: Record<string, ScopedBudget>) {
  return Object.fromEntries(
    Object.entries(parts).map(([name, b]) => [
      name,
      { budget_limit: microsToUsd(b.limit_micros), time_period: b.duration },
    ]),
  );
}

/** The settings in LiteLLM's names and units, for answers. */
export function describeLimits(owner: BudgetSettings & RateSettings) {
  return {
    max_budget: owner.max_budget_micros === null ? null : microsToUsd(owner.max_budget_micros),
    soft_budget: owner.soft_budget_micros === null ? null : microsToUsd(owner.soft_budget_micros),
    budget_duration: owner.budget_duration,
    budget_mode: owner.budget_mode,
    rpm_limit: owner.rpm_limit,
    tpm_limit: owner.tpm_limit,
    max_parallel_requests: owner.max_parallel_requests,
  };
}

/** The first and last day a report or query may name: before Tollgate, after anyone's horizon. */
const FIRST_DAY = '2000-01-01';
const LAST_DAY = '2099-12-31';

function isRealDay(value: string): boolean {
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value;
}

/** A real calendar day as `YYYY-MM-DD` (no 2026-02-30), between FIRST_DAY and LAST_DAY. */
export const day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a day as YYYY-MM-DD')
  .refine(isRealDay, { message: 'not a calendar day', abort: true })
  .refine((d) => d >= FIRST_DAY && d <= LAST_DAY, {
    message: `expected a day from ${FIRST_DAY} to ${LAST_DAY}`,
  });

/** A day, or an ISO 8601 date-time with `Z` or an offset, on a real calendar day in the same range. */
export const instant = z
  .union([day, z.iso.datetime({ offset: true })])
  .refine((v) => isRealDay(v.slice(0, 10)) && v.slice(0, 10) >= FIRST_DAY && v.slice(0, 10) <= LAST_DAY, {
    message: `expected YYYY-MM-DD or an ISO date-time, from ${FIRST_DAY} to ${LAST_DAY}`,
  });

/** A positive page size or count in a query; larger ones are the route's to clamp. */
export const queryCount = z.coerce.number().int().min(1);

/** Any zod schema: these classic ones, or the zod/mini ones of modules the proxy bundles (`NewRuleSchema`). */
type Schema = z.core.$ZodType;

export function parse<T extends Schema>(schema: T, body: unknown): z.infer<T> {
  return parseAs(schema, body, 'request body');
}

function parseAs<T extends Schema>(schema: T, input: unknown, what: string): z.infer<T> {
  const parsed = z.safeParse(schema, input);
  if (!parsed.success) throw invalidBody(parsed.error, what);
  return parsed.data;
}

/** The URL's query parameters through `schema`; a parameter given empty (`?user_id=`) counts as absent. */
export function parseQuery<T extends Schema>(schema: T, url: URL): z.infer<T> {
  const given = [...url.searchParams].filter(([, value]) => value !== '');
  return parseAs(schema, Object.fromEntries(given), 'query');
}

/**
 * Path segment `index` (`/routing/rules/{id}` → 3), percent-decoded and checked as an id; a bad escape
 * (`%ZZ`), an over-long or a control-character value is a 400 naming `name`, before any store call.
 */
export function pathParam(url: URL, index: number, name: string): string {
  const segment = url.pathname.split('/')[index] ?? '';
  let value: string;
  try {
    value = decodeURIComponent(segment);
  } catch (cause) {
    throw new GatewayError('invalid_request', `Invalid path: ${name}: not valid percent-encoding`, { cause });
  }
  return parseAs(z.object({ [name]: id }), { [name]: value }, 'path')[name] as string;
}

export function invalidBody(error: z.ZodError, what = 'request body'): GatewayError {
  const detail = error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
  return new GatewayError('invalid_request', `Invalid ${what}: ${detail}`);
}
