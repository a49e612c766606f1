import { randomUUID } from 'node:crypto';
import { GatewayError } from '../errors.ts';
import { compareRules, defineRule, NewRuleSchema } from '../routing/rules.ts';
import type { AdminContext, Route } from './context.ts';
import { createDocument, requireDocument } from './documents.ts';
import { parse, pathParam } from './fields.ts';

/**
 * Routing rules, for the master key: list (config and saved ones alike, in the order they are
 * evaluated), save (checked whole: a condition that does not compile is a 400 here, never a
 * failure at request time), delete. Each change is audited.
 */
export function routingRoutes(ctx: AdminContext): Record<string, Route> {
  const { rules, configRules, catalog, clock, log } = ctx.deps;
  const master = { type: 'master' } as const;

  return {
    'GET /routing/rules': async (request) => {
      await ctx.requireMaster(request.headers);
      // A stored rule that cannot be read is listed after the others, marked `invalid`.
      const stored = await rules.list();
      const readable = [...configRules, ...stored.filter((r) => !r.invalid)].sort(compareRules);
      const unreadable = stored.filter((r) => r.invalid);
      for (const r of unreadable)
        log.warn('admin.invalid_record', { kind: 'routing_rule', id: r.id, reason: r.invalid });
      return Response.json({
        rules: [...readable, ...unreadable.map(({ id, invalid }) => ({ id, invalid }))],
      });
    },
    'POST /routing/rules': async (request) => {
      await ctx.requireMaster(request.headers);
      const input = parse(NewRuleSchema, await ctx.readJson(request));
      if (input.id && configRules.some((r) => r.id === input.id))
        throw new GatewayError('invalid_request', `Routing rule '${input.id}' is defined in config.`);
      const rule = defineRule(input, catalog, {
        id: randomUUID(),
        source: 'api',
        created_at: clock.now().toISOString(),
      });
      await createDocument(rules, rule, 'Routing rule');
      await ctx.audit(master, 'routing.rule_new', `routing_rule:${rule.id}`, { fields: Object.keys(input) });
      return Response.json(rule);
    },
    'DELETE /routing/rules/{id}': async (request, url) => {
      await ctx.requireMaster(request.headers);
      const id = pathParam(url, 3, 'id');
      if (configRules.some((r) => r.id === id)) {
        throw new GatewayError(
          'invalid_request',
          `Routing rule '${id}' is defined in config (TOLLGATE_ROUTING_RULES_JSON); change it there.`,
        );
      }
      const rule = await requireDocument(rules, id, 'Routing rule');
      await rules.delete(id);
      await ctx.audit(master, 'routing.rule_delete', `routing_rule:${id}`);
      return Response.json({ deleted: rule.id, name: rule.name });
    },
  };
}
