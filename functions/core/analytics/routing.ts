/**
 * What routing rules did, per UTC day and rule: the model asked for and the model that
 * served, how many requests, their list cost, what the same tokens would have cost on the model
 * asked for, and how many needed a fallback. "Moved" is that difference at list prices (a step-down
 * saves; a step-up costs); a request whose asked-for name the catalog does not know (an alias) moves
 * nothing. Dedupes on `request_id`; reads only the `dt` partitions of the range.
 */
import type { QueryEngine } from '../ports/lake.ts';
import { dailyCte, dailyParams, type ReportRange, rangeFilters } from './aggregates.ts';
import { day, integer, NONE, text } from './sql.ts';

export const ROUTING_SQL = `${dailyCte('routing', rangeFilters())}
SELECT dt AS day, route_rule_id AS rule_id, max(route_rule) AS rule, COALESCE(model_requested, '${NONE}') AS model_requested,
  COALESCE(model_used, '${NONE}') AS model_used, sum(requests) AS requests,
  sum(cost_micros) AS cost_micros, sum(shadow_cost_micros) AS shadow_cost_micros,
  sum(cost_as_requested_micros) AS cost_as_requested_micros,
  sum(fallback_requests) AS fallback_requests
FROM daily
GROUP BY dt, route_rule_id, COALESCE(model_requested, '${NONE}'), COALESCE(model_used, '${NONE}')
ORDER BY day, cost_as_requested_micros DESC, rule, model_requested, model_used`;

export interface RoutingRow {
  day: string;
  rule_id: string;
  /** The rule's name (the latest, should it have been renamed). */
  rule: string;
  model_requested: string;
  model_used: string;
  requests: number;
  cost_micros: number;
  shadow_cost_micros: number;
  /** List cost had each request been served by the model it asked for. */
  cost_as_requested_micros: number;
  /** cost_as_requested − shadow cost: positive when the rule saved. */
  moved_micros: number;
  /** Requests that needed more than one attempt: served after a failure, or failed on every one. */
  fallback_requests: number;
}

export async function routingEffects(engine: QueryEngine, range: ReportRange): Promise<RoutingRow[]> {
  const rows = await engine.query(ROUTING_SQL, dailyParams(range));
  return rows.map((row) => {
    const shadow = integer(row, 'shadow_cost_micros');
    const asRequested = integer(row, 'cost_as_requested_micros');
    return {
      day: day(row, 'day'),
      rule_id: text(row, 'rule_id') ?? NONE,
      rule: text(row, 'rule') ?? NONE,
      model_requested: text(row, 'model_requested') ?? NONE,
      model_used: text(row, 'model_used') ?? NONE,
      requests: integer(row, 'requests'),
      cost_micros: integer(row, 'cost_micros'),
      shadow_cost_micros: shadow,
      cost_as_requested_micros: asRequested,
      moved_micros: asRequested - shadow,
      fallback_requests: integer(row, 'fallback_requests'),
    };
  });
}

/** Routing over a whole range: the per-day rows summed per rule and models, most spend moved first. */
export function routingTotals(days: RoutingRow[]): Array<Omit<RoutingRow, 'day'>> {
  const totals = new Map<string, Omit<RoutingRow, 'day'>>();
  for (const { day: _day, ...r } of days) {
    const id = `${r.rule_id}|${r.model_requested}|${r.model_used}`;
    const t = totals.get(id);
    if (!t) {
      totals.set(id, { ...r });
      continue;
    }
    t.requests += r.requests;
    t.cost_micros += r.cost_micros;
    t.shadow_cost_micros += r.shadow_cost_micros;
    t.cost_as_requested_micros += r.cost_as_requested_micros;
    t.moved_micros += r.moved_micros;
    t.fallback_requests += r.fallback_requests;
  }
  return [...totals.values()].sort((a, b) => b.moved_micros - a.moved_micros || b.requests - a.requests);
}
