import { CfnNamedQuery, type CfnWorkGroup } from 'aws-cdk-lib/aws-athena';
import { Construct } from 'constructs';
import {
  NEW_AND_LAPSED_SQL,
  REPEAT_USAGE_SQL,
  TOOLS_PER_PERSON_SQL,
  WEEKLY_ACTIVE_SQL,
} from '../../functions/core/analytics/adoption.ts';
import {
  RECONCILIATION_SQL,
  SESSION_OUTCOMES_SQL,
  UNGOVERNED_CALLS_SQL,
} from '../../functions/core/analytics/outcomes-sql.ts';
import { ROUTING_SQL } from '../../functions/core/analytics/routing.ts';
import {
  LATENCY_SQL,
  OUTCOMES_SQL,
  SPEND_DIMENSIONS,
  type SpendDimension,
  spendSql,
} from '../../functions/core/analytics/spend.ts';

export interface NamedQueriesProps {
  readonly workgroup: CfnWorkGroup;
  readonly databaseName: string;
}

const RANGE =
  'Parameters (YYYY-MM-DD): first and last day read from raw records (today, say), then first and last day read from the daily aggregates (up to yesterday); a side with no days takes a last day before its first.';
const TWICE = 'Parameters: first day, last day (YYYY-MM-DD) of the telemetry, then the same of the usage.';
const WINDOW = `${RANGE} Then the Monday from which the last four weeks count (YYYY-MM-DD).`;

/**
 * The dashboard's SQL, saved in the workgroup for analysts: the very texts the rollup runs (they take
 * `?` parameters, which the Athena console asks for). Each reads the daily aggregates of the days
 * built and raw records (deduped on request_id) of the days after, only the `dt` partitions given.
 */
export class NamedQueries extends Construct {
  constructor(scope: Construct, id: string, props: NamedQueriesProps) {
    super(scope, id);
    const queries: Array<[string, string, string]> = [
      ...(Object.keys(SPEND_DIMENSIONS) as SpendDimension[]).map((d): [string, string, string] => [
        `Tollgate spend by ${d} per day`,
        `Billed cost (micro-dollars), list cost, requests and tokens per UTC day and ${d}. ${RANGE}`,
        spendSql(d),
      ]),
      [
        'Tollgate latency by model',
        `p50/p90/p99 of latency, time to first byte and gateway overhead (ms) of successful requests. ${RANGE}`,
        LATENCY_SQL,
      ],
      [
        'Tollgate denials and errors',
        `Requests that did not succeed, by day, outcome, error type and status. ${RANGE}`,
        OUTCOMES_SQL,
      ],
      [
        'Tollgate weekly active people by team',
        `People with a successful request in each ISO week, per team. ${RANGE}`,
        WEEKLY_ACTIVE_SQL,
      ],
      [
        'Tollgate repeat usage by team',
        `People active in at least 2 of the last 4 weeks, and in any of them. ${WINDOW}`,
        REPEAT_USAGE_SQL,
      ],
      [
        'Tollgate tools per person by team',
        `How many people used 1, 2, 3... agents over the last 4 weeks. ${WINDOW}`,
        TOOLS_PER_PERSON_SQL,
      ],
      [
        'Tollgate new and lapsed people by team',
        `First active week, and active the week before but not this one. ${RANGE} Then the last Monday.`,
        NEW_AND_LAPSED_SQL,
      ],
      [
        'Tollgate routing rules and the spend they moved',
        `Per UTC day, rule, model asked for and model served: requests, cost, list cost as asked, fallbacks. ${RANGE}`,
        ROUTING_SQL,
      ],
      [
        'Tollgate agent sessions: outcomes and billed cost',
        `Per agent session: who, ISO week, active seconds, lines, commits, pull requests, edit decisions (from the agents' telemetry), billed, agent-estimated and ungoverned cost (micro-dollars). ${TWICE}`,
        SESSION_OUTCOMES_SQL,
      ],
      [
        'Tollgate agent cost reconciliation',
        `The agent's own cost beside the gateway's, per session and model, over calls joined on the provider's request id. ${TWICE}`,
        RECONCILIATION_SQL,
      ],
      [
        'Tollgate ungoverned model calls',
        `Model calls an agent reported that never passed the gateway, per session and model, with tokens and the agent's cost. ${TWICE}`,
        UNGOVERNED_CALLS_SQL,
      ],
    ];
    queries.forEach(([name, description, queryString], i) => {
      new CfnNamedQuery(this, `Query${i}`, {
        name,
        description,
        database: props.databaseName,
        workGroup: props.workgroup.ref,
        queryString,
      });
    });
  }
}
