/**
 * Routing rules as data: when a condition (CEL) over the request holds, serve it with another model
 * or provider, and name where to go when that one fails. A rule is checked whole when it is saved —
 * its condition compiles to a boolean over the variables below, and every named target is a model the
 * catalog knows — so nothing about a rule can fail at request time except its own evaluation.
 */
import type { Environment } from '@marcbachmann/cel-js';
import { ConfigError, configError, parseJsonSetting } from '../config-error.ts';
import { GatewayError } from '../errors.ts';
import type { ModelCatalog, ResolvedModel } from '../pricing/catalog.ts';
import { PROVIDERS, type ProviderName } from '../providers/list.ts';
import * as z from '../zod-mini.ts';

/** Where a rule applies: one key (by alias), one team, or every request. */
export type RuleScope = 'global' | { team_id: string } | { key_alias: string };

/**
 * A model to serve. Without `model`, the model the request asked for (through `provider`): the shape
 * of a fallback to the same Claude model on Bedrock. `weight` shares traffic among a rule's targets.
 */
export interface RouteTarget {
  model: string | null;
  provider: ProviderName | null;
  weight: number;
}

export interface RoutingRule {
  id: string;
  name: string;
  scope: RuleScope;
  /** Lower runs first within a scope; key rules run before team rules, team rules before global ones. */
  priority: number;
  /** CEL over ROUTING_VARIABLES, evaluating to a boolean. */
  condition: string;
  targets: RouteTarget[];
  /**
   * Tried in order when the target fails before its first byte (429, 5xx, unreachable, timeout). One
   * without a model serves the target's model through its provider.
   */
  fallbacks: RouteTarget[];
  /** `config` rules come from TOLLGATE_ROUTING_RULES_JSON and are changed there, not through the API. */
  source: 'api' | 'config';
  created_at: string;
  /** Set only on a stored rule that no longer reads as written: listed and deletable, never evaluated. */
  invalid?: string;
}

/**
 * What a condition can see. Every variable is always set: absent values are `""` (no team, an
 * unknown model's provider), so `team_id == "web"` never fails on a key without a team.
 */
export const ROUTING_VARIABLES = {
  /** The model name as the client sent it. */
  model: 'string',
  /** The catalog provider of that model, or "" when the catalog does not know the name (an alias). */
  provider: 'string',
  /** The client, from its user agent: `claude-code`, `codex`, `openai-sdk`... */
  agent: 'string',
  team_id: 'string',
  user_id: 'string',
  key_alias: 'string',
  tags: 'list<string>',
  /** The request's headers, lower-case names, without credentials. */
  headers: 'map<string, string>',
  /** The highest percent used (settled spend over limit) across the request's budgets; 0 with none. */
  budget_used: 'double',
} as const;

export type RoutingVariables = {
  model: string;
  provider: string;
  agent: string;
  team_id: string;
  user_id: string;
  key_alias: string;
  tags: string[];
  headers: Record<string, string>;
  budget_used: number;
};

/**
 * cel-js is 82 KB, over a quarter of the proxy's bundle, and only a gateway with routing rules runs it:
 * it is imported with the first condition (on Lambda from a file beside the bundle; see
 * infra/constructs/bundling.ts), and a gateway without rules never parses it.
 */
let environment: Promise<Environment> | undefined;

export function conditionEnvironment(): Promise<Environment> {
  environment ??= import('@marcbachmann/cel-js').then(({ Environment }) =>
    Object.entries(ROUTING_VARIABLES).reduce(
      (env, [name, type]) => env.registerVariable(name, type),
      new Environment(),
    ),
  );
  return environment;
}

export type Condition = (variables: RoutingVariables) => boolean;

/** Compiles a condition once; throws a 400 naming what is wrong with it. */
export async function compileCondition(text: string): Promise<Condition> {
  return compileConditionIn(await conditionEnvironment(), text);
}

/** compileCondition, once the CEL environment is loaded. */
export function compileConditionIn(environment: Environment, text: string): Condition {
  const checked = environment.check(text);
  if (!checked.valid) {
    const reason = checked.error?.message.split('\n')[0] ?? 'it does not compile';
    throw new GatewayError('invalid_request', `The condition does not compile: ${reason}.`);
  }
  if (checked.type !== 'bool') {
    throw new GatewayError(
      'invalid_request',
      `The condition must be a boolean expression; '${text}' is of type ${checked.type}.`,
    );
  }
  const program = environment.parse(text);
  return (variables) => program(variables) === true;
}

const SCOPE_ORDER = { key: 0, team: 1, global: 2 } as const;

function scopeKind(scope: RuleScope): keyof typeof SCOPE_ORDER {
  if (scope === 'global') return 'global';
  return 'team_id' in scope ? 'team' : 'key';
}

/** Evaluation order: key rules, then team rules, then global ones; by priority (lower first) within each. */
export function compareRules(a: RoutingRule, b: RoutingRule): number {
  return (
    SCOPE_ORDER[scopeKind(a.scope)] - SCOPE_ORDER[scopeKind(b.scope)] ||
    a.priority - b.priority ||
    a.created_at.localeCompare(b.created_at) ||
    a.id.localeCompare(b.id)
  );
}

/** Whether a condition reads `budget_used`, which costs the request a read of its budget counters. */
export function readsBudget(condition: string): boolean {
  return /\bbudget_used\b/.test(condition);
}

/** The model a target stands for, given the model the request asked for (if the catalog knows it). */
export function resolveTarget(
  catalog: ModelCatalog,
  target: Pick<RouteTarget, 'model' | 'provider'>,
  requested: ResolvedModel | undefined,
): ResolvedModel | undefined {
  const provider = target.provider;
  const model = target.model ?? requested?.model;
  if (!model) return undefined;
  if (!provider) return target.model === null ? requested : catalog.resolve(model);
  // Through its own provider, a rule without a model keeps the very id the client sent.
  if (target.model === null && provider === requested?.provider) return requested;
  const own = catalog.resolve(model)?.provider;
  if (own && !offers(provider, own)) return undefined;
  return catalog.resolve(`${provider}/${model}`);
}

/**
 * Whether `provider` serves models the catalog lists under `own`: OpenRouter resells every vendor's,
 * Bedrock serves Claude (the catalog knows which ids), the others only their own.
 */
function offers(provider: ProviderName, own: ProviderName): boolean {
  return provider === own || provider === 'openrouter' || (provider === 'bedrock' && own === 'anthropic');
}

const name = z.string().check(z.trim(), z.minLength(1), z.maxLength(128));
const scopeId = z.string().check(z.minLength(1), z.maxLength(256));
const target = z
  .strictObject({
    model: z.optional(z.string().check(z.minLength(1), z.maxLength(256))),
    provider: z.optional(z.enum(PROVIDERS)),
    weight: z.optional(z.number().check(z.int(), z.gte(1), z.lte(1000))),
  })
  .check(
    z.refine((t) => t.model !== undefined || t.provider !== undefined, {
      message: 'a target names a model, a provider, or both',
    }),
  );

/** `POST /routing/rules`, and each entry of TOLLGATE_ROUTING_RULES_JSON (which may also set `id`). */
export const NewRuleSchema = z.strictObject({
  id: z.optional(z.string().check(z.regex(/^[\w.-]{1,64}$/, 'letters, digits, "_", "-" and "." only'))),
  name,
  scope: z.union([
    z.literal('global'),
    z.strictObject({ team_id: scopeId }),
    z.strictObject({ key_alias: scopeId }),
  ]),
  priority: z._default(z.number().check(z.int(), z.gte(-1_000_000), z.lte(1_000_000)), 100),
  condition: z.string().check(z.trim(), z.minLength(1), z.maxLength(4096)),
  targets: z.array(target).check(z.minLength(1), z.maxLength(16)),
  fallbacks: z._default(z.array(target).check(z.maxLength(8)), []),
});

export type NewRule = z.infer<typeof NewRuleSchema>;

/**
 * The rule a definition describes, checked as the gateway will run it: the condition compiles, and
 * every target that names a model resolves in the catalog (a target without one is checked per request).
 */
export async function defineRule(
  input: NewRule,
  catalog: ModelCatalog,
  meta: { id: string; source: RoutingRule['source']; created_at: string },
): Promise<RoutingRule> {
  await compileCondition(input.condition);
  const toTarget = (t: z.infer<typeof target>, i: number, list: string): RouteTarget => {
    const resolved: RouteTarget = {
      model: t.model ?? null,
      provider: t.provider ?? null,
      weight: t.weight ?? 1,
    };
    if (resolved.model !== null && !resolveTarget(catalog, resolved, undefined)) {
      const named = resolved.provider ? `${resolved.provider}/${resolved.model}` : resolved.model;
      throw new GatewayError(
        'invalid_request',
        `${list}[${i}]: the gateway cannot serve '${named}': it is not in the catalog, or not from that provider.`,
      );
    }
    return resolved;
  };
  return {
    id: input.id ?? meta.id,
    name: input.name,
    scope: input.scope,
    priority: input.priority,
    condition: input.condition,
    targets: input.targets.map((t, i) => toTarget(t, i, 'targets')),
    fallbacks: input.fallbacks.map((t, i) => toTarget(t, i, 'fallbacks')),
    source: meta.source,
    created_at: meta.created_at,
  };
}

/** Rules from config: a JSON array of rule definitions, each checked like one saved through the API. */
export async function rulesFromConfig(
  json: string | undefined,
  catalog: ModelCatalog,
): Promise<RoutingRule[]> {
  if (!json) return [];
  const value = parseJsonSetting('TOLLGATE_ROUTING_RULES_JSON', json);
  const parsed = z.array(NewRuleSchema).safeParse(value);
  if (!parsed.success) {
    const named = (i: number) => {
      const name = Array.isArray(value) ? (value[i] as { name?: unknown } | null)?.name : undefined;
      return typeof name === 'string' ? `'${name}'` : undefined;
    };
    throw configError('TOLLGATE_ROUTING_RULES_JSON', parsed.error.issues, named, parsed.error);
  }
  const defined = parsed.data.map(async (input, i) => {
    try {
      // Config rules keep their list order at equal priority, before rules saved through the API.
      return await defineRule(input, catalog, {
        id: `config-${i + 1}`,
        source: 'config',
        created_at: new Date(i).toISOString(),
      });
    } catch (err) {
      throw new ConfigError(`TOLLGATE_ROUTING_RULES_JSON: rule '${input.name}': ${(err as Error).message}`, {
        cause: err,
      });
    }
  });
  return Promise.all(defined);
}
