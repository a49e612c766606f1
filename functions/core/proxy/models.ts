/** `GET /v1/models` answers, in each protocol's list shape. */

const PREFIX = /^\/(?:anthropic|openai)(?=\/)/;

export function isModelsPath(pathname: string): boolean {
  return pathname.replace(PREFIX, '').replace(/\/+$/, '') === '/v1/models';
}

/** https://platform.openai.com/docs/api-reference/models/list */
export function openaiModelList(names: string[]) {
  return {
    object: 'list',
    data: names.map((id) => ({ id, object: 'model', created: 0, owned_by: 'tollgate' })),
  };
}

/** https://docs.anthropic.com/en/api/models-list */
export function anthropicModelList(names: string[]) {
  const data = names.map((id) => ({
    type: 'model',
    id,
    display_name: id,
    created_at: '1970-01-01T00:00:00Z',
  }));
  return { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
}
