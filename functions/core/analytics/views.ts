/**
 * The analysts' views over the lake (Athena views the stack creates, infra/constructs/athena-views.ts):
 * the dashboard's own report texts over every day instead of a bound range, so a number read from a
 * view (or a QuickSight visual on one) is the number the dashboard shows for the same days. Filter a
 * spend view on `day` and an adoption view on `week`.
 *
 * Not here: budget status and the weekly active *rate*, which need the budget counters and the key
 * holders of the DynamoDB table, not the lake.
 */
import { usageColumns } from '../usage/record.ts';
import { newAndLapsedSql, repeatUsageSql, toolsPerPersonSql, weeklyActiveSql } from './adoption.ts';
import { EVERY_DAY_FILTERS } from './aggregates.ts';
import { SPEND_DIMENSIONS, type SpendDimension, spendPerDaySql } from './spend.ts';
import { dedupedUsage } from './sql.ts';

/** A view column, typed as Trino names its types (what the Presto view encoding carries). */
export interface ViewColumn {
  readonly name: string;
  readonly type: string;
}

export interface AnalystView {
  /** Lower case with underscores, as Glue and Athena names are. */
  readonly name: string;
  readonly description: string;
  /** The SELECT the view stands for; no `?` parameters. */
  readonly sql: string;
  readonly columns: readonly ViewColumn[];
}

const EVERY_DAY = '1 = 1';
/** The Monday of the current ISO week (UTC on Athena, whose sessions run in UTC). */
const THIS_WEEK = "CAST(date_trunc('week', current_date) AS DATE)";
/** The Monday three weeks before: the last four weeks, as the dashboard counts them. */
const FOUR_WEEKS_AGO = `CAST(${THIS_WEEK} - INTERVAL '21' DAY AS DATE)`;

/** Usage record column types (Hive, as usageColumns gives them) in Trino's names. */
const TRINO_TYPES: Record<string, string> = {
  STRING: 'varchar',
  BIGINT: 'bigint',
  BOOLEAN: 'boolean',
  TIMESTAMP: 'timestamp(3)',
  'ARRAY<STRING>': 'array(varchar)',
};

function trinoType(sqlType: string): string {
  const type = TRINO_TYPES[sqlType];
  if (!type) throw new Error(`No Trino type for the usage column type ${sqlType}`);
  return type;
}

const varchar = (...names: string[]) => names.map((name) => ({ name, type: 'varchar' }));
const bigint = (...names: string[]) => names.map((name) => ({ name, type: 'bigint' }));

/** Every usage column, one row per `request_id`: the copy every report keeps. */
function dedupedView(): AnalystView {
  const columns = usageColumns();
  const names = columns.map((c) => c.name);
  return {
    name: 'usage_deduped',
    description:
      "One row per request_id: of its copies, the newest price_version (a 'lost' record yields to any other outcome).",
    sql: `${dedupedUsage(names, EVERY_DAY)}
SELECT ${names.join(', ')}
FROM deduped
WHERE copy_number = 1`,
    columns: columns.map(({ name, sqlType }) => ({ name, type: trinoType(sqlType) })),
  };
}

/** The spend views' value column: the dimension's own name (`user_id` for people, `tag` for tags). */
const SPEND_VIEWS: Record<string, { dimension: SpendDimension; column: string }> = {
  spend_daily_by_team: { dimension: 'team', column: 'team_id' },
  spend_daily_by_person: { dimension: 'user', column: 'user_id' },
  spend_daily_by_model: { dimension: 'model', column: 'model' },
  spend_daily_by_agent: { dimension: 'agent', column: 'agent' },
  spend_daily_by_tag: { dimension: 'tag', column: 'tag' },
};

function spendView(name: string, { dimension, column }: { dimension: SpendDimension; column: string }) {
  const tagNote = dimension === 'tag' ? ' A request with two tags counts under each.' : '';
  return {
    name,
    description: `Billed and list cost (micro-dollars), requests and tokens per UTC day and ${SPEND_DIMENSIONS[dimension]}.${tagNote}`,
    sql: spendPerDaySql(dimension, { filters: EVERY_DAY_FILTERS, valueAs: column }),
    columns: [
      ...varchar('day', column),
      ...bigint(
        'requests',
        'cost_micros',
        'shadow_cost_micros',
        'input_tokens',
        'output_tokens',
        'cache_read_tokens',
        'cache_write_tokens',
        'reasoning_tokens',
      ),
    ],
  } satisfies AnalystView;
}

export function analystViews(): AnalystView[] {
  return [
    dedupedView(),
    ...Object.entries(SPEND_VIEWS).map(([name, spend]) => spendView(name, spend)),
    {
      name: 'adoption_weekly_active',
      description: 'People with a successful request in each ISO week (Monday, UTC), per team.',
      sql: weeklyActiveSql(EVERY_DAY_FILTERS),
      columns: [...varchar('week', 'team_id'), ...bigint('active_people')],
    },
    {
      name: 'adoption_new_lapsed',
      description:
        'Per ISO week and team: people in their first active week, and people active the week before but not this one (up to the current week).',
      sql: newAndLapsedSql(EVERY_DAY_FILTERS, THIS_WEEK),
      columns: [...varchar('week', 'team_id'), ...bigint('new_people', 'lapsed_people')],
    },
    {
      name: 'adoption_repeat_usage',
      description:
        'Per team, over the last four ISO weeks (this one included): people active in any of them, and in at least two.',
      sql: repeatUsageSql(EVERY_DAY_FILTERS, FOUR_WEEKS_AGO),
      columns: [...varchar('team_id'), ...bigint('active_people', 'repeat_people')],
    },
    {
      name: 'adoption_tools_per_person',
      description: 'Per team, over the last four ISO weeks: how many people used 1, 2, 3... distinct agents.',
      sql: toolsPerPersonSql(EVERY_DAY_FILTERS, FOUR_WEEKS_AGO),
      columns: [...varchar('team_id'), ...bigint('tools', 'people')],
    },
  ];
}
