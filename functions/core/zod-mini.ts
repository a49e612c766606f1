/**
 * zod's tree-shakable build, for the schemas the proxy's Lambda bundle carries (config, model catalog,
 * routing rules, usage record): about 30 KiB there, against 440 KiB for classic zod, whose chained
 * methods keep all of it. Both builds share zod's core, so the admin API's classic schemas and these mix.
 * Classic zod loads its English messages by itself; zod/mini does not (every issue would read "Invalid
 * input"), so this module does, before any schema here runs: the messages read the same either way.
 * Import it as a namespace (`import * as z`) and never pass `z` around as a value, or the bundler keeps
 * all of zod. https://zod.dev/packages/mini
 */
import { en } from 'zod/locales';
import { config } from 'zod/mini';

config(en());

export * from 'zod/mini';
