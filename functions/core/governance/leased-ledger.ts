/**
 * Budget leases: no store round trip on a request's path in the steady state, and strict caps exact.
 *
 * An instance (a local process, a Lambda execution environment) holds a *slice* of each budget counter
 * it serves, taken with one conditional write that keeps settled spend plus everything held within the
 * limit. A request's claim (its worst case on strict counters, its expected cost on fair ones) is taken
 * from the instance's slices in memory; when a slice is short, the instance grows it — one write per
 * short counter, in parallel, shared by every request waiting on it. Settlements are batched and written
 * off the client's path: `spent += cost` and the slice shrinks by the same amount, one update per
 * counter per batch; a batch's id makes it apply once.
 *
 * Slice size = clamp(left / (K × live holders), the request's claim, SLICE_CAP). When a counter has less
 * than FEW claims' worth left, the instance gives back what it holds free and the counter is served by
 * per-request holds (the per-request ledger) for a while, so no budget is stranded in idle slices.
 *
 * Guarantee: every admitted claim sits inside a slice that sits inside the limit, so settled spend never
 * passes a strict limit (nor a fair ceiling). A slice expires `sliceTtlMs` after its last write; it is
 * renewed while requests hold part of it, used only until shortly before it expires, and reclaimed by
 * others after — a holder that dies strands its free part for at most that long (a restarted local
 * gateway gives it back at once through recovery, core/usage/recover.ts). A clean shutdown flushes and
 * gives every slice back.
 */

import type {
  BudgetCounter,
  BudgetLedger,
  Claim,
  CounterState,
  Lease,
  Reservation,
  Settlement,
} from '../ports/budgets.ts';
import type { Clock } from '../ports/clock.ts';
import type { Logger } from '../ports/logging.ts';
import type { Amounts, SliceState, SliceStore } from '../ports/slices.ts';

/** Slices are sized to last about this many of the holders' turns at the counter. */
const K = 4;
/** Below this many claims' worth left, the counter is served per request. */
const FEW = 4;
/** The most one slice holds: $25. */
const SLICE_CAP_MICROS = 25_000_000;
/** How long a counter stays per-request before slices are tried again. */
const PER_REQUEST_FOR_MS = 5_000;
/** A slice is used until this long before it expires (clock skew, a slow write). */
const EXPIRY_MARGIN_MS = 2_000;

export interface LeasedLedgerOptions {
  store: SliceStore;
  /** The per-request ledger, for counters near their limit. */
  perRequest: BudgetLedger;
  /** This instance's id on the counters it holds slices of. */
  holder: string;
  clock: Clock;
  log: Logger;
  /** How long a slice is good for after its last write. */
  sliceTtlMs?: number;
  /**
   * How long settlements wait to be written together. A negative value leaves them for `flush()`
   * (Lambda: the handler flushes before the invocation ends).
   */
  flushMs?: number;
  /** Resolves once every record of the settlements about to be flushed is durable (the journal). */
  beforeFlush?: () => Promise<void>;
  /** Told of each counter this instance takes its first slice of, before it does (the journal). */
  onFirstSlice?: (counter: BudgetCounter) => Promise<void>;
}

export interface LeasedLedger extends BudgetLedger {
  /** Writes every pending settlement; resolves when they have landed. */
  flush(): Promise<void>;
  /** Flushes, then gives every slice back (a clean shutdown). */
  close(): Promise<void>;
}

interface Slice {
  counter: BudgetCounter;
  /** What the slice holds on the counter, as the counter last said. */
  held: Amounts;
  /** Taken by requests in flight. */
  inUse: Amounts;
  /** Settled, not yet written: consumes the slice until it is. */
  pending: Pending;
  /** The cost of the batch being written: still consumes the slice until the write lands. */
  inFlush: number;
  /** Free parts being given back (near the limit): no longer free, off the slice once written. */
  releasing: Amounts;
  /** The last state the counter reported. */
  state: SliceState | undefined;
  usableUntil: number;
  perRequestUntil: number;
  growing: Promise<void> | undefined;
}

const ZERO: Amounts = { a: 0, w: 0 };

/** Settlements made since the last flush began: their cost, who waits on them, what they wait for. */
interface Pending {
  cost: number;
  requests: number;
  waiters: Array<(s: Settlement) => void>;
  /** Each settlement's outcome, journaled: the batch is written only once all are. */
  after: Array<Promise<void>>;
}

const nothingPending = (): Pending => ({ cost: 0, requests: 0, waiters: [], after: [] });

export function createLeasedLedger(options: LeasedLedgerOptions): LeasedLedger {
  const { store, perRequest, holder, clock, log } = options;
  const ttl = options.sliceTtlMs ?? 10_000;
  const flushMs = options.flushMs ?? 20;
  const slices = new Map<string, Slice>();
  /** The journal's note of each counter, written before the first slice of it is taken. */
  const noted = new Map<string, Promise<void>>();
  const notedOf = (c: BudgetCounter) => noted.get(`${c.scope}#${c.scope_id}#${c.period}`);
  let batch = 0;
  let flushTimer: ReturnType<typeof setTimeout> | undefined;
  let flushDue = 0;
  let flushing: Promise<void> = Promise.resolve();
  const keepAlive = setInterval(() => void renewInUse(), Math.max(1_000, Math.floor(ttl / 3)));
  keepAlive.unref?.();

  const now = () => clock.now().getTime();
  const expiry = () => new Date(now() + ttl);

  function sliceOf(counter: BudgetCounter): Slice {
    const id = `${counter.scope}#${counter.scope_id}#${counter.period}`;
    let slice = slices.get(id);
    if (!slice) {
      noted.set(id, options.onFirstSlice?.(counter) ?? Promise.resolve());
      slice = {
        counter,
        held: { ...ZERO },
        inUse: { ...ZERO },
        pending: nothingPending(),
        inFlush: 0,
        releasing: { ...ZERO },
        state: undefined,
        usableUntil: 0,
        perRequestUntil: 0,
        growing: undefined,
      };
      slices.set(id, slice);
    }
    // The owner's budget may have changed (a new limit, a mode): the newest description wins, and a
    // slice taken under another limit is used again only once a grow under this one succeeds.
    if (slice.counter.limit_micros !== counter.limit_micros || slice.counter.mode !== counter.mode)
      slice.usableUntil = 0;
    slice.counter = counter;
    return slice;
  }

  const limited = (c: Claim) => c.counter.limit_micros !== null || c.ceiling_micros !== null;
  const free = (s: Slice): Amounts => ({
    a: s.held.a - s.inUse.a - s.pending.cost - s.inFlush - s.releasing.a,
    w: s.held.w - s.inUse.w - s.pending.cost - s.inFlush - s.releasing.w,
  });
  /**
   * The slice's size is tracked by what this holder's own writes did to it — grows and flushes land in
   * any order, so a reply's snapshot may be older than another's — and reset only when it is gone.
   */
  function grown(s: Slice, by: Amounts, state: SliceState): void {
    s.state = state;
    if (state.refused) return;
    if (!state.held) s.held = { ...ZERO };
    else if (state.created) s.held = { ...by };
    else s.held = { a: s.held.a + by.a, w: s.held.w + by.w };
    s.usableUntil = now() + ttl - EXPIRY_MARGIN_MS;
  }
  const fits = (s: Slice, c: Claim) =>
    !limited(c) || (now() < s.usableUntil && free(s).a >= c.amount_micros && free(s).w >= c.worst_micros);

  /** What the counter has left for anyone, as last seen: under its limit, or a fair counter's ceiling. */
  function left(s: Slice, c: Claim): number {
    const st = s.state;
    if (!st) return Number.POSITIVE_INFINITY;
    const underLimit =
      c.counter.limit_micros === null ? Infinity : c.counter.limit_micros - st.committed_micros;
    const underCeiling = c.ceiling_micros === null ? Infinity : c.ceiling_micros - st.worst_micros;
    return Math.min(underLimit, underCeiling);
  }

  /** Grows the slice until the claim fits, or marks the counter per-request when little is left. */
  async function ensure(s: Slice, c: Claim): Promise<void> {
    for (let tries = 0; tries < 4 && !fits(s, c); tries++) {
      if (s.perRequestUntil > now()) return;
      s.growing ??= grow(s, c).finally(() => {
        s.growing = undefined;
      });
      await s.growing;
    }
  }

  async function grow(s: Slice, c: Claim): Promise<void> {
    await notedOf(s.counter);
    const stale = now() >= s.usableUntil;
    // A stale slice may have been reclaimed: ask for room for everything this instance still counts on.
    const owed = s.pending.cost + s.inFlush;
    const have = stale ? { a: -s.inUse.a - owed, w: -s.inUse.w - owed } : free(s);
    const need = { a: Math.max(0, c.amount_micros - have.a), w: Math.max(0, c.worst_micros - have.w) };
    let by = sliceFor(s, c, need);
    let state = await store.grow(s.counter, holder, by, c.ceiling_micros, expiry(), batch);
    grown(s, by, state);
    // Refused: sized again from what the counter says it has left, then just what this claim needs.
    for (const next of [() => sliceFor(s, c, need), () => need]) {
      if (!state.refused) break;
      const smaller = next();
      if (smaller.a >= by.a && smaller.w >= by.w) continue;
      by = smaller;
      state = await store.grow(s.counter, holder, by, c.ceiling_micros, expiry(), batch);
      grown(s, by, state);
    }
    if (state.refused && left(s, c) < FEW * c.amount_micros) {
      // Little is left for anyone: serve this counter per request, and strand nothing in this slice.
      s.perRequestUntil = now() + PER_REQUEST_FOR_MS;
      giveBackFree(s);
    }
  }

  /** clamp(left / (K × holders), the claim, SLICE_CAP), and at least what the claim needs now. */
  function sliceFor(s: Slice, c: Claim, need: Amounts): Amounts {
    const room = left(s, c);
    const holders = Math.max(1, s.state?.holders ?? 1);
    const share = Number.isFinite(room) ? Math.floor(room / (K * holders)) : SLICE_CAP_MICROS;
    const size = Math.min(SLICE_CAP_MICROS, Math.max(share, c.worst_micros), room);
    return { a: Math.max(need.a, size), w: Math.max(need.w, size) };
  }

  /** A metered counter holds nothing, but its settlements need the holder's (empty) slice to land once. */
  async function ensureSlice(s: Slice): Promise<void> {
    if (s.state && now() < s.usableUntil) return;
    await notedOf(s.counter);
    s.growing ??= store
      .grow(s.counter, holder, ZERO, null, expiry(), batch)
      .then((state) => grown(s, ZERO, state))
      .finally(() => {
        s.growing = undefined;
      });
    await s.growing;
  }

  /** Near the limit: what the slice holds beyond its requests in flight goes back with the next batch. */
  function giveBackFree(s: Slice): void {
    const spare = free(s);
    if (spare.a <= 0 && spare.w <= 0) return;
    s.releasing = {
      a: s.releasing.a + Math.max(0, spare.a),
      w: s.releasing.w + Math.max(0, spare.w),
    };
    schedule(0);
  }

  async function reserve(claims: Claim[], lease: Lease): Promise<Reservation> {
    const own = claims.map((c) => sliceOf(c.counter));
    for (let attempt = 0; attempt < 3; attempt++) {
      if (own.some((s, i) => limited(claims[i] as Claim) && s.perRequestUntil > now())) break;
      await Promise.all(
        own.map((s, i) => (limited(claims[i] as Claim) ? ensure(s, claims[i] as Claim) : ensureSlice(s))),
      );
      // Taken together, with no await in between: all or none.
      if (own.every((s, i) => fits(s, claims[i] as Claim))) {
        own.forEach((s, i) => {
          const c = claims[i] as Claim;
          if (!limited(c)) return;
          s.inUse.a += c.amount_micros;
          s.inUse.w += c.worst_micros;
        });
        return { lease_id: lease.id, claims, binding: bindingOf(own, claims), via: 'slice', holder };
      }
    }
    // Near a limit (or refused): this request holds per request, as every request did before slices;
    // the per-request ledger refuses it with the budget's numbers if it does not fit. What this
    // instance is giving back lands first, so the counter it reserves on no longer holds it.
    if (own.some((s) => s.releasing.a > 0 || s.releasing.w > 0)) await flush();
    const reservation = await perRequest.reserve(claims, lease);
    return { ...reservation, via: 'lease' };
  }

  /** The limited counter with least left after this request, as far as this instance can tell. */
  function bindingOf(own: Slice[], claims: Claim[]): Reservation['binding'] {
    let binding: Reservation['binding'] = null;
    own.forEach((s, i) => {
      const c = claims[i] as Claim;
      if (c.counter.limit_micros === null) return;
      const remaining = Math.max(0, left(s, c)) + Math.max(0, free(s).a);
      if (!binding || remaining < binding.remaining_micros)
        binding = { counter: c.counter, remaining_micros: remaining };
    });
    return binding;
  }

  function settle(reservation: Reservation, actual: number, after?: Promise<void>): Promise<Settlement[]> {
    if (reservation.via !== 'slice') return perRequest.settle(reservation, actual, after);
    // Fixed now, written with the batch: the flush waits for every `after` it carries.
    reservation.batch = batch + 1;
    const settled = reservation.claims.map((c) => {
      const s = sliceOf(c.counter);
      if (limited(c)) {
        s.inUse.a -= c.amount_micros;
        s.inUse.w -= c.worst_micros;
      }
      s.pending.cost += actual;
      s.pending.requests += 1;
      if (after) s.pending.after.push(after);
      return new Promise<Settlement>((resolve) => s.pending.waiters.push(resolve));
    });
    schedule(flushMs);
    return Promise.all(settled);
  }

  /** A flush in `ms`, unless one is due sooner; a give-back (0 ms) does not wait for the batch's timer. */
  function schedule(ms: number): void {
    if (ms < 0) return;
    const due = performance.now() + ms;
    if (flushTimer && flushDue <= due) return;
    clearTimeout(flushTimer);
    flushDue = due;
    flushTimer = setTimeout(() => {
      flushTimer = undefined;
      void flush();
    }, ms);
  }

  /** Writes each counter's pending settlements as one batch; one flush at a time. */
  function flush(): Promise<void> {
    flushing = flushing.then(writeBatch, writeBatch);
    return flushing;
  }

  async function writeBatch(): Promise<void> {
    const due = [...slices.values()].filter(
      (s) => s.pending.requests > 0 || s.releasing.a > 0 || s.releasing.w > 0,
    );
    if (due.length === 0) return;
    batch += 1;
    const id = batch;
    const taken = due.map((s) => {
      const p = s.pending;
      s.pending = nothingPending();
      s.inFlush += p.cost;
      return { s, p, release: { ...s.releasing } };
    });
    await options.beforeFlush?.();
    await Promise.all(taken.flatMap(({ p }) => p.after));
    await Promise.all(
      taken.map(async ({ s, p, release }) => {
        // A slice shrinks by the cost it paid (and by what it gives back), but never below what requests
        // in flight hold of it: a cost beyond what its request held (a fair budget's expected cost, a
        // provider reporting more than was asked) is added to the counter's committed total instead.
        // A metered counter holds nothing.
        const metered = s.counter.limit_micros === null;
        const spare = free(s);
        const shrinkBy = (wanted: number, room: number) => Math.max(0, Math.min(wanted, room));
        const shrink = metered
          ? { ...ZERO }
          : {
              a: shrinkBy(p.cost + release.a, spare.a + p.cost + release.a),
              w: shrinkBy(p.cost + release.w, spare.w + p.cost + release.w),
            };
        const write = () =>
          store.flush(
            s.counter,
            holder,
            { id, cost: p.cost, requests: p.requests, release: shrink },
            expiry(),
          );
        for (let attempt = 1; ; attempt++) {
          try {
            const { state, settlement } = await write();
            s.state = state;
            s.inFlush -= p.cost;
            s.releasing = { a: s.releasing.a - release.a, w: s.releasing.w - release.w };
            if (state.held) {
              s.held = { a: s.held.a - shrink.a, w: s.held.w - shrink.w };
              s.usableUntil = Math.max(s.usableUntil, now() + ttl - EXPIRY_MARGIN_MS);
            } else {
              s.held = { ...ZERO };
              s.usableUntil = 0;
            }
            for (const resolve of p.waiters) resolve(settlement);
            return;
          } catch (err) {
            log.error('budget.flush_failed', { scope: s.counter.scope, attempt, error: String(err) });
            // The batch keeps its id: whenever it lands, it lands once.
            await new Promise((r) => setTimeout(r, Math.min(5_000, 100 * 2 ** attempt)));
          }
        }
      }),
    );
  }

  /** Slices with requests in flight are kept from expiring under them. */
  async function renewInUse(): Promise<void> {
    await Promise.all(
      [...slices.values()]
        .filter((s) => (s.inUse.a > 0 || s.inUse.w > 0) && s.held.a + s.held.w > 0)
        .map(async (s) => {
          try {
            grown(s, ZERO, await store.grow(s.counter, holder, ZERO, null, expiry(), batch));
          } catch (err) {
            log.error('budget.renew_failed', { scope: s.counter.scope, error: String(err) });
          }
        }),
    );
  }

  async function readNow(counter: BudgetCounter): Promise<CounterState> {
    const own = slices.get(`${counter.scope}#${counter.scope_id}#${counter.period}`);
    const state = await store.read(counter, holder);
    if (!own) {
      return {
        spent_micros: state.spent_micros,
        committed_micros: state.committed_micros,
        worst_committed_micros: state.worst_micros,
      };
    }
    // No flush lands during a read, so what is settled here and not yet written is `pending`: spent.
    // Of this instance's slice (as the same read saw it), only what its requests in flight hold counts
    // as held; the rest is free for anyone.
    const held = state.held ?? ZERO;
    const unwritten = own.pending.cost;
    return {
      spent_micros: state.spent_micros + unwritten,
      committed_micros: state.committed_micros - held.a + own.inUse.a + unwritten,
      worst_committed_micros: state.worst_micros - held.w + own.inUse.w + unwritten,
    };
  }

  return {
    reserve,
    settle,
    flush,
    read(counter): Promise<CounterState> {
      // Reads take turns with flushes, so none sees a batch both written and still pending.
      const run = flushing.then(() => readNow(counter));
      flushing = run.then(
        () => undefined,
        () => undefined,
      );
      return run;
    },
    leaseHeld: (counters, lease_id) => perRequest.leaseHeld(counters, lease_id),
    settleLease: (counters, lease_id, actual) => perRequest.settleLease(counters, lease_id, actual),
    async close() {
      clearInterval(keepAlive);
      clearTimeout(flushTimer);
      flushTimer = undefined;
      await flush();
      await Promise.all(
        [...slices.values()].map(async (s) => {
          if (s.held.a <= 0 && s.held.w <= 0) return;
          await store.release(s.counter, holder, s.held);
          s.held = { ...ZERO };
        }),
      );
    },
  };
}
