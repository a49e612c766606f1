/**
 * The admin API as the dashboard uses it: the key the person signed in with (kept in this tab's
 * sessionStorage only, so it leaves with the tab), the API's base URL from `config.json` (written at
 * deploy time; absent locally, where the API is on this origin).
 */
const KEY_STORAGE = 'tollgate.key';

let apiBase = '';

export async function loadApiBase(): Promise<void> {
  try {
    const response = await fetch('./config.json', { cache: 'no-store' });
    if (!response.ok) return;
    const config = (await response.json()) as { adminApiUrl?: unknown };
    if (typeof config.adminApiUrl === 'string') apiBase = config.adminApiUrl.replace(/\/+$/, '');
  } catch {
    // No config: the admin API is on this origin.
  }
}

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
    response = await fetch(`${apiBase}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${storedKey()}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, `Could not reach the admin API${apiBase ? ` at ${apiBase}` : ''}.`);
  }
  const answer = (await response.json().catch(() => ({}))) as { error?: { message?: string } };
  if (!response.ok) throw new ApiError(response.status, answer.error?.message ?? `HTTP ${response.status}`);
  return answer as T;
}
