/**
 * `npm run demo`: the gateway with 60 days of synthetic history (teams, dozens of people, several
 * agents and models, budgets near their limits, people lapsing), so the dashboard is full at once.
 * Seeds once per data dir (`.tollgate-demo` unless TOLLGATE_DATA_DIR says otherwise).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createLakeSink } from '../adapters/local/lake-sink.ts';
import { createLogger } from '../adapters/logger.ts';
import { loadDemoConfig } from '../config.ts';
import { systemClock } from '../core/ports/clock.ts';
import { type DemoSummary, seedDemo } from './demo-data.ts';
import { startGateway } from './runtime.ts';

const config = loadDemoConfig();
const log = createLogger(config.logLevel);
const gateway = await startGateway(config, { log });
const marker = join(resolve(config.dataDir), 'demo-seeded.json');

let summary: DemoSummary;
try {
  summary = JSON.parse(await readFile(marker, 'utf8')) as DemoSummary;
} catch {
  console.log('Seeding 60 days of synthetic history...');
  const sink = createLakeSink({ dataDir: resolve(config.dataDir), clock: systemClock });
  summary = await seedDemo(gateway, sink, systemClock);
  await writeFile(marker, JSON.stringify(summary), { mode: 0o600 });
}

console.log(`
Tollgate demo at ${gateway.url}   (data: ${config.dataDir}; delete it to start over)
  ${summary.teams} teams, ${summary.people} people, ${summary.records.toLocaleString('en-US')} usage records

  Org view (admin):           ${gateway.url}/   with the master key ${gateway.masterKeyCreated ? gateway.masterKey : `in ${config.dataDir}/master-key`}
  ${summary.personId}'s own page:    ${gateway.url}/   with ${summary.personKey}
`);

async function stop(): Promise<void> {
  await gateway.close();
  process.exit(0);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
