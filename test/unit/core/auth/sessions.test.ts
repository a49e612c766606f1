import { describe, expect, it } from 'vitest';
import { createSessions } from '../../../../functions/core/auth/sessions.ts';
import { GatewayError } from '../../../../functions/core/errors.ts';
import type { Session, SessionStore } from '../../../../functions/core/ports/identity.ts';

function memorySessions(): SessionStore & { docs: Map<string, Session> } {
  const docs = new Map<string, Session>();
  return {
    docs,
    idOf: (s) => s.session_hash,
    get: async (id) => docs.get(id),
    create: async (s) => void docs.set(s.session_hash, s),
    update: async (s) => void docs.set(s.session_hash, s),
    delete: async (id) => void docs.delete(id),
    list: async () => [...docs.values()],
  };
}

const clockAt = (iso: string) => ({ now: () => new Date(iso) });
const cookiePair = (setCookie: string) => setCookie.split(';')[0] ?? '';

describe('sign-in sessions', () => {
  it('sets a Secure, __Host- prefixed, HttpOnly, SameSite=Lax cookie over https, and stores only its hash', async () => {
    // Prepare
    const store = memorySessions();
    const sessions = createSessions({
      store,
      clock: clockAt('2026-12-01T00:00:00Z'),
      ttlMs: 3_600_000,
      secure: true,
    });

    // Act
    const setCookie = await sessions.start('alice', 'web');

    // Assess
    expect(setCookie).toMatch(
      /^__Host-tollgate_session=[\w-]{43}; Max-Age=3600; Path=\/; HttpOnly; Secure; SameSite=Lax$/,
    );
    const secret = cookiePair(setCookie).split('=')[1] ?? '';
    expect(JSON.stringify([...store.docs.values()])).not.toContain(secret);
  });

  it('forgets a session once it has expired', async () => {
    // Prepare
    const store = memorySessions();
    const start = createSessions({
      store,
      clock: clockAt('2026-12-01T00:00:00Z'),
      ttlMs: 60_000,
      secure: false,
    });
    const later = createSessions({
      store,
      clock: clockAt('2026-12-01T00:01:00Z'),
      ttlMs: 60_000,
      secure: false,
    });
    const headers = new Headers({ cookie: cookiePair(await start.start('alice', null)) });

    // Act
    const now = await start.current(headers);
    const after = await later.current(headers);

    // Assess
    expect(now?.user_id).toBe('alice');
    expect(after).toBeUndefined();
    expect(store.docs.size).toBe(0);
  });

  it("takes a change with the session's CSRF token from the dashboard's origin only", async () => {
    // Prepare
    const sessions = createSessions({
      store: memorySessions(),
      clock: clockAt('2026-12-01T00:00:00Z'),
      ttlMs: 60_000,
      secure: true,
      originOf: () => 'https://d1.cloudfront.net',
    });
    const cookie = cookiePair(await sessions.start('alice', null));
    const csrf = sessions.csrfToken(new Headers({ cookie })) ?? '';
    // Behind CloudFront the function sees its own URL; the browser sends the dashboard's origin.
    const request = (origin: string, token = csrf) =>
      new Request('https://abc.lambda-url.us-east-1.on.aws/key/generate', {
        method: 'POST',
        headers: { cookie, origin, 'x-csrf-token': token },
      });

    // Act
    const fromDashboard = () => sessions.checkCsrf(request('https://d1.cloudfront.net'));
    const fromElsewhere = () => sessions.checkCsrf(request('https://evil.example'));
    const withoutToken = () => sessions.checkCsrf(request('https://d1.cloudfront.net', ''));

    // Assess
    expect(fromDashboard).not.toThrow();
    expect(fromElsewhere).toThrow(GatewayError);
    expect(withoutToken).toThrow(/CSRF token/);
  });
});
