/**
 * `npm run prices:update`: regenerates the gateway's price data from the installed (pinned)
 * @pydantic/genai-prices and prints what changed against the data committed before. To move to a newer
 * catalog: `npm install --save-exact -D @pydantic/genai-prices@<version> && npm run prices:update`,
 * read the changes, commit both. `--check` prints the changes without writing (and exits 1 if any).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findProvider, type Provider } from '@pydantic/genai-prices';
import type { CatalogData } from '../functions/core/pricing/catalog-data.ts';
import { CATALOG_PROVIDERS, priceChanges, toCatalogData } from './prices.ts';

const ROOT = join(import.meta.dirname, '..');
const DATA = join(ROOT, 'functions/core/pricing/catalog-data.json');

const pkg = JSON.parse(
  await readFile(join(ROOT, 'node_modules/@pydantic/genai-prices/package.json'), 'utf8'),
) as { version: string };
const providers = Object.keys(CATALOG_PROVIDERS).map((id) => findProvider({ providerId: id }) as Provider);
const next = toCatalogData(providers, `genai-prices@${pkg.version}`);
const before = await readFile(DATA, 'utf8')
  .then((text) => JSON.parse(text) as CatalogData)
  .catch(() => undefined);

const changes = priceChanges(before, next);
console.log(`${before?.version ?? '(none)'} -> ${next.version}: ${changes.length} change(s)`);
for (const line of changes) console.log(`  ${line}`);
if (process.argv.includes('--check')) {
  process.exitCode = changes.length || before?.version !== next.version ? 1 : 0;
} else {
  // One model a line, so a catalog update reads as a diff too.
  const lines = Object.entries(next.providers).map(
    ([provider, models]) =>
      `${JSON.stringify(provider)}: [\n${(models ?? []).map((m) => `  ${JSON.stringify(m)}`).join(',\n')}\n]`,
  );
  await writeFile(
    DATA,
    `{"version": ${JSON.stringify(next.version)}, "providers": {\n${lines.join(',\n')}\n}}\n`,
  );
  console.log(`wrote ${DATA}`);
}
