import type { TeamStore } from '../../functions/core/ports.ts';

/** A team store with no teams, for pipeline tests whose keys belong to none. */
export const noTeams: TeamStore = {
  get: async () => undefined,
  create: async () => {},
  update: async () => {},
  delete: async () => {},
  list: async () => [],
};
