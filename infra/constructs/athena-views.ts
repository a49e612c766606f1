import { Stack, Token } from 'aws-cdk-lib';
import { CfnTable, type Database } from 'aws-cdk-lib/aws-glue';
import { Construct } from 'constructs';
import { type AnalystView, analystViews, type ViewColumn } from '../../functions/core/analytics/views.ts';

export interface AthenaViewsProps {
  /** The Glue database of the `usage` table; the views go beside it and name it unqualified. */
  readonly database: Database;
  /**
   * Its name as a literal (`Database.databaseName` is a reference): the encoding is base64 computed at
   * synth, so it cannot hold a CloudFormation reference.
   */
  readonly databaseName: string;
  /**
   * The views to create.
   * @default analystViews(): the deduplicated records, daily spend by team, person, model, agent and tag, and adoption
   */
  readonly views?: readonly AnalystView[];
}

/** Athena's name for the Glue Data Catalog, as Athena writes it into the views it creates itself. */
export const ATHENA_CATALOG = 'awsdatacatalog';

/** Trino types as Glue (Hive) spells them, for the view's storage descriptor. */
const HIVE_TYPES: Record<string, string> = {
  varchar: 'string',
  bigint: 'bigint',
  double: 'double',
  boolean: 'boolean',
  date: 'date',
  'timestamp(3)': 'timestamp',
  'array(varchar)': 'array<string>',
};

function hiveType({ name, type }: ViewColumn): string {
  const hive = HIVE_TYPES[type];
  if (!hive) throw new Error(`view column ${name}: no Glue type for ${type}`);
  return hive;
}

/**
 * A Glue table holding an Athena view, as Athena's own `CREATE VIEW` leaves it: table type
 * `VIRTUAL_VIEW`, `ViewOriginalText` the Presto view encoding (`/* Presto View: ` + base64 of the JSON
 * `{originalSql, catalog, schema, columns}` + ` *\/`) and `ViewExpandedText` the bare marker. AWS
 * documents the field only as "certain Athena configuration encoded in base64"
 * (https://docs.aws.amazon.com/glue/latest/webapi/API_TableInput.html); the layout is the one Trino's
 * Hive connector reads and writes for Presto views (io.trino.plugin.hive.ViewReaderUtil), which Athena
 * engine v3 is built on. Athena checks the declared columns against the SQL at query time and answers
 * "view is stale" when they disagree, so the columns travel with the SQL (analytics/views.ts).
 */
export function prestoViewText(view: AnalystView, schema: string): string {
  const definition = {
    originalSql: view.sql,
    catalog: ATHENA_CATALOG,
    schema,
    columns: view.columns.map(({ name, type }) => ({ name, type })),
  };
  return `/* Presto View: ${Buffer.from(JSON.stringify(definition), 'utf8').toString('base64')} */`;
}

/**
 * The analysts' views (analytics/views.ts), created with the stack as Glue tables: declarative, so
 * `cdk deploy` replaces a changed view and `cdk destroy` removes them, with no custom resource and
 * no Athena query at deploy time.
 */
export class AthenaViews extends Construct {
  /** Each view's Glue table and definition, by view name. */
  public readonly views: Record<string, { table: CfnTable; view: AnalystView }> = {};

  constructor(scope: Construct, id: string, props: AthenaViewsProps) {
    super(scope, id);
    const schema = props.databaseName;
    if (Token.isUnresolved(schema)) throw new Error('AthenaViews: the database name must be a literal');
    for (const view of props.views ?? analystViews()) {
      const table = new CfnTable(this, view.name, {
        catalogId: Stack.of(this).account,
        databaseName: schema,
        tableInput: {
          name: view.name,
          description: view.description,
          tableType: 'VIRTUAL_VIEW',
          parameters: { presto_view: 'true', comment: 'Presto View' },
          viewOriginalText: prestoViewText(view, schema),
          viewExpandedText: '/* Presto View */',
          storageDescriptor: {
            columns: view.columns.map((column) => ({ name: column.name, type: hiveType(column) })),
          },
        },
      });
      table.node.addDependency(props.database);
      this.views[view.name] = { table, view };
    }
  }
}
