import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The real Claude Code and Codex CLIs against the embedded gateway and the mock upstream. Kept out of
// `npm test`: the CLIs are installed on demand (`npm run test:agents` runs scripts/install-agents.ts first).
export default defineConfig({
  test: {
    name: 'agents',
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['test/agents/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Each CLI is a heavy process tree; one file at a time keeps timings and logs readable.
    fileParallelism: false,
  },
});
