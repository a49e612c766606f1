/**
 * The call to a provider.
 */

/** The web-standard fetch, narrowed: the upstream call is injectable for tests and fault injection. */
export type UpstreamFetch = (input: string, init: RequestInit) => Promise<Response>;
