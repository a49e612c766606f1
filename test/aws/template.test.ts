/**
 * What the emulator cannot show, read from the synthesized template itself: the Node line each function
 * deploys on is one this suite runs its bundle on, and the usage lake's three descriptions of where
 * records live (Firehose's prefix, the Glue table's location, its partition projection) agree. moto's
 * Firehose writes objects under the literal, unexpanded `!{partitionKeyFromQuery:dt}` prefix, so the
 * end-to-end tests cannot catch a mismatch between them.
 */
import { describe, expect, it } from 'vitest';
import { SPILL_PREFIX } from '../../functions/config.ts';
import { NODE_LINES } from './support/lambda.ts';
import { type CfnProps, readTemplate, resourcesOfType } from './support/template.ts';

const template = readTemplate();
const props = (type: string): CfnProps[] =>
  resourcesOfType(template, type).map(([, r]) => r.Properties ?? {});

describe('the functions', () => {
  it('deploy on the newest Node line the emulator suite runs their bundles on', () => {
    const ours = props('AWS::Lambda::Function').filter((p) => String(p.Runtime).startsWith('nodejs'));
    expect(ours).toHaveLength(4);
    const newest = NODE_LINES.at(-1);
    for (const p of ours) expect(p.Runtime).toBe(`nodejs${newest}.x`);
  });
});

describe('the usage lake', () => {
  const stream = props('AWS::KinesisFirehose::DeliveryStream').find((s) =>
    String(s.ExtendedS3DestinationConfiguration?.Prefix).startsWith('usage/'),
  );
  const table = props('AWS::Glue::Table').find((t) => t.TableInput.Name === 'usage');
  const destination = stream?.ExtendedS3DestinationConfiguration as CfnProps;
  const parameters = table?.TableInput.Parameters as CfnProps;

  it("files records under the Glue table's location template, partition by partition", () => {
    // Firehose: `usage/dt=!{partitionKeyFromQuery:dt}/`; Glue: `s3://<bucket>/usage/dt=${dt}/`.
    const prefix = String(destination.Prefix);
    const location = parameters['storage.location.template'] as { 'Fn::Join': [string, unknown[]] };
    const [, parts] = location['Fn::Join'];
    expect(parts[0]).toBe('s3://');
    expect(parts[1]).toEqual({ Ref: expect.any(String) });
    expect(destination.BucketARN).toEqual({ 'Fn::GetAtt': [(parts[1] as { Ref: string }).Ref, 'Arn'] });
    const glueTemplate = String(parts[2]).replace(/^\//, '');
    const keys = table?.TableInput.PartitionKeys.map((k: { Name: string }) => k.Name) as string[];
    expect(keys).toEqual(['dt']);
    const asFirehose = glueTemplate.replace('${dt}', '!{partitionKeyFromQuery:dt}');
    expect(prefix).toBe(asFirehose);
  });

  it("extracts the partition key from the record's own dt, in the format the projection reads", () => {
    const processors = destination.ProcessingConfiguration.Processors as CfnProps[];
    const extraction = processors.find((p) => p.Type === 'MetadataExtraction');
    const query = extraction?.Parameters.find(
      (p: { ParameterName: string }) => p.ParameterName === 'MetadataExtractionQuery',
    );
    // A jq query: the partition key `dt` is the record's own `dt` field.
    expect(query.ParameterValue).toBe('{"dt":.dt}');
    expect(destination.DynamicPartitioningConfiguration).toEqual({ Enabled: true });
    expect(parameters['projection.enabled']).toBe('true');
    expect(parameters['projection.dt.type']).toBe('date');
    // The record's dt is `YYYY-MM-DD` (the UTC day of ts): the projection must read the same format.
    expect(parameters['projection.dt.format']).toBe('yyyy-MM-dd');
    expect(parameters['projection.dt.interval.unit']).toBe('DAYS');
  });

  it('keeps Firehose errors and spilled records outside the prefix the table reads', () => {
    const tablePrefix = String(destination.Prefix).split('dt=')[0] ?? '';
    expect(tablePrefix).toBe('usage/');
    expect(String(destination.ErrorOutputPrefix).startsWith(tablePrefix)).toBe(false);
    expect(SPILL_PREFIX.startsWith(tablePrefix)).toBe(false);
  });
});
