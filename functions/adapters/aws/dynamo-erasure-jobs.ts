import { type AttributeValue, type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { ConflictError } from '../../core/errors.ts';
import type { ErasureJob, ErasureJobStore } from '../../core/ports/erasure.ts';
import { conditionFailed, queryPartition, readItem } from './dynamo-query.ts';

/** The partition of erasure jobs: the admin function writes one, the rollup function works it. */
export const ERASURES_PARTITION = 'ERASURES';
const pk: AttributeValue = { S: ERASURES_PARTITION };

/**
 * Erasure jobs in DynamoDB, one item each (`pk = ERASURES`, `sk = <job_id>`), the job as JSON beside
 * its status and a version. A save is conditional on the version it read, so two rollup runs that
 * overlap never both rewrite a part.
 */
export function createDynamoErasureJobs(client: DynamoDBClient, tableName: string): ErasureJobStore {
  const put = async (job: ErasureJob, condition: string, values?: Record<string, AttributeValue>) => {
    try {
      await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: {
            pk,
            sk: { S: job.job_id },
            status: { S: job.status },
            version: { N: String(job.version) },
            job: { S: JSON.stringify(job) },
          },
          ConditionExpression: condition,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (err) {
      if (conditionFailed(err))
        throw new ConflictError(`Erasure job ${job.job_id} was changed meanwhile`, { cause: err });
      throw err;
    }
  };
  const fromItem = (item: Record<string, AttributeValue>): ErasureJob =>
    JSON.parse(item.job?.S ?? '{}') as ErasureJob;

  return {
    create: (job) => put(job, 'attribute_not_exists(pk)'),
    async get(job_id) {
      const item = await readItem(client, tableName, { pk, sk: { S: job_id } });
      return item ? fromItem(item) : undefined;
    },
    async save(job) {
      const next = { ...job, version: job.version + 1 };
      await put(next, 'version = :read', { ':read': { N: String(job.version) } });
      return next;
    },
    async pending() {
      const jobs = await queryPartition(client, tableName, pk, fromItem);
      return jobs
        .filter((j) => j.status === 'pending')
        .sort((a, b) => a.requested_at.localeCompare(b.requested_at));
    },
  };
}
