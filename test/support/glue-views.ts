/** Reads the Athena views back out of a synthesized template, as Athena would: decoding the Presto view text. */
import type { Template } from 'aws-cdk-lib/assertions';

export interface StoredView {
  name: string;
  databaseName: unknown;
  tableType: string;
  parameters: Record<string, string>;
  expandedText: string;
  storageColumns: Array<{ Name: string; Type: string }>;
  /** The decoded `/* Presto View: <base64> *\/` JSON. */
  definition: {
    originalSql: string;
    catalog: string;
    schema: string;
    columns: Array<{ name: string; type: string }>;
  };
}

const ENCODED = /^\/\* Presto View: ([A-Za-z0-9+/=]+) \*\/$/;

export function storedViews(template: Template): Record<string, StoredView> {
  const tables = template.findResources('AWS::Glue::Table') as Record<
    string,
    { Properties: { DatabaseName: unknown; TableInput: Record<string, unknown> } }
  >;
  const views: Record<string, StoredView> = {};
  for (const { Properties } of Object.values(tables)) {
    const input = Properties.TableInput;
    if (input.TableType !== 'VIRTUAL_VIEW') continue;
    const encoded = ENCODED.exec(String(input.ViewOriginalText));
    if (!encoded)
      throw new Error(`${input.Name}: ViewOriginalText is not a Presto view: ${input.ViewOriginalText}`);
    views[String(input.Name)] = {
      name: String(input.Name),
      databaseName: Properties.DatabaseName,
      tableType: String(input.TableType),
      parameters: input.Parameters as Record<string, string>,
      expandedText: String(input.ViewExpandedText),
      storageColumns: (input.StorageDescriptor as { Columns: StoredView['storageColumns'] }).Columns,
      definition: JSON.parse(Buffer.from(encoded[1]!, 'base64').toString('utf8')),
    };
  }
  return views;
}
