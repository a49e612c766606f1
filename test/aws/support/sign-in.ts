/**
 * Sign-in on the Lambda runtime: the stack synthesized with `-c signIn=oidc ...`, and a browser without
 * a browser that walks the code flow through the admin function's URL (as the dashboard's CloudFront
 * distribution passes requests on) and the IdP (over HTTPS).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { parseSetCookie } from 'cookie';
import { Agent, fetch as tlsFetch } from 'undici';
import { signInSettings } from '../../../infra/sign-in-context.ts';
import { TollgateStack } from '../../../infra/stack.ts';
import { functionUrlEvent, type UrlRequest } from './events.ts';
import type { LambdaFunction } from './lambda.ts';
import { REPO_ROOT, readTemplate, resourceAt, type Template } from './template.ts';

const ADMIN = 'Admin/Function/Resource';

/**
 * The template `cdk synth` makes with this sign-in context (`-c signIn=oidc -c oidcIssuer=...`),
 * synthesized in-process: the IdP's address is known only once it listens, so the variant cannot be
 * one more `cdk synth` in the test:aws script. Bundling is skipped; the admin function's code is the
 * bundle that script's `cdk synth` left in cdk.out, which is the same whatever the context (esbuild of
 * functions/lambda/admin.ts with fixed options, infra/constructs/bundling.ts): sign-in changes the
 * function's environment and role, which come from this template.
 */
export function synthSignIn(
  context: Record<string, string>,
): Template & { Outputs: Record<string, { Value: unknown }> } {
  const flags = JSON.parse(readFileSync(`${REPO_ROOT}cdk.json`, 'utf8')).context;
  const app = new App({
    outdir: mkdtempSync(join(tmpdir(), 'tollgate-signin-cdk-')),
    context: { ...flags, 'aws:cdk:bundling-stacks': [], 'aws:cdk:enable-path-metadata': true },
  });
  const dashboardDir = mkdtempSync(join(tmpdir(), 'tollgate-dashboard-'));
  writeFileSync(
    join(dashboardDir, 'index.html'),
    '<!doctype html><html><head><title>Tollgate</title></head></html>',
  );
  const stack = new TollgateStack(app, 'Tollgate', { dashboardDir, signIn: signInSettings(context) });
  const template = app.synth().getStackArtifact(stack.artifactId).template;
  const [, admin] = resourceAt(template, 'AWS::Lambda::Function', ADMIN);
  const [, built] = resourceAt(readTemplate(), 'AWS::Lambda::Function', ADMIN);
  for (const field of ['Handler', 'Runtime'])
    if (admin.Properties?.[field] !== built.Properties?.[field])
      throw new Error(`the admin function's ${field} differs between the sign-in variant and cdk.out`);
  admin.Metadata = { ...admin.Metadata, 'aws:asset:path': built.Metadata?.['aws:asset:path'] };
  return template;
}

export interface Answer {
  status: number;
  headers: Record<string, string>;
  /** Set-Cookie lines as the function returned them (the result's `cookies`). */
  setCookies: string[];
  body: string;
}

/**
 * One person's browser. Requests to the dashboard's origin are function URL events for the admin
 * function, as the distribution sends them: the function URL's own host, the viewer's host in
 * `x-forwarded-host` and the viewer's address in `x-tollgate-viewer-address` (its viewer-request
 * function), the cookies in the event's `cookies`. Requests to the IdP are HTTPS, trusting the run's CA.
 */
export class SignInBrowser {
  /** Cookies per origin: the dashboard's (set through the function) and the IdP's. */
  readonly jar = new Map<string, Map<string, string>>();
  private readonly agent: Agent;

  constructor(
    private readonly admin: LambdaFunction,
    readonly dashboard: string,
    private readonly viewerIp: string,
    ca: string,
  ) {
    this.agent = new Agent({ connect: { ca } });
  }

  /** A request to the dashboard's origin, answered by the admin function. */
  async send(req: UrlRequest): Promise<Answer> {
    const { host } = new URL(this.dashboard);
    const cookies = [...(this.jar.get(this.dashboard) ?? [])].map(([n, v]) => `${n}=${v}`);
    const event = functionUrlEvent({
      ...req,
      headers: { 'x-forwarded-host': host, 'x-tollgate-viewer-address': this.viewerIp, ...req.headers },
      cookies,
    });
    const inv = this.admin.invoke(event);
    const result = (await inv.payload) as {
      statusCode: number;
      headers?: Record<string, string>;
      cookies?: string[];
      body?: string;
    };
    await inv.done;
    const setCookies = result.cookies ?? [];
    this.keep(this.dashboard, setCookies);
    return { status: result.statusCode, headers: result.headers ?? {}, setCookies, body: result.body ?? '' };
  }

  /**
   * From the IdP's authorization URL (where `/auth/login` sent the browser) through its login and
   * consent, to the callback URL on the dashboard it sends the browser back to (not yet visited).
   */
  async throughIdp(authorizationUrl: string): Promise<string> {
    let url = authorizationUrl;
    for (let hop = 0; hop < 12; hop++) {
      const { origin } = new URL(url);
      const cookies = [...(this.jar.get(origin) ?? [])].map(([n, v]) => `${n}=${v}`).join('; ');
      const response = await tlsFetch(url, {
        redirect: 'manual',
        dispatcher: this.agent,
        headers: cookies ? { cookie: cookies } : {},
      });
      this.keep(origin, response.headers.getSetCookie());
      const location = response.headers.get('location');
      if (!location) throw new Error(`the IdP answered ${response.status} at ${url} without a redirect`);
      await response.body?.cancel();
      url = new URL(location, url).href;
      if (url.startsWith(`${this.dashboard}/auth/callback`)) return url;
    }
    throw new Error('too many redirects at the IdP');
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private keep(origin: string, lines: string[]) {
    const jar = this.jar.get(origin) ?? new Map<string, string>();
    for (const line of lines) {
      const cookie = parseSetCookie(line);
      if (cookie.maxAge === 0 || !cookie.value) jar.delete(cookie.name);
      else jar.set(cookie.name, cookie.value);
    }
    this.jar.set(origin, jar);
  }
}

/** A Set-Cookie line's attributes, by lower-case name (`httponly: true`, `samesite: 'Lax'`...). */
export function cookieAttributes(line: string): {
  name: string;
  value: string;
  attrs: Record<string, string | true>;
} {
  const [pair = '', ...rest] = line.split(';').map((p) => p.trim());
  const at = pair.indexOf('=');
  const attrs: Record<string, string | true> = {};
  for (const part of rest) {
    const eq = part.indexOf('=');
    if (eq < 0) attrs[part.toLowerCase()] = true;
    else attrs[part.slice(0, eq).toLowerCase()] = part.slice(eq + 1);
  }
  return { name: pair.slice(0, at), value: pair.slice(at + 1), attrs };
}
