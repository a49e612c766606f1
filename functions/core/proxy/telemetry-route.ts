/**
 * The OTLP/HTTP paths on the proxy's URL, and the receiver behind them, imported on the first telemetry
 * request. `tollgate/telemetry-receiver` is this package's own export (package.json `exports`): under
 * tsx (tests, the CLI) Node resolves it to core/telemetry/receiver.ts; `npm start`'s build bundles that
 * file in its place (plain Node cannot load `.ts`); on Lambda it is a file beside the bundle
 * (`PROXY_LAZY_MODULES` in infra/constructs/bundling.ts), so protobufjs and the OTLP schema stay out of
 * the proxy's cold start.
 */
import { GatewayError } from '../errors.ts';
import type { VirtualKey } from '../ports/keys.ts';
import type { TelemetryReceiver } from '../telemetry/receiver.ts';
import type { ProxyDeps } from './deps.ts';

export type TelemetrySignal = 'logs' | 'metrics';

/** `/v1/logs` and `/v1/metrics`, where an exporter given the gateway's base URL sends. */
export function telemetrySignal(pathname: string): TelemetrySignal | undefined {
  if (pathname === '/v1/logs') return 'logs';
  if (pathname === '/v1/metrics') return 'metrics';
  return undefined;
}

export function lazyTelemetryReceiver(
  deps: ProxyDeps,
  authenticate: (headers: Headers) => Promise<VirtualKey>,
): (request: Request, signal: TelemetrySignal) => Promise<Response> {
  let receiver: Promise<TelemetryReceiver> | undefined;
  return async (request, signal) => {
    const settings = deps.telemetry;
    if (!settings)
      throw new GatewayError('not_found', `This gateway does not collect telemetry (/v1/${signal}).`);
    // Written out, so `npm start`'s build (scripts/start.mjs) can alias it to the source and bundle it;
    // the Lambda build keeps it external by the same name (TELEMETRY_RECEIVER_MODULE in bundling.ts).
    receiver ??= import('tollgate/telemetry-receiver').then((m: typeof import('../telemetry/receiver.ts')) =>
      m.createTelemetryReceiver({ ...settings, authenticate, clock: deps.clock, log: deps.log }),
    );
    return (await receiver).handle(request, signal);
  };
}
