import { describe, expect, it } from 'vitest';
import { mappingsFromConfig, orderMappings, placementOf } from '../../../../functions/core/auth/groups.ts';
import { ConfigError } from '../../../../functions/core/config-error.ts';
import type { GroupMapping } from '../../../../functions/core/ports/identity.ts';

const map = (group: string, team_id: string | null, role: GroupMapping['role'] = null): GroupMapping => ({
  group,
  team_id,
  role,
  source: 'config',
});

describe('groups to teams and roles', () => {
  it('places a person in the first mapped team their groups name, as internal_user', () => {
    // Act
    const place = placementOf(
      ['sales', 'eng-web', 'eng-platform'],
      [map('eng-platform', 'platform'), map('eng-web', 'web')],
    );

    // Assess
    expect(place).toEqual({ team_id: 'platform', role: 'internal_user' });
  });

  it('gives the highest role any group gives', () => {
    // Act
    const place = placementOf(
      ['eng', 'finance', 'admins'],
      [
        map('eng', 'platform'),
        map('finance', null, 'proxy_admin_viewer'),
        map('admins', null, 'proxy_admin'),
      ],
    );

    // Assess
    expect(place).toEqual({ team_id: 'platform', role: 'proxy_admin' });
  });

  it('places an org-wide viewer without a team, and nobody else', () => {
    // Act
    const viewer = placementOf(['finance'], [map('finance', null, 'proxy_admin_viewer')]);
    const user = placementOf(['eng'], [map('eng', null, 'internal_user')]);
    const stranger = placementOf(['sales'], [map('eng', 'platform')]);

    // Assess
    expect(viewer).toEqual({ team_id: null, role: 'proxy_admin_viewer' });
    expect(user).toBeNull();
    expect(stranger).toBeNull();
  });

  it("reads config's mappings first, in order, then saved ones by group", () => {
    // Act
    const ordered = orderMappings([map('z', 'a'), map('b', 'b')], [map('y', 'y'), map('c', 'c')]);

    // Assess
    expect(ordered.map((m) => m.group)).toEqual(['z', 'b', 'c', 'y']);
  });

  it('refuses a config mapping that names neither team nor role, naming the variable', () => {
    // Act
    const failure = () => mappingsFromConfig('[{"group":"eng"}]');

    // Assess
    expect(failure).toThrow(ConfigError);
    expect(failure).toThrow(/TOLLGATE_OIDC_GROUP_MAP: entry 1/);
  });
});
