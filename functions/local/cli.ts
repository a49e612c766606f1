/**
 * `npx tollgate`: the admin API from a terminal, for people who prefer it to curl. It only speaks HTTP
 * to a running gateway (local or the admin function URL on AWS), with the master key or, for one's
 * own keys, a personal key — so it can do exactly what the API allows that key, nothing more.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { localLake } from '../compose/local.ts';
import { loadCliConfig, loadConfig } from '../config.ts';
import { day } from '../core/admin/fields.ts';
import { formatDollars, formatUsd } from '../core/money.ts';
import { systemClock } from '../core/ports/clock.ts';
import { repricingCatalog } from '../core/pricing/catalog.ts';
import { PRICE_VERSION_FORMAT, repriceRange } from '../core/usage/reprice.ts';
import { agentSetupText } from './agent-setup.ts';

const USAGE = `Usage: tollgate <command> [options]

  start                               run the gateway on this machine (same as npm start)
  keys create [--alias A] [--user U] [--team T] [--budget USD] [--duration 1mo]
              [--models m1,m2] [--mode strict|fair] [--rpm N] [--tpm N] [--parallel N]
  keys list [--user U] [--team T]
  keys revoke <sk-key | token | alias>   block a key (an admin can unblock it)
  keys delete <sk-key | token | alias>
  teams create [--id ID] [--alias A] [--budget USD] [--duration 1mo] [--models m1,m2]
  teams list
  teams info <team_id>
  users create --id ID [--email E] [--budget USD] [--duration 1mo] [--team T] [--models m1,m2]
  users info [user_id]
  agent-setup --key sk-...            print Claude Code's settings and Codex's config.toml for this
                                      gateway and key: proxied, budgeted and measured (telemetry)
  erase --user U                      remove one person: their usage records from the lake (the days
                                      that held them rewritten), their keys, team memberships and
                                      document; audited. On AWS it records a job (keys blocked at
                                      once) that the rollup function works: erase --job ID asks
  reprice --from YYYY-MM-DD --to YYYY-MM-DD --version V [--prices file.json]
                                      recompute cost in the local lake from tokens at corrected
                                      prices (catalog entries as in TOLLGATE_MODELS_JSON)

Talks to TOLLGATE_URL (default http://127.0.0.1:4000) with TOLLGATE_API_KEY (your own key: manage
your own keys) or TOLLGATE_MASTER_KEY (default: the local data dir's master key). --json prints
the API's answer as it came.`;

const OPTIONS = {
  alias: { type: 'string' },
  user: { type: 'string' },
  team: { type: 'string' },
  id: { type: 'string' },
  email: { type: 'string' },
  budget: { type: 'string' },
  duration: { type: 'string' },
  models: { type: 'string' },
  mode: { type: 'string' },
  rpm: { type: 'string' },
  tpm: { type: 'string' },
  parallel: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  version: { type: 'string' },
  prices: { type: 'string' },
  key: { type: 'string' },
  job: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Flags = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];
type Json = Record<string, unknown>;

class CliError extends Error {
  override name = 'CliError';
}

async function main(argv: string[]): Promise<void> {
  const { values: flags, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  const [group, action, target] = positionals;
  if (flags.help || !group) return void console.log(USAGE);
  if (group === 'start') return void (await import('./main.ts'));
  if (group === 'reprice') return reprice(flags);
  if (group === 'agent-setup') return agentSetup(flags.key);
  const api = await client();
  const print = (answer: unknown, text: () => string) =>
    console.log(flags.json ? JSON.stringify(answer, null, 2) : text());

  switch (`${group} ${action ?? ''}`.trim()) {
    case 'keys create': {
      const key = await api.post('/key/generate', keyBody(flags));
      return print(key, () => `${key.key}\n  (shown once) ${describeKey(key)}`);
    }
    case 'keys list': {
      const query = new URLSearchParams({ size: '100' });
      if (flags.user) query.set('user_id', flags.user);
      if (flags.team) query.set('team_id', flags.team);
      const page = await api.get(`/key/list?${query}`);
      const keys = page.keys as Json[];
      return print(page, () =>
        table(keys, ['key_name', 'key_alias', 'user_id', 'team_id', 'spend', 'max_budget', 'blocked']),
      );
    }
    case 'keys revoke': {
      const key = await api.post('/key/block', { key: await keyRef(api, target) });
      return print(key, () => `revoked ${describeKey(key)}`);
    }
    case 'keys delete': {
      const answer = await api.post('/key/delete', { keys: [await keyRef(api, target)] });
      return print(answer, () => `deleted ${target}`);
    }
    case 'teams create': {
      const team = await api.post('/team/new', {
        ...(flags.id && { team_id: flags.id }),
        ...(flags.alias && { team_alias: flags.alias }),
        ...budgetFields(flags),
      });
      return print(
        team,
        () =>
          `team ${team.team_id} (${team.team_alias ?? 'no alias'}), budget ${formatDollars(team.max_budget)}`,
      );
    }
    case 'teams list': {
      const teams = (await api.get('/team/list')) as unknown as Json[];
      return print(teams, () =>
        table(teams, ['team_id', 'team_alias', 'spend', 'max_budget', 'budget_duration', 'blocked']),
      );
    }
    case 'teams info': {
      if (!target) throw new CliError('teams info needs a team_id');
      const info = await api.get(`/team/info?team_id=${encodeURIComponent(target)}`);
      return print(info, () => JSON.stringify(info.team_info, null, 2));
    }
    case 'users create': {
      if (!flags.id) throw new CliError('users create needs --id');
      const user = await api.post('/user/new', {
        user_id: flags.id,
        ...(flags.email && { user_email: flags.email }),
        ...(flags.team && { teams: [flags.team] }),
        ...budgetFields(flags),
      });
      return print(
        user,
        () =>
          `user ${user.user_id}, budget ${formatDollars(user.max_budget)}\n${user.key}\n  (their first key, shown once)`,
      );
    }
    case 'users info': {
      const info = await api.get(`/user/info${target ? `?user_id=${encodeURIComponent(target)}` : ''}`);
      return print(info, () => JSON.stringify(info, null, 2));
    }
    case 'erase': {
      if (flags.job) {
        const job = await api.get(`/user/erase/${encodeURIComponent(flags.job)}`);
        return print(job, () => describeJob(job));
      }
      if (!flags.user) throw new CliError('erase needs --user <user_id> (or --job <job_id>)');
      const erased = await api.post('/user/erase', { user_id: flags.user });
      // On AWS: a job, worked by the rollup function (core/admin/erasure-job.ts).
      if (erased.job_id) return print(erased, () => describeJob(erased));
      return print(
        erased,
        () =>
          `erased ${erased.user_id}: ${erased.records} usage records over ${(erased.days as string[]).length} days, ` +
          `${erased.telemetry} telemetry points and events, ${erased.keys} keys, ${erased.teams} team memberships${erased.document ? ', their document' : ''}`,
      );
    }
    default:
      throw new CliError(`Unknown command '${positionals.join(' ')}'.\n\n${USAGE}`);
  }
}

/** An erasure job on AWS, as `erase` prints it. */
function describeJob(job: Record<string, unknown>): string {
  const result = job.result as Record<string, unknown> | undefined;
  if (job.status === 'done' && result)
    return `erasure ${job.job_id} of ${job.user_id} done: ${result.records} usage records over ${(result.days as string[]).length} days, ${result.telemetry} telemetry points and events, ${result.keys} keys, ${result.teams} team memberships${result.document ? ', their document' : ''}`;
  const error = job.last_error ? ` (last run failed: ${job.last_error})` : '';
  return `erasure ${job.job_id} of ${job.user_id} ${job.status}: ${job.keys_blocked} keys blocked; the rollup function rewrites the lake from ${job.not_before}${error}. Ask again with: tollgate erase --job ${job.job_id}`;
}

/** Checks the key with the gateway (its model list), then prints the agents' settings for it. */
async function agentSetup(key: string | undefined): Promise<void> {
  if (!key) throw new CliError("agent-setup needs --key sk-... (the person's own virtual key)");
  const { url } = loadCliConfig();
  const response = await fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${key}` } }).catch(
    (cause: unknown) => {
      throw new CliError(`Cannot reach the gateway at ${url}: ${String(cause)}`);
    },
  );
  if (!response.ok)
    throw new CliError(`The gateway refuses this key (${response.status}): nothing to set up.`);
  process.stdout.write(agentSetupText(url, key));
}

/** Re-prices the local lake (the data dir `npm start` uses) directly: no gateway needs to run. */
async function reprice(flags: Flags): Promise<void> {
  if (!flags.from || !flags.to || !flags.version)
    throw new CliError('reprice needs --from, --to and --version');
  if (!PRICE_VERSION_FORMAT.test(flags.version)) throw new CliError('--version is a day, YYYY-MM-DD');
  for (const [name, value] of [
    ['from', flags.from],
    ['to', flags.to],
  ] as const)
    if (!day.safeParse(value).success)
      throw new CliError(`--${name} must be a day as YYYY-MM-DD, not '${value}'`);
  const config = loadConfig();
  const catalog = repricingCatalog({
    deployedModelsJson: config.modelsJson,
    corrections: flags.prices ? await readPrices(flags.prices) : undefined,
    label: '--prices',
    version: flags.version,
  });
  const { query, sink } = localLake(config.dataDir, systemClock);
  try {
    const result = await repriceRange({ query, sink, catalog }, { from: flags.from, to: flags.to });
    console.log(
      flags.json
        ? JSON.stringify(result, null, 2)
        : `${result.repriced} of ${result.records} records over ${result.days} days re-priced to ${flags.version}: ` +
            `${formatUsd(result.cost_before_micros)} → ${formatUsd(result.cost_after_micros)}`,
    );
  } finally {
    await query.close();
  }
}

async function client() {
  const config = loadCliConfig();
  const key =
    config.key ?? (await readFile(join(config.dataDir, 'master-key'), 'utf8').catch(() => '')).trim();
  if (!key) throw new CliError('No key: set TOLLGATE_API_KEY (your own) or TOLLGATE_MASTER_KEY.');
  const send = async (path: string, body?: Json): Promise<Json> => {
    const response = await fetch(`${config.url}${path}`, {
      method: body ? 'POST' : 'GET',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    }).catch((cause: unknown) => {
      throw new CliError(`Cannot reach the gateway at ${config.url}: ${String(cause)}`);
    });
    const answer = (await response.json().catch(() => ({}))) as Json;
    if (!response.ok) {
      const message = (answer.error as { message?: string } | undefined)?.message ?? response.statusText;
      throw new CliError(`${response.status}: ${message}`);
    }
    return answer;
  };
  return { get: (path: string) => send(path), post: (path: string, body: Json) => send(path, body) };
}

/** A key the user named: a secret or token as is, otherwise an alias looked up among the keys they may see. */
async function keyRef(api: Awaited<ReturnType<typeof client>>, ref: string | undefined): Promise<string> {
  if (!ref) throw new CliError('Name the key: its secret (sk-...), its token, or its alias.');
  if (ref.startsWith('sk-') || /^[0-9a-f]{64}$/.test(ref)) return ref;
  const page = await api.get(`/key/list?size=100&key_alias=${encodeURIComponent(ref)}`);
  const found = page.keys as Json[];
  if (found.length !== 1)
    throw new CliError(`${found.length} keys have the alias '${ref}': name it by its token.`);
  return String(found[0]?.token);
}

function keyBody(flags: Flags): Json {
  return {
    ...(flags.alias && { key_alias: flags.alias }),
    ...(flags.user && { user_id: flags.user }),
    ...(flags.team && { team_id: flags.team }),
    ...budgetFields(flags),
    ...(flags.mode && { budget_mode: flags.mode }),
    ...(flags.rpm && { rpm_limit: wholeNumber(flags.rpm, 'rpm') }),
    ...(flags.tpm && { tpm_limit: wholeNumber(flags.tpm, 'tpm') }),
    ...(flags.parallel && { max_parallel_requests: wholeNumber(flags.parallel, 'parallel') }),
  };
}

function budgetFields(flags: Flags): Json {
  return {
    ...(flags.budget && { max_budget: number(flags.budget, 'budget') }),
    ...(flags.duration && { budget_duration: flags.duration }),
    ...(flags.models && {
      models: flags.models
        .split(',')
        .map((m) => m.trim())
        .filter(Boolean),
    }),
  };
}

/** A plain decimal (`12`, `2.50`): not `0x10`, `1e400` or `Infinity`, which Number() would take. */
function number(value: string, name: string): number {
  if (!/^\d{1,12}(\.\d{1,6})?$/.test(value)) throw new CliError(`--${name} must be a number, not '${value}'`);
  return Number(value);
}

function wholeNumber(value: string, name: string): number {
  if (!/^\d{1,12}$/.test(value)) throw new CliError(`--${name} must be a whole number, not '${value}'`);
  return Number(value);
}

async function readPrices(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError(
      `--prices: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
    );
  }
}

function describeKey(key: Json): string {
  const owner = [key.user_id && `user ${key.user_id}`, key.team_id && `team ${key.team_id}`].filter(Boolean);
  return `${key.key_alias ?? key.key_name} (${owner.join(', ') || 'no owner'}), budget ${formatDollars(key.max_budget)}`;
}

function table(rows: Json[], columns: string[]): string {
  const cells = [columns, ...rows.map((r) => columns.map((c) => (r[c] == null ? '-' : String(r[c]))))];
  const widths = columns.map((_, i) => Math.max(...cells.map((row) => row[i]?.length ?? 0)));
  return cells
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

// Whatever went wrong is said in one line and exit code 1: a stack trace tells a person at a terminal
// nothing (bad flags are TypeErrors from parseArgs, bad configuration and ranges are Errors).
try {
  await main(process.argv.slice(2));
} catch (err) {
  console.error(`tollgate: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
