import { describe, expect, it } from 'vitest';
import type { ScimUser } from '../../../../functions/core/ports/scim.ts';
import { applyPatch, parseFilter, ScimError, userFields } from '../../../../functions/core/scim/resource.ts';

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const user: ScimUser = {
  id: 'u-1',
  user_name: 'Alice@Example.com',
  external_id: '00u1alice',
  display_name: 'Alice',
  name: { givenName: 'Alice' },
  emails: [{ value: 'alice@example.com', type: 'work', primary: true }],
  active: true,
  deleted: false,
  created: '2026-12-01T00:00:00.000Z',
  last_modified: '2026-12-01T00:00:00.000Z',
};
const patch = (...Operations: unknown[]) => applyPatch(user, { schemas: [PATCH_OP], Operations });

describe('SCIM PATCH operations', () => {
  it.each([
    ['Okta: a value object', { op: 'replace', value: { active: false } }],
    ['Entra: a path, the op capitalised', { op: 'Replace', path: 'active', value: false }],
    ['Entra before 2020: a string boolean', { op: 'Replace', path: 'active', value: 'False' }],
    ['an add', { op: 'add', path: 'active', value: false }],
  ])('deactivates with %s', (_what, operation) => {
    expect(patch(operation).active).toBe(false);
  });

  it('applies the attributes Entra changes, and ignores those Tollgate keeps nothing of', () => {
    // Act
    const next = patch(
      { op: 'Replace', path: 'emails[type eq "work"].value', value: 'alice@new.example.com' },
      { op: 'Add', path: 'name.familyName', value: 'Example' },
      {
        op: 'Add',
        path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department',
        value: 'R&D',
      },
      { op: 'Replace', value: { displayName: 'Alice E.', phoneNumbers: [] } },
    );

    // Assess
    expect(next.emails).toEqual([{ value: 'alice@new.example.com', type: 'work', primary: true }]);
    expect(next.name).toEqual({ givenName: 'Alice', familyName: 'Example' });
    expect(next.display_name).toBe('Alice E.');
    expect(next.active).toBe(true);
  });

  it.each([
    ['no schema', { Operations: [{ op: 'replace', path: 'active', value: false }] }, 'invalidSyntax'],
    ['no operations', { schemas: [PATCH_OP], Operations: [] }, 'invalidSyntax'],
    [
      'an unknown op',
      { schemas: [PATCH_OP], Operations: [{ op: 'toggle', path: 'active' }] },
      'invalidSyntax',
    ],
    [
      'a replace without a value',
      { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active' }] },
      'invalidSyntax',
    ],
    ['active removed', { schemas: [PATCH_OP], Operations: [{ op: 'remove', path: 'active' }] }, 'mutability'],
    [
      'active not a boolean',
      { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: 0 } }] },
      'invalidValue',
    ],
  ])('refuses %s with a 400 and its scimType', (_what, body, scimType) => {
    expect(() => applyPatch(user, body)).toThrow(expect.objectContaining({ status: 400, scimType }));
  });
});

describe('SCIM filters', () => {
  it.each([
    ['userName eq "alice@example.com"', true],
    ['userName eq "bob@example.com"', false],
    ['externalId eq "00u1alice"', true],
    ['emails[type eq "work"].value eq "ALICE@example.com"', true],
    ['id eq "u-1"', true],
  ])('matches %s: %s', (filter, matched) => {
    expect(parseFilter(filter)(user)).toBe(matched);
  });

  it('refuses a filter it does not support with a 400 invalidFilter', () => {
    expect(() => parseFilter('userName sw "a"')).toThrow(ScimError);
    expect(() => parseFilter('userName sw "a"')).toThrow(
      expect.objectContaining({ scimType: 'invalidFilter' }),
    );
  });
});

describe('SCIM User bodies', () => {
  it('needs a userName, and is active unless it says otherwise', () => {
    expect(userFields({ userName: 'a@example.com' }).active).toBe(true);
    expect(() => userFields({ displayName: 'No Name' })).toThrow(expect.objectContaining({ status: 400 }));
  });
});
