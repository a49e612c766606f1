import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// `npm run test:aws`: the bundles from cdk.out under aws-lambda-ric, against moto_server. Kept out of
// `npm test`: it needs `cdk synth` and the runtime client installed first (the script does both).
export default defineConfig({
  test: {
    name: 'aws',
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['test/aws/**/*.test.ts'],
    globalSetup: ['test/aws/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // The functions are child processes on a shared emulator; one file at a time keeps them readable.
    fileParallelism: false,
  },
});
