/**
 * The processes of `npm run bench`: a script of this folder under tsx, autocannon, and what Linux
 * says about a process (`/proc/<pid>/status` and `/proc/<pid>/stat`).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

export interface ScriptProcess {
  child: ChildProcess;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Resolves with the first match of `pattern` in stdout. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Resolves with all of stdout once the process exits; rejects on a non-zero exit. */
  finished(): Promise<string>;
}

/**
 * `node --import tsx test/bench/<script> ...args`, its stderr passed through. With an IPC channel, so
 * the script can leave when this process goes (`process.on('disconnect')`) instead of outliving it.
 */
export function runScript(script: string, args: string[]): ScriptProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, script), ...args], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  return wrap(child, script);
}

const autocannonBin = createRequire(import.meta.url).resolve('autocannon');

export interface LoadOptions {
  url: string;
  connections: number;
  seconds: number;
  headers: Record<string, string>;
  /** A file holding the request body. */
  bodyFile: string;
}

/** A subset of autocannon's `--json` result; latencies in whole ms (autocannon's resolution). */
export interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  latency: { p50: number; p90: number; p99: number; average: number; max: number };
  requests: { total: number; sent: number; average: number };
}

/** One autocannon run in a process of its own. */
export async function runAutocannon(options: LoadOptions): Promise<AutocannonResult> {
  const headers = Object.entries(options.headers).flatMap(([k, v]) => ['-H', `${k}=${v}`]);
  const args = [
    autocannonBin,
    ...['-c', String(options.connections), '-d', String(options.seconds), '-m', 'POST'],
    ...headers,
    ...['-i', options.bodyFile, '--json', '--no-progress', options.url],
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  return JSON.parse(await wrap(child, 'autocannon').finished()) as AutocannonResult;
}

function wrap(child: ChildProcess, name: string): ScriptProcess {
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return {
    child,
    stdout: () => out,
    waitFor: (pattern, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${name} printed no ${pattern}:\n${out}`)),
          timeoutMs,
        );
        const look = () => {
          const found = pattern.exec(out);
          if (!found) return;
          clearTimeout(timer);
          child.stdout?.off('data', look);
          resolve(found);
        };
        child.stdout?.on('data', look);
        void exited.then(([code]) => {
          clearTimeout(timer);
          reject(new Error(`${name} exited with ${code}:\n${out}`));
        });
        look();
      }),
    finished: async () => {
      const [code, signal] = await exited;
      if (code !== 0) throw new Error(`${name} exited with ${code ?? signal}:\n${out.slice(-2000)}`);
      return out;
    },
  };
}

/** Resident set size now and at its peak (`VmRSS`, `VmHWM`), in bytes. */
export function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) * 1024;
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}

const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** User plus system CPU time the process has used, in seconds (`utime` + `stime` of /proc/<pid>/stat). */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may hold spaces: count fields after its `)`.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}
