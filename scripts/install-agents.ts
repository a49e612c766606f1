// Installs the real agent CLIs that `npm run test:agents` drives, on demand: they are several hundred
// MB each (a native binary per platform), so they are not devDependencies. Each pinned version goes
// into its own directory of a cache outside the repo; once there, nothing touches the network.
//
//   tsx scripts/install-agents.ts            install what is missing, print name, version and path
//   tsx scripts/install-agents.ts codex      only that one
//
// The cache is $TOLLGATE_AGENTS_CACHE, else $XDG_CACHE_HOME/tollgate-agents, else ~/.cache/tollgate-agents.
import { execFile } from 'node:child_process';
import { access, mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The pinned versions: the one place to bump them (`npm view <package> version`). */
export const AGENT_CLIS = {
  'claude-code': { pkg: '@anthropic-ai/claude-code', version: '2.1.331', bin: 'claude' },
  codex: { pkg: '@openai/codex', version: '0.169.0', bin: 'codex' },
} as const;

export type AgentCli = keyof typeof AGENT_CLIS;

export function agentCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TOLLGATE_AGENTS_CACHE) return env.TOLLGATE_AGENTS_CACHE;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'tollgate-agents');
}

function installDir(name: AgentCli, cacheDir: string): string {
  return join(cacheDir, `${name}@${AGENT_CLIS[name].version}`);
}

/** Where the CLI's executable is once installed; it may not exist yet. */
export function agentBinPath(name: AgentCli, cacheDir = agentCacheDir()): string {
  return join(installDir(name, cacheDir), 'node_modules', '.bin', AGENT_CLIS[name].bin);
}

export class AgentInstallError extends Error {
  override name = 'AgentInstallError';
}

/** `--version` of an installed CLI, or undefined when it is missing or does not run. */
async function installedVersion(bin: string): Promise<string | undefined> {
  try {
    await access(bin);
    const { stdout } = await run(bin, ['--version'], { timeout: 30_000 });
    return stdout.trim();
  } catch {
    return undefined;
  }
}

/** The path of a pinned CLI that is installed and runs; throws with the way to install it otherwise. */
export async function resolveAgent(name: AgentCli, cacheDir = agentCacheDir()): Promise<string> {
  const bin = agentBinPath(name, cacheDir);
  const version = await installedVersion(bin);
  if (version?.includes(AGENT_CLIS[name].version)) return bin;
  throw new AgentInstallError(
    `${AGENT_CLIS[name].pkg}@${AGENT_CLIS[name].version} is not installed at ${bin}. ` +
      'Run `tsx scripts/install-agents.ts` (or `npm run test:agents`, which does it first).',
  );
}

/**
 * Installs into a scratch directory beside the final one and renames it into place once the CLI
 * runs, so an interrupted or broken install never leaves a directory that looks installed.
 */
export async function installAgent(name: AgentCli, cacheDir = agentCacheDir()): Promise<string> {
  const { pkg, version, bin } = AGENT_CLIS[name];
  const existing = await resolveAgent(name, cacheDir).catch(() => undefined);
  if (existing) return existing;

  await mkdir(cacheDir, { recursive: true });
  const scratch = await mkdtemp(join(cacheDir, `.${name}@${version}-`));
  try {
    await npmInstall(scratch, pkg, version);
    await runSkippedPostinstall(scratch, name);
    const runs = await installedVersion(join(scratch, 'node_modules', '.bin', bin));
    if (!runs?.includes(version)) {
      throw new AgentInstallError(
        `${pkg}@${version} installed, but \`${bin} --version\` answers ${JSON.stringify(runs ?? 'nothing')}: ` +
          `is there a native build for ${process.platform}-${process.arch}?`,
      );
    }
    const target = installDir(name, cacheDir);
    await rm(target, { recursive: true, force: true });
    await rename(scratch, target);
    return agentBinPath(name, cacheDir);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function npmInstall(prefix: string, pkg: string, version: string): Promise<void> {
  try {
    await run(
      'npm',
      ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', `${pkg}@${version}`],
      {
        timeout: 600_000,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
  } catch (err) {
    // npm's own summary (code, reason), without its stack trace or warnings.
    const summary = ((err as { stderr?: string }).stderr ?? '')
      .split('\n')
      .filter((line) => line.startsWith('npm error') && !/^npm error\s+at /.test(line))
      .slice(0, 6)
      .join('\n');
    throw new AgentInstallError(
      `npm could not install ${pkg}@${version}. The first install needs the npm registry; later runs ` +
        `work offline.\n${summary || String(err)}`,
      { cause: err },
    );
  }
}

/**
 * Claude Code's postinstall copies the platform's native binary over a placeholder. npm 11 can skip
 * dependency install scripts (its `allowScripts` policy, which `--prefix` installs cannot relax from
 * the command line), so run the package's own postinstall when the CLI does not start yet.
 */
async function runSkippedPostinstall(prefix: string, name: AgentCli): Promise<void> {
  const { pkg, version, bin } = AGENT_CLIS[name];
  if ((await installedVersion(join(prefix, 'node_modules', '.bin', bin)))?.includes(version)) return;
  const dir = join(prefix, 'node_modules', ...pkg.split('/'));
  const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as {
    scripts?: { postinstall?: string };
  };
  const postinstall = manifest.scripts?.postinstall;
  if (postinstall) await run('sh', ['-c', postinstall], { cwd: dir, timeout: 120_000 });
}

async function main(args: string[]): Promise<void> {
  const names = args.length > 0 ? args : (Object.keys(AGENT_CLIS) as AgentCli[]);
  const unknown = names.filter((n) => !(n in AGENT_CLIS));
  if (unknown.length > 0) {
    throw new AgentInstallError(
      `Unknown agent ${unknown.join(', ')}; known: ${Object.keys(AGENT_CLIS).join(', ')}`,
    );
  }
  for (const name of names as AgentCli[]) {
    const bin = await installAgent(name);
    console.log(`${name}\t${AGENT_CLIS[name].version}\t${bin}`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof AgentInstallError ? `install-agents: ${err.message}` : err);
    process.exit(1);
  });
}
