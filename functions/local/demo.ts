/**
 * `npm run demo`: the gateway with 60 days of synthetic history (teams, dozens of people, several
 * agents and models, budgets near their limits, people lapsing), so the dashboard is full at once.
 * Seeds once per data dir (`.tollgate-demo` unless TOLLGATE_DATA_DIR says otherwise).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createLakeSink, createTelemetryLakeSink } from '../adapters/local/lake-sink.ts';
import { createLogger, logFormat } from '../adapters/logger.ts';
import { loadDemoConfig, quietAwsSdkNodeNotice } from '../config.ts';
import { formatCount } from '../core/money.ts';
import { systemClock } from '../core/ports/clock.ts';
import type { Logger } from '../core/ports/logging.ts';
import { exitOnConfigError } from './config-exit.ts';
import { type DemoSummary, seedDemo } from './demo-data.ts';
import { startGateway } from './runtime.ts';

quietAwsSdkNodeNotice();
const config = exitOnConfigError(() => loadDemoConfig());
const base = createLogger(config.logLevel, { format: logFormat(config.logFormat) });
// While the demo seeds its history, the gateway's info lines (an audit line per admin call) would bury
// the progress; warnings and errors still show.
let seeding = false;
const log: Logger = {
  ...base,
  debug: (msg, fields) => (seeding ? undefined : base.debug(msg, fields)),
  info: (msg, fields) => (seeding ? undefined : base.info(msg, fields)),
};
const gateway = await exitOnConfigError(() => startGateway(config, { log }));
const marker = join(resolve(config.dataDir), 'demo-seeded.json');

let summary: DemoSummary;
try {
  summary = JSON.parse(await readFile(marker, 'utf8')) as DemoSummary;
} catch {
  const sink = createLakeSink({ dataDir: resolve(config.dataDir), clock: systemClock });
  seeding = true;
  try {
    summary = await seedDemo(gateway, sink, systemClock, {
      onProgress: progress('Seeding 60 days of history'),
      telemetry: createTelemetryLakeSink({ dataDir: resolve(config.dataDir), clock: systemClock }),
    });
  } finally {
    seeding = false;
  }
  await writeFile(marker, JSON.stringify(summary), { mode: 0o600 });
}

const masterKey = gateway.masterKeyCreated ? gateway.masterKey : `the one in ${config.dataDir}/master-key`;
console.log(`
Tollgate demo: ${summary.teams} teams, ${summary.people} people, ${formatCount(summary.records)} usage records over 60 days
  (data in ${config.dataDir}; delete it to start over)

  Sign in as the org admin with the master key   ${masterKey}
  Sign in as ${summary.personId} (their own page) with          ${summary.personKey}

Dashboard: ${gateway.url}/
`);

async function stop(): Promise<void> {
  await gateway.close();
  process.exit(0);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());

/** A progress bar on one terminal line (redrawn in place); elsewhere, one line when done. */
function progress(label: string): (done: number, total: number) => void {
  const terminal = process.stderr.isTTY === true;
  return (done, total) => {
    const width = 30;
    const filled = Math.round((done / total) * width);
    const line = `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.round((done / total) * 100)}%`;
    if (terminal) process.stderr.write(`\r${line}${done === total ? '\n' : ''}`);
    else if (done === total) process.stderr.write(`${line}\n`);
  };
}
