/**
 * Configuration mistakes as one line a person can act on: the variable, the field, what was expected.
 * A ZodError's own message is a JSON dump of its issues with a stack, which says neither which setting
 * nor, for a list of entries, which entry.
 */
import type { core } from 'zod/mini';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Issue = core.$ZodIssue;

/**
 * `variable` is the setting (`TOLLGATE_MODELS_JSON`, or `env` when the issues' paths start with the
 * variable names); `label` names an entry of a list by more than its index (`entry 2 ('my-model')`).
 */
export function configError(
  variable: string,
  issues: readonly Issue[],
  label?: (index: number) => string | undefined,
  cause?: unknown,
): ConfigError {
  // Issues of one setting (or one entry of it) share its name: `X: entry 2: a: ...; b: ...`.
  const byPlace = new Map<string, string[]>();
  for (const issue of issues) {
    const { where, what } = describeIssue(variable, issue, label);
    byPlace.set(where, [...(byPlace.get(where) ?? []), what]);
  }
  const line = [...byPlace].map(([where, what]) => `${where}: ${[...new Set(what)].join('; ')}`).join('; ');
  return new ConfigError(line, { cause });
}

function describeIssue(
  variable: string,
  issue: Issue,
  label?: (index: number) => string | undefined,
): { where: string; what: string } {
  const path = [...issue.path];
  let where = variable;
  if (variable === 'env' && typeof path[0] === 'string') where = String(path.shift());
  if (typeof path[0] === 'number') {
    const index = path.shift() as number;
    where += `: entry ${index + 1}${label?.(index) ? ` (${label(index)})` : ''}`;
  }
  const field = path.length ? `${path.map(String).join('.')}: ` : '';
  return { where, what: `${field}${explain(issue)}` };
}

function explain(issue: Issue): string {
  // zod says "Invalid input: expected number, received undefined" for a field left out.
  if (issue.code === 'invalid_type') {
    const expected = `${/^[aeiou]/.test(issue.expected) ? 'an' : 'a'} ${issue.expected}`;
    return /received undefined$/.test(issue.message)
      ? `missing (expected ${expected})`
      : `expected ${expected}`;
  }
  return issue.message.replace(/^Invalid input: /, '').replace(/^Invalid option: /, '');
}

/** `JSON.parse` of a setting, failing as a ConfigError that names it. */
export function parseJsonSetting(variable: string, json: string): unknown {
  try {
    return JSON.parse(json);
  } catch (cause) {
    throw new ConfigError(`${variable}: not valid JSON (${(cause as Error).message})`, { cause });
  }
}
