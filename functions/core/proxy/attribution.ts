/**
 * Tags from request headers: Tollgate's `x-tollgate-tags` and LiteLLM's `x-litellm-tags`, both
 * comma-separated, so scripts written for LiteLLM keep their attribution.
 */
export function headerTags(headers: Headers): string[] {
  return ['x-tollgate-tags', 'x-litellm-tags'].flatMap((name) => splitTags(headers.get(name)));
}

function splitTags(value: string | null): string[] {
  return value
    ? value
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean)
    : [];
}

/** Tags in first-seen order, without duplicates, each at most 128 characters, at most 32 of them. */
export function mergeTags(...lists: string[][]): string[] {
  return [...new Set(lists.flat().map((t) => t.slice(0, 128)))].slice(0, 32);
}
