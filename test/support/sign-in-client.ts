import { createServer } from 'node:net';
import { parseSetCookie } from 'cookie';

/** A port free on 127.0.0.1 now: the IdP must know the gateway's callback URL before the gateway starts. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await new Promise((done) => server.once('listening', done));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

/**
 * A browser without a browser: cookies per origin, redirects followed by hand, so a test sees every
 * hop of the code flow and can stop at the callback, replay it, or send it without a cookie.
 */
export class CookieClient {
  readonly jar = new Map<string, Map<string, string>>();

  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const { origin } = new URL(url);
    const headers = new Headers(init.headers);
    const cookies = this.jar.get(origin);
    if (cookies?.size) headers.set('cookie', [...cookies].map(([n, v]) => `${n}=${v}`).join('; '));
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const cookie = parseSetCookie(line);
      const jar = this.jar.get(origin) ?? new Map<string, string>();
      if (cookie.maxAge === 0 || !cookie.value) jar.delete(cookie.name);
      else jar.set(cookie.name, cookie.value);
      this.jar.set(origin, jar);
    }
    return response;
  }

  /** Starts a sign-in at the gateway and follows the IdP's redirects; the callback URL, not yet visited. */
  async signInUntilCallback(gatewayUrl: string): Promise<string> {
    let url = `${gatewayUrl}/auth/login`;
    for (let hop = 0; hop < 12; hop++) {
      const response = await this.fetch(url);
      const location = response.headers.get('location');
      if (!location)
        throw new Error(`${url} answered ${response.status} without a redirect: ${await response.text()}`);
      url = new URL(location, url).href;
      if (url.startsWith(`${gatewayUrl}/auth/callback`)) return url;
    }
    throw new Error('too many redirects');
  }

  /** The whole sign-in; the callback's answer. */
  async signIn(gatewayUrl: string): Promise<Response> {
    return this.fetch(await this.signInUntilCallback(gatewayUrl));
  }
}
