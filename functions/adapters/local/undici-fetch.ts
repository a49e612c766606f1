/**
 * The local gateway's upstream calls through undici's `request` rather than the global `fetch`: the same
 * HTTP client underneath, without fetch's spec machinery on every call, which on Node 20 caps a process
 * at about 2,000 calls a second on this kind of machine (`npm run bench` shows the difference). The
 * answer is handed to the core as a web-standard Response whose body streams as it arrives.
 */

import { request } from 'undici';
import type { UpstreamFetch } from '../../core/ports/upstream.ts';

export const undiciFetch: UpstreamFetch = async (input, init) => {
  const answer = await request(input, {
    method: (init.method ?? 'GET') as 'POST',
    headers: headerObject(init.headers),
    body: init.body as string | undefined,
    signal: init.signal ?? undefined,
  });
  const headers = new Headers();
  for (const [name, value] of Object.entries(answer.headers)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value !== undefined) headers.set(name, value);
  }
  // A body-less status cannot carry a stream. An event stream streams through as the Response's body;
  // anything else (a JSON answer, an error) arrives whole anyway and is read here, without web streams.
  const empty = answer.statusCode === 204 || answer.statusCode === 304 || init.method === 'HEAD';
  if (empty) answer.body.resume();
  const streamed = (headers.get('content-type') ?? '').includes('text/event-stream');
  const body = empty
    ? null
    : streamed
      ? (answer.body as unknown as ReadableStream<Uint8Array>)
      : await answer.body.arrayBuffer();
  return new Response(body, { status: answer.statusCode, headers });
};

function headerObject(headers: RequestInit['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  new Headers(headers).forEach((value, name) => {
    out[name] = value;
  });
  return out;
}
