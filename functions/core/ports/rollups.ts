/**
 * The dashboard's rollup, as built by core/analytics/rollup.ts.
 */
import type { Rollup } from '../analytics/rollup-document.ts';

/** Where the dashboard's rollup is kept: S3 on AWS (built hourly), memory locally (built on demand). */
export interface RollupStore {
  /** The newest rollup, or undefined when none has been built yet. */
  latest(): Promise<Rollup | undefined>;
}
