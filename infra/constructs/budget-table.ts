import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

export interface BudgetTableProps {
  /**
   * What happens to the table when it leaves the stack. It holds every virtual key and budget counter.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Whether DynamoDB refuses to delete the table until this is turned off.
   * @default true
   */
  readonly deletionProtection?: boolean;
}

/**
 * The single-table store for keys (`KEYS`/`<key_id>` records, `KEY#<sha256>` lookups), teams, users and
 * budget counters.
 * Counters carry `expires_at` (epoch seconds) so closed budget periods age out through TTL.
 */
export class BudgetTable extends Construct {
  public readonly table: Table;

  constructor(scope: Construct, id: string, props: BudgetTableProps = {}) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expires_at',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      // Retained is not enough: a mistaken `DeleteTable` (console, script) would take every key with it.
      deletionProtection: props.deletionProtection ?? true,
    });
    // Requests in flight by shard and expiry, for the scheduled recovery of those whose function died.
    this.table.addGlobalSecondaryIndex({
      indexName: 'inflight',
      partitionKey: { name: 'gsi1pk', type: AttributeType.STRING },
      sortKey: { name: 'gsi1sk', type: AttributeType.STRING },
    });
  }
}
