/**
 * The mock upstream in a process of its own, for `npm run bench`: the gateway, the mock and the load
 * generator must not share an event loop, or each one's work shows up as the others' latency.
 * Prints `mock upstream listening at <url>`; on SIGTERM or SIGINT prints one JSON line of what it
 * answered, then exits.
 *
 *   npx tsx test/bench/mock-server.ts [--port 0] [--chunk-delay 1]
 */
import { parseArgs } from 'node:util';
import { startMockUpstream } from '../support/mock-upstream.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'chunk-delay': { type: 'string', default: '1' },
  },
});

const mock = await startMockUpstream({
  port: Number(values.port),
  script: { chunkDelayMs: Number(values['chunk-delay']) },
});
let seen = 0;
// The mock keeps every request it parsed, for tests to inspect; a bench sends thousands of 100 KB
// bodies, so count them and let them go.
setInterval(() => {
  seen += mock.requests.length;
  mock.requests.length = 0;
}, 500).unref();

console.log(`mock upstream listening at ${mock.url}`);

const stop = async () => {
  seen += mock.requests.length;
  const stats = { requests: seen, finished: mock.finished, abandoned: mock.abandoned };
  await mock.close();
  console.log(JSON.stringify(stats));
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
// Started by latency.ts: leave with it, even when it dies without stopping us.
process.on('disconnect', () => void stop());
