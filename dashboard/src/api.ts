/**
 * The admin API as the dashboard uses it: either the key the person signed in with (kept in this tab's
 * sessionStorage only, so it leaves with the tab), or the sign-in session — an HttpOnly cookie the
 * page never sees, with the CSRF token every change carries (held in memory only). The API's base URL
 * comes from `config.json` (written at deploy time; absent locally, where the API is on this origin).
 */
const KEY_STORAGE = 'tollgate.key';

let apiBase = '';
/** Where agents send requests: `proxyUrl` from config.json (AWS), else this origin (`npm start`). */
let proxyBase = '';
/** Set once GET /auth/session answered: the page is signed in with the IdP. */
let csrfToken: string | undefined;

export interface SignedIn {
  user_id: string;
  user_role: string;
  team_id: string | null;
  csrf_token: string;
}

/**
 * Whether sign-in with the IdP is on (the route exists), and the session when this browser has one.
 */
export async function loadSession(): Promise<{ enabled: boolean; session?: SignedIn }> {
  try {
    const response = await fetch(`${apiBase}/auth/session`, { credentials: 'same-origin' });
    if (response.status === 404) return { enabled: false };
    if (!response.ok) return { enabled: true };
    const session = (await response.json()) as SignedIn;
    csrfToken = session.csrf_token;
    return { enabled: true, session };
  } catch {
    return { enabled: false };
  }
}

/** The session ended (signed out elsewhere, or expired): calls go with a key again. */
export function forgetSession(): void {
  csrfToken = undefined;
}

export async function signOutSession(): Promise<void> {
  if (csrfToken === undefined) return;
  await api('/auth/logout', {});
  csrfToken = undefined;
}

export async function loadApiBase(): Promise<void> {
  try {
    const response = await fetch('./config.json', { cache: 'no-store' });
    if (!response.ok) return;
    const config = (await response.json()) as { adminApiUrl?: unknown; proxyUrl?: unknown };
    if (typeof config.adminApiUrl === 'string') apiBase = config.adminApiUrl.replace(/\/+$/, '');
    if (typeof config.proxyUrl === 'string') proxyBase = config.proxyUrl.replace(/\/+$/, '');
  } catch {
    // No config: the admin API is on this origin.
  }
}

export const proxyUrl = (): string => proxyBase || window.location.origin;

export const storedKey = (): string => sessionStorage.getItem(KEY_STORAGE) ?? '';
export const storeKey = (key: string): void => sessionStorage.setItem(KEY_STORAGE, key);
export const forgetKey = (): void => sessionStorage.removeItem(KEY_STORAGE);

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function api<T>(path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (csrfToken !== undefined) headers['x-csrf-token'] = csrfToken;
    else headers.authorization = `Bearer ${storedKey()}`;
    response = await fetch(`${apiBase}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, `Could not reach the admin API${apiBase ? ` at ${apiBase}` : ''}.`);
  }
  const answer = (await response.json().catch(() => ({}))) as { error?: { message?: string } };
  if (!response.ok) throw new ApiError(response.status, answer.error?.message ?? `HTTP ${response.status}`);
  return answer as T;
}
