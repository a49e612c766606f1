/**
 * `npm run bench:bundle`: the Lambda bundles' sizes and cold-import times on their own, without the
 * latency bench around them. Run `npx cdk synth --quiet` first to see the assets CDK built as well.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { measureBundles } from './bundle.ts';
import { printTable } from './measure.ts';
import { coldImportRows, printBundleSizes } from './report.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const { values: flags } = parseArgs({ options: { 'cold-runs': { type: 'string', default: '7' } } });
const runs = Number(flags['cold-runs']);
if (!Number.isInteger(runs) || runs < 1) throw new Error('--cold-runs must be a positive integer');

const bundles = await measureBundles(ROOT, runs);
printTable(`Cold imports (node ${process.version}, fresh process each)`, [
  ['what', 'value'],
  ...coldImportRows(bundles),
]);
printBundleSizes(bundles);
