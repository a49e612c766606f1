/**
 * The admin API's documents — teams, people, routing rules — as one service that each kind configures:
 * its schemas, how a body becomes a new document and how a change applies, how it is described, and
 * how its audit entries read. The service validates, creates, updates, deletes, lists and audits; the
 * route files add only what a kind does beyond that (members, a person's first key, config's rules).
 */
import type { z } from 'zod';
import type { DocumentStore } from '../ports/documents.ts';
import type { Caller } from './access.ts';
import type { AdminContext } from './context.ts';
import { createDocument, replaceDocument, requireDocument } from './documents.ts';
import { parse } from './fields.ts';

type Schema = z.core.$ZodType;

export interface DocumentKind<T, New extends Schema, Change extends Schema, D> {
  /** How errors name one: `Team 'web'`, `No team 'web'`. */
  label: string;
  store: DocumentStore<T>;
  /** Audit actions and targets: `team.new` on `team:web`, `routing.rule_delete` on `routing_rule:r1`. */
  audit: { action(verb: 'new' | 'update' | 'delete'): string; target(id: string): string };
  create: { schema: New; build(input: z.infer<New>, now: Date): T | Promise<T> };
  update?: { schema: Change; id(input: z.infer<Change>): string; apply(doc: T, input: z.infer<Change>): T };
  describe(doc: T): Promise<D>;
}

const MASTER: Caller = { type: 'master' };

/**
 * An admin's changes to one kind of document (the master key's, or a signed-in admin's: `by`); each
 * is audited with the fields it set.
 */
export function documentService<T extends { invalid?: string }, New extends Schema, Change extends Schema, D>(
  ctx: AdminContext,
  kind: DocumentKind<T, New, Change, D>,
) {
  const { store, label } = kind;
  const audit = (
    by: Caller,
    verb: 'new' | 'update' | 'delete',
    id: string,
    details?: Record<string, unknown>,
  ) => ctx.audit(by, kind.audit.action(verb), kind.audit.target(id), details);
  const require = (id: string) => requireDocument(store, id, label);

  return {
    require,
    describe: kind.describe,
    /**
     * Validates a body, creates the document it describes (400 when its id is taken), audits it.
     * `check` runs on the valid input before anything is written.
     */
    async create(
      body: unknown,
      check?: (input: z.infer<New>) => Promise<void>,
      by: Caller = MASTER,
    ): Promise<{ doc: T; input: z.infer<New> }> {
      const input = parse(kind.create.schema, body);
      await check?.(input);
      const doc = await createDocument(store, await kind.create.build(input, ctx.deps.clock.now()), label);
      await audit(by, 'new', store.idOf(doc), { fields: Object.keys(input as object) });
      return { doc, input };
    },
    /** Validates a change, applies it to the stored document (404 when there is none), audits it. */
    async update(body: unknown, by: Caller = MASTER): Promise<T> {
      const update = kind.update;
      if (!update) throw new Error(`${label}s are not updated`);
      const input = parse(update.schema, body);
      const doc = await replaceDocument(store, update.apply(await require(update.id(input)), input), label);
      await audit(by, 'update', store.idOf(doc), { fields: Object.keys(input as object) });
      return doc;
    },
    /** Deletes every one of `ids`, or none when one is missing; answers what was deleted. */
    async remove(ids: string[], by: Caller = MASTER): Promise<T[]> {
      const docs: T[] = [];
      for (const id of ids) docs.push(await require(id));
      await Promise.all(ids.map((id) => store.delete(id)));
      for (const id of ids) await audit(by, 'delete', id);
      return docs;
    },
    async list(): Promise<D[]> {
      return Promise.all((await store.list()).map(kind.describe));
    },
  };
}

/**
 * A document with the fields an input gives copied over (those it leaves undefined keep their value):
 * the part of a change that is the same for every kind.
 */
export function withGiven<T extends object, I extends object>(
  doc: T,
  input: I,
  fields: readonly (keyof I & keyof T)[],
): T {
  const changed = { ...doc };
  for (const field of fields) {
    const value = input[field];
    if (value !== undefined) (changed as Record<keyof T, unknown>)[field] = value;
  }
  return changed;
}
