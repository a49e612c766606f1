/**
 * The embedded runtime's in-flight journal: one append-only JSON-lines file per running process under
 * `<dataDir>/inflight/`: a `begin` line before a request reserves budget (again for each attempt), a
 * `final` line with its own record as it finishes, and an `end` line once it has recorded and settled. Lines written in the same tick go out in one append. A line handed
 * to the kernel survives `kill -9` (only a machine crash needs fsync), so nothing here waits on a disk.
 *
 * A process's file is an orphan once the process is gone: its pid no longer runs, or its heartbeat (the
 * file's mtime, touched every few seconds) is stale — pids are reused. Recovery reads what began and
 * never ended. The file is rewritten with only the open entries once it has gathered many ended ones.
 */
import { randomUUID } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BudgetCounter, Reservation } from '../../core/ports/budgets.ts';
import type { InflightEntry, InflightJournal } from '../../core/ports/journal.ts';
import type { Logger } from '../../core/ports/logging.ts';
import type { ParallelSlot } from '../../core/ports/rate-limits.ts';

const HEARTBEAT_MS = 5_000;
const STALE_AFTER_MS = 30_000;
const REWRITE_AFTER_ENDS = 5_000;

type Line =
  | ({ op: 'begin' } & InflightEntry)
  | { op: 'reserved'; request_id: string; reservation: Reservation }
  | ({ op: 'final'; request_id: string } & Pick<InflightEntry, 'final'>)
  | { op: 'end'; request_id: string }
  | { op: 'slice'; counter: BudgetCounter }
  | { op: 'slots'; slot: ParallelSlot };

/** This process's id as a holder of in-flight entries and budget slices: `h-<pid>-<nonce>`. */
export function localHolderId(): string {
  return `h-${process.pid}-${randomUUID().slice(0, 8)}`;
}

export function createFileInflightJournal(options: {
  dataDir: string;
  log: Logger;
  /** This process: its pid and a nonce, so two runs never share a file. */
  holder?: string;
}): InflightJournal & { holder: string; file: string } {
  const dir = join(options.dataDir, 'inflight');
  const holder = options.holder ?? localHolderId();
  const file = join(dir, `${holder}.jsonl`);
  const open = new Map<string, InflightEntry>();
  /** Counters this holder took slices of (kept through rewrites). */
  const sliced: BudgetCounter[] = [];
  /** Scopes this holder held parallel slots of (kept through rewrites). */
  const slotted: ParallelSlot[] = [];
  /** The batch lines join until it is written; each batch waits for the one before. */
  let batch: { lines: Line[]; done: Promise<void> } | undefined;
  let tail: Promise<void> = mkdir(dir, { recursive: true }).then(() => undefined);
  let ends = 0;
  /** The file, open for appending from the first write until a rewrite replaces it or the journal closes. */
  let fd: number | undefined;

  const heartbeat = setInterval(() => {
    const now = new Date();
    utimes(file, now, now).catch(() => undefined);
  }, HEARTBEAT_MS);
  heartbeat.unref();

  /** Appends every line queued in this tick in one write; the next tick's lines wait for it. */
  function write(line: Line): Promise<void> {
    if (!batch) {
      const next: { lines: Line[]; done: Promise<void> } = { lines: [], done: Promise.resolve() };
      next.done = tail
        .then(() => new Promise((r) => setImmediate(r)))
        .then(async () => {
          if (batch === next) batch = undefined;
          const text = collapsed(next.lines)
            .map((l) => `${JSON.stringify(l)}\n`)
            .join('');
          // One write(2) into the page cache, on this thread: requests wait for it before their provider
          // call, and a trip through libuv's thread pool (shared with dynalite's LevelDB) costs more.
          if (text !== '') {
            fd ??= openSync(file, 'a');
            const bytes = Buffer.from(text);
            for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
          }
          if (ends >= REWRITE_AFTER_ENDS) await rewrite();
        });
      tail = next.done.catch(() => undefined);
      batch = next;
    }
    batch.lines.push(line);
    return batch.done;
  }

  /** Replaces the file with the open entries alone (an atomic rename), so it never grows without end. */
  async function rewrite(): Promise<void> {
    ends = 0;
    const temp = `${file}.tmp`;
    const lines = [
      ...sliced.map((counter) => `${JSON.stringify({ op: 'slice', counter })}\n`),
      ...slotted.map((slot) => `${JSON.stringify({ op: 'slots', slot })}\n`),
      ...[...open.values()].map((e) => `${JSON.stringify({ op: 'begin', ...e })}\n`),
    ];
    await writeFile(temp, lines.join(''));
    await rename(temp, file);
    // Appends go to the new file from here on.
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
  }

  /** What the files of dead holders say. */
  async function deadFiles(now: Date) {
    const names = await readdir(dir).catch(() => [] as string[]);
    const found = [];
    for (const name of names.filter((n) => n.endsWith('.jsonl') && n !== `${holder}.jsonl`)) {
      const path = join(dir, name);
      if (!(await isOrphan(path, name, now))) continue;
      found.push({
        holder: name.slice(0, -'.jsonl'.length),
        ...readLines(await readFile(path, 'utf8'), options.log, name),
      });
    }
    return found;
  }

  return {
    holder,
    file,
    async begin(started) {
      const entry = { ...started, holder };
      open.set(entry.request_id, entry);
      await write({ op: 'begin', ...entry });
    },
    async reserved(request_id, reservation) {
      const entry = open.get(request_id);
      if (!entry) return;
      entry.reservation = reservation;
      await write({ op: 'reserved', request_id, reservation });
    },
    async slice(counter) {
      sliced.push(counter);
      await write({ op: 'slice', counter });
    },
    async slots(slot) {
      slotted.push(slot);
      await write({ op: 'slots', slot });
    },
    flushed: () => tail,
    async finishing(request_id, final) {
      const entry = open.get(request_id);
      if (!entry) return;
      entry.final = final;
      await write({ op: 'final', request_id, final });
    },
    async end(request_id) {
      if (!open.delete(request_id)) return;
      ends++;
      await write({ op: 'end', request_id });
    },
    async orphans(now) {
      return (await deadFiles(now)).flatMap((f) => f.entries);
    },
    async orphanSlices(now) {
      return (await deadFiles(now)).map((f) => ({ holder: f.holder, counters: f.counters, slots: f.slots }));
    },
    async forget(entries) {
      // Recovery finishes whole files: every entry of a dead holder's file is done once it returns.
      const holders = new Set(entries.map((e) => e.holder));
      await Promise.all([...holders].map((h) => rm(join(dir, `${h}.jsonl`), { force: true })));
    },
    async close() {
      clearInterval(heartbeat);
      await tail;
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
      // A clean stop: every request has ended, so the file says nothing recovery needs.
      if (open.size === 0) await rm(file, { force: true });
    },
  };
}

/**
 * The lines of one batch with what happened to a request within it folded into its `begin` line (a
 * slice-held reservation lands in the same tick as the request begins), and a request that began and
 * ended within it left out: the file says the same in fewer, smaller lines.
 */
function collapsed(lines: Line[]): Line[] {
  const begun = new Map<string, Line & { op: 'begin' }>();
  const out: Array<Line | undefined> = [];
  for (const line of lines) {
    const first = line.op !== 'slice' && line.op !== 'slots' ? begun.get(line.request_id) : undefined;
    if (line.op === 'begin') {
      const copy = { ...line };
      begun.set(line.request_id, copy);
      out.push(copy);
    } else if (first && line.op === 'reserved') {
      first.reservation = line.reservation;
      // Held in this holder's slices: recovery needs the reservation, not the per-request leases.
      if (line.reservation.via === 'slice') first.holds = [];
    } else if (first && line.op === 'final') first.final = line.final;
    else if (first && line.op === 'end') out[out.indexOf(first)] = undefined;
    else out.push(line);
  }
  return out.filter((l): l is Line => l !== undefined);
}

async function isOrphan(path: string, name: string, now: Date): Promise<boolean> {
  const pid = Number(name.split('-')[1]);
  const running = Number.isInteger(pid) && pid > 0 && pidRuns(pid);
  if (!running) return true;
  const { mtimeMs } = await stat(path);
  return now.getTime() - mtimeMs > STALE_AFTER_MS;
}

function pidRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Entries that began and never ended, and the counters the holder took slices of. A torn last line
 * (the process died mid-write) is skipped.
 */
function readLines(
  text: string,
  log: Logger,
  name: string,
): { entries: InflightEntry[]; counters: BudgetCounter[]; slots: ParallelSlot[] } {
  const open = new Map<string, InflightEntry>();
  const counters: BudgetCounter[] = [];
  const slots: ParallelSlot[] = [];
  for (const raw of text.split('\n')) {
    if (raw.trim() === '') continue;
    let line: Line;
    try {
      line = JSON.parse(raw) as Line;
    } catch {
      log.warn('recovery.torn_line', { file: name });
      continue;
    }
    if (line.op === 'begin') {
      const { op: _, ...entry } = line;
      open.set(entry.request_id, entry);
    } else if (line.op === 'reserved') {
      const entry = open.get(line.request_id);
      if (entry) entry.reservation = line.reservation;
    } else if (line.op === 'final') {
      const entry = open.get(line.request_id);
      if (entry) entry.final = line.final;
    } else if (line.op === 'slice') counters.push(line.counter);
    else if (line.op === 'slots') slots.push(line.slot);
    else open.delete(line.request_id);
  }
  return { entries: [...open.values()], counters, slots };
}
