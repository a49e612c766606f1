/**
 * The one-at-a-time client of `npm run bench`, in a process of its own. For each series it sends the
 * same request straight to the mock and through the gateway, alternating which goes first, so both see
 * the same machine; then prints one JSON document of every timing on stdout (progress on stderr).
 *
 *   npx tsx test/bench/client.ts --direct <mock url> --gateway <gateway url> --key <sk-tg-...>
 *                                [--n 300] [--warmup 30] [--prime 250]
 */
import { parseArgs } from 'node:util';
import { type Timing, timeExchange } from './measure.ts';
import { exchangeOf, SERIES, type Series } from './requests.ts';

export interface SeriesTimings extends Series {
  direct: Timing[];
  gateway: Timing[];
  /** Warm-up included: what the gateway should have a record of. */
  sentToGateway: number;
}

const { values } = parseArgs({
  options: {
    direct: { type: 'string' },
    gateway: { type: 'string' },
    key: { type: 'string' },
    n: { type: 'string', default: '300' },
    warmup: { type: 'string', default: '30' },
    prime: { type: 'string', default: '250' },
  },
});
if (!values.direct || !values.gateway || !values.key)
  throw new Error('--direct, --gateway and --key are required');
const n = Number(values.n);
const warmup = Number(values.warmup);
const prime = Number(values.prime);

// Started by latency.ts: leave with it.
process.on('disconnect', () => process.exit(1));

// A gateway that has served a while: `prime` rounds of every series through both targets, untimed,
// before any is measured, so the first series is not the one that meets a cold JIT (a process runs
// its first thousand or so requests in V8's slower tiers: about 2 ms more each here).
const primed = new Map(SERIES.map((s) => [s.id, 0]));
for (let round = 0; round < prime; round++) {
  for (const series of SERIES) {
    await timeExchange(exchangeOf(series, values.direct, values.key));
    await timeExchange(exchangeOf(series, values.gateway, values.key));
    primed.set(series.id, (primed.get(series.id) ?? 0) + 1);
  }
}
if (prime > 0) process.stderr.write(`  primed: ${prime} rounds of every series each way\n`);

const results: SeriesTimings[] = [];
for (const series of SERIES) {
  const direct = exchangeOf(series, values.direct, values.key);
  const through = exchangeOf(series, values.gateway, values.key);
  const timings: SeriesTimings = {
    ...series,
    direct: [],
    gateway: [],
    sentToGateway: primed.get(series.id) ?? 0,
  };
  for (let i = 0; i < warmup + n; i++) {
    const directFirst = i % 2 === 0;
    const first = await timeExchange(directFirst ? direct : through);
    const second = await timeExchange(directFirst ? through : direct);
    timings.sentToGateway++;
    if (i < warmup) continue;
    timings.direct.push(directFirst ? first : second);
    timings.gateway.push(directFirst ? second : first);
  }
  results.push(timings);
  process.stderr.write(`  ${series.id}: ${warmup} + ${n} requests each way\n`);
}
process.stdout.write(`${JSON.stringify(results)}\n`);
process.removeAllListeners('disconnect');
process.disconnect?.();
