import { ConflictError, GatewayError, NotFoundError } from '../errors.ts';
import type { DocumentStore } from '../ports/documents.ts';
import { unreadable } from './period-spend.ts';

/**
 * Teams and users are documents with an id; these turn the store's conflict and absence into the
 * admin API's 400 and 404, naming the document (`Team 'web'`, `User 'ann'`).
 */
export async function createDocument<T>(store: DocumentStore<T>, doc: T, kind: string): Promise<T> {
  try {
    await store.create(doc);
  } catch (err) {
    if (err instanceof ConflictError)
      throw new GatewayError('invalid_request', `${kind} '${store.idOf(doc)}' already exists.`, {
        cause: err,
      });
    throw err;
  }
  return doc;
}

export async function requireDocument<T>(store: DocumentStore<T>, id: string, kind: string): Promise<T> {
  const doc = await store.get(id);
  if (!doc) throw new GatewayError('not_found', `No ${kind.toLowerCase()} '${id}'.`);
  return doc;
}

export async function replaceDocument<T extends { invalid?: string }>(
  store: DocumentStore<T>,
  doc: T,
  kind: string,
): Promise<T> {
  if (doc.invalid) throw unreadable(`${kind} '${store.idOf(doc)}'`, doc.invalid);
  try {
    await store.update(doc);
  } catch (err) {
    if (err instanceof NotFoundError)
      throw new GatewayError('not_found', `No ${kind.toLowerCase()} '${store.idOf(doc)}'.`, { cause: err });
    throw err;
  }
  return doc;
}
