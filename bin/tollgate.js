#!/usr/bin/env node
// The `tollgate` command (`npx tollgate ...`): the TypeScript CLI, run through tsx so nothing is built first.
import { register } from 'tsx/esm/api';

register();
await import('../functions/local/cli.ts');
