import { randomUUID } from 'node:crypto';
import { GatewayError } from '../errors.ts';
import { compareRules, defineRule, NewRuleSchema, type RoutingRule } from '../routing/rules.ts';
import type { AdminContext, Route } from './context.ts';
import { documentService } from './document-service.ts';
import { pathParam } from './fields.ts';

/**
 * Routing rules, for the master key: list (config and saved ones alike, in the order they are
 * evaluated), save (checked whole: a condition that does not compile is a 400 here, never a
 * failure at request time), delete — admin documents like teams and people (document-service.ts).
 * Each change is audited.
 */
export function routingRoutes(ctx: AdminContext): Record<string, Route> {
  const { rules, configRules, catalog, log } = ctx.deps;
  const inConfig = (id: string | undefined) => id !== undefined && configRules.some((r) => r.id === id);
  const service = documentService(ctx, {
    label: 'Routing rule',
    store: rules,
    audit: { action: (verb) => `routing.rule_${verb}`, target: (id) => `routing_rule:${id}` },
    create: {
      schema: NewRuleSchema,
      build: (input, now) =>
        defineRule(input, catalog, { id: randomUUID(), source: 'api', created_at: now.toISOString() }),
    },
    describe: async (rule: RoutingRule) => rule,
  });

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
      const by = await ctx.requireMaster(request.headers);
      const { doc } = await service.create(
        await ctx.readJson(request),
        async (input) => {
          if (inConfig(input.id))
            throw new GatewayError('invalid_request', `Routing rule '${input.id}' is defined in config.`);
        },
        by,
      );
      return Response.json(doc);
    },
    'DELETE /routing/rules/{id}': async (request, url) => {
      const by = await ctx.requireMaster(request.headers);
      const id = pathParam(url, 3, 'id');
      if (inConfig(id)) {
        throw new GatewayError(
          'invalid_request',
          `Routing rule '${id}' is defined in config (TOLLGATE_ROUTING_RULES_JSON); change it there.`,
        );
      }
      const [rule] = await service.remove([id], by);
      return Response.json({ deleted: rule?.id, name: rule?.name });
    },
  };
}
