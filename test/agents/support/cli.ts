import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Sandbox {
  /** An empty HOME, so no user config, login or cached state of the real user is read. */
  home: string;
  /** An empty working directory for the agent. */
  cwd: string;
  root: string;
  remove(): Promise<void>;
}

export async function makeSandbox(name: string): Promise<Sandbox> {
  const root = await mkdtemp(join(tmpdir(), `tollgate-${name}-`));
  const home = join(root, 'home');
  const cwd = join(root, 'work');
  await Promise.all([mkdir(home), mkdir(cwd)]);
  return {
    root,
    home,
    cwd,
    remove: () => rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }),
  };
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/**
 * Runs a CLI with exactly the given environment (plus PATH), stdin closed, and a hard time limit.
 * Nothing of the test runner's environment leaks in: no real API keys, proxies or config dirs.
 */
export function runCli(
  bin: string,
  args: string[],
  opts: { cwd: string; env: Record<string, string>; timeoutMs?: number },
): Promise<CliResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, {
      cwd: opts.cwd,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: opts.timeoutMs ?? 90_000,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({ code, signal, stdout, stderr, durationMs: Math.round(performance.now() - started) });
    });
  });
}

/** A short account of a failed run, for assertion messages. */
export function describeRun(result: CliResult): string {
  const tail = (text: string) => text.trim().split('\n').slice(-20).join('\n');
  return `exit ${result.code ?? result.signal} after ${result.durationMs} ms\n--- stdout\n${tail(result.stdout)}\n--- stderr\n${tail(result.stderr)}`;
}
