/**
 * The router: which rule, if any, decides where a request goes, and the models to try in order.
 * Rules are evaluated key → team → global, by priority within each, and the first whose condition
 * holds and that has a target this request can use wins. Conditions are compiled once per rule and
 * kept; a request pays for evaluating them, and for reading its budgets only when a rule it reaches
 * looks at `budget_used`.
 */
import type { Principal } from '../governance/scopes.ts';
import type { Logger } from '../ports/logging.ts';
import type { ModelCatalog, ResolvedModel } from '../pricing/catalog.ts';
import {
  type Condition,
  compareRules,
  compileCondition,
  type RouteTarget,
  type RoutingRule,
  type RoutingVariables,
  readsBudget,
  resolveTarget,
} from './rules.ts';

export interface RouteRequest {
  who: Principal;
  /** The model name as the client sent it. */
  requested: string;
  /** The catalog's model for that name, if it knows it (resolved once, by the caller). */
  asked: ResolvedModel | undefined;
  agent: string;
  tags: string[];
  headers: Headers;
  /** Picks among weighted targets: the request id, so a request's choice can be reproduced. */
  seed: string;
}

export interface RouteChecks {
  /** Whether this request may be served by the model: the allow-lists, and the client's protocol. */
  usable(model: ResolvedModel): boolean;
  /** The highest percent used across the request's budgets. */
  budgetUsed(): Promise<number>;
}

export interface RoutePlan {
  rule: { id: string; name: string };
  /** The target first, then its fallbacks: usable, distinct, at most `maxAttempts`. */
  models: ResolvedModel[];
}

export interface Router {
  /** The plan of the first rule that fires, or null when none does (the request goes as asked). */
  plan(request: RouteRequest, checks: RouteChecks): Promise<RoutePlan | null>;
}

interface CompiledRule {
  rule: RoutingRule;
  condition: Condition;
  readsBudget: boolean;
}

/** Headers a condition never sees: the credentials. */
const HIDDEN_HEADERS = new Set(['authorization', 'x-api-key', 'cookie', 'proxy-authorization']);

export function createRouter(deps: {
  rules: () => Promise<RoutingRule[]>;
  catalog: ModelCatalog;
  log: Logger;
  maxAttempts: number;
}): Router {
  // Compiled forms by rule id and text: a rule list fetched again compiles only what is new.
  let compiled = new Map<string, CompiledRule>();
  let lastList: RoutingRule[] | undefined;
  let ordered: CompiledRule[] = [];

  async function compileAll(rules: RoutingRule[]): Promise<CompiledRule[]> {
    if (rules === lastList) return ordered;
    const next = new Map<string, CompiledRule>();
    for (const rule of rules) {
      const id = `${rule.id}\n${rule.condition}`;
      const known = compiled.get(id);
      next.set(id, known ? { ...known, rule } : await compile(rule));
    }
    compiled = next;
    lastList = rules;
    ordered = [...next.values()].sort((a, b) => compareRules(a.rule, b.rule));
    return ordered;
  }

  async function compile(rule: RoutingRule): Promise<CompiledRule> {
    try {
      const condition = await compileCondition(rule.condition);
      return { rule, condition, readsBudget: readsBudget(rule.condition) };
    } catch (err) {
      // Saved rules compiled when they were saved; this guards against a library upgrade changing that.
      deps.log.error('routing.rule_invalid', { rule_id: rule.id, error: String(err) });
      return { rule, condition: () => false, readsBudget: false };
    }
  }

  return {
    async plan(request, checks) {
      const rules = (await compileAll(await deps.rules())).filter((c) => inScope(c.rule, request.who));
      if (rules.length === 0) return null;
      const requested = request.asked;
      // Conditions that do not mention budget_used never see this placeholder.
      let variables: RoutingVariables = { ...base(request, requested), budget_used: 0 };
      let budgetRead = false;
      for (const { rule, condition, readsBudget } of rules) {
        if (readsBudget && !budgetRead) {
          variables = { ...variables, budget_used: await checks.budgetUsed() };
          budgetRead = true;
        }
        if (!holds(rule, condition, variables)) continue;
        const models = planModels(rule, requested, request.seed, checks);
        if (models.length > 0) return { rule: { id: rule.id, name: rule.name }, models };
      }
      return null;
    },
  };

  function holds(rule: RoutingRule, condition: Condition, variables: RoutingVariables): boolean {
    try {
      return condition(variables);
    } catch (err) {
      // e.g. `headers["x-team"]` on a request without that header: the rule does not apply.
      deps.log.warn('routing.rule_error', { rule_id: rule.id, error: String(err) });
      return false;
    }
  }

  function planModels(
    rule: RoutingRule,
    requested: ResolvedModel | undefined,
    seed: string,
    checks: RouteChecks,
  ): ResolvedModel[] {
    const usable = (t: RouteTarget, base: ResolvedModel | undefined) => {
      const model = resolveTarget(deps.catalog, t, base);
      return model && checks.usable(model) ? [{ target: t, model }] : [];
    };
    const targets = rule.targets.flatMap((t) => usable(t, requested));
    if (targets.length === 0) return [];
    const chosen = pickWeighted(targets, seed);
    const models = [chosen.model];
    // A fallback without a model is the chosen target's model through another provider.
    for (const { model } of rule.fallbacks.flatMap((t) => usable(t, chosen.model))) {
      if (!models.some((m) => m.provider === model.provider && m.upstream_model === model.upstream_model))
        models.push(model);
    }
    return models.slice(0, Math.max(1, deps.maxAttempts));
  }
}

function base(
  request: RouteRequest,
  requested: ResolvedModel | undefined,
): Omit<RoutingVariables, 'budget_used'> {
  const { key, team, user } = request.who;
  const headers: Record<string, string> = {};
  for (const [name, value] of request.headers) if (!HIDDEN_HEADERS.has(name)) headers[name] = value;
  return {
    model: request.requested,
    provider: requested?.provider ?? '',
    agent: request.agent,
    team_id: team?.team_id ?? key.team_id ?? '',
    user_id: user?.user_id ?? key.user_id ?? '',
    key_alias: key.key_alias ?? '',
    tags: request.tags,
    headers,
  };
}

function inScope(rule: RoutingRule, who: Principal): boolean {
  const scope = rule.scope;
  if (scope === 'global') return true;
  if ('team_id' in scope) return who.key.team_id === scope.team_id;
  return who.key.key_alias === scope.key_alias;
}

/** A weighted choice that the seed fixes: a hash of the seed (FNV-1a, mixed), as a fraction of the total weight. */
function pickWeighted<T extends { target: RouteTarget }>(options: T[], seed: string): T {
  if (options.length === 1) return options[0]!;
  let hash = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) hash = Math.imul(hash ^ seed.charCodeAt(i), 0x01000193);
  // FNV leaves the last characters in the low bits; a final mix spreads them (murmur3's fmix32).
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  hash = (hash ^ (hash >>> 16)) >>> 0;
  const total = options.reduce((sum, o) => sum + o.target.weight, 0);
  let point = (hash / 0x1_0000_0000) * total;
  for (const option of options) {
    point -= option.target.weight;
    if (point < 0) return option;
  }
  return options.at(-1)!;
}
