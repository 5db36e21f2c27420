// The server's serving snapshot (src/scores/lookup.ts): opened or made when the published runs change, kept exact for the customers written since (read live), and erased from with the store.
import type { Store } from '../store/db.js';
import type { z } from 'zod';
import { KairosError } from '../errors.js';
import { explainCustomer, explainRow, type CustomerExplanation } from '../scores/explain.js';
import { buildSnapshot, eraseFromSnapshot, readSnapshotMeta, removeSnapshot, ServingSnapshot, snapshotKey, type SnapshotCustomer } from '../scores/lookup.js';
import type { ScoreRegistry } from '../scores/registry.js';
import { rescoringModels, rescoringsOfRun, type HeldOrders, type Rescored, type RescoringModels, type StoredRescoring } from '../scores/rescore.js';
import { customerScoresRow, storedResults, type StoredResults } from '../scores/results.js';
import { quoteIdentifier } from '../store/db.js';
import { CUSTOMER_COLUMNS } from '../store/migrations.js';
import { overlayOf, overlayOfStored, rescoredOverlay, type RescoredOverlay } from './routes-rescore.js';
import type { RescoredMark } from './schemas-rescore.js';

type Connection = <T>(fn: (store: Store) => Promise<T>) => Promise<T>;
type Log = (level: 'info' | 'warn', details: Record<string, unknown>, message: string) => void;

/** The snapshot in use and what explaining from it needs. */
interface Current {
  readonly snapshot: ServingSnapshot;
  readonly state: ReadonlyMap<string, StoredResults>;
  readonly currencies: ReadonlyMap<number, string>;
}

/** A customer found in the snapshot: their published row and items, and whether their own row (attributes, rescored values) must be read live. */
export interface Served extends SnapshotCustomer {
  /** Written since the snapshot (an ingest of their row, a rescoring not held here): read `customers` and rescored_scores. */
  readonly live: boolean;
  /** Their rescoring by this server since the snapshot, held in memory: the values over the published ones, and the mark. */
  readonly rescored: RescoredOverlay | null;
  /** Explains `row` (after any live values are applied) from the snapshot's runs, reading nothing. */
  explain(row: Record<string, unknown>): CustomerExplanation;
}

/**
 * One per server. The snapshot serves look-ups of the published state it was made from. A run of the server makes
 * the snapshot of what it is about to publish before it marks itself completed (`prepare` opens it); the moment a
 * job ends, `refresh` checks the published state and, when it changed, puts that snapshot to use in place of the old
 * one, or the one beside the store if it is current; else it stops using the old one and makes one on a read
 * connection (25-30 s at 1M customers; look-ups read the store meanwhile). Customers whose row an ingest
 * wrote after the snapshot was made are marked `live` (found by their batch, `catchUp`, before the write's answer goes
 * out); the rescorings of the snapshot's clv run are held in memory (read when it is put to use, then each one as it
 * is made: `rescorings`), up to MAX_HELD_RESCORINGS customers, the others read live. An
 * erasure overwrites the customer's line at once, and again in a snapshot being made.
 */
export class ServingSnapshots {
  private current: Current | null = null;
  private live = new Set<string>();
  private rescored = new Map<string, RescoredOverlay>();
  /** The newest ingest batch whose customers are accounted for. */
  private batch = 0;
  private pending: Promise<void> | null = null;
  private again = false;
  /** Erased while a snapshot is being opened or made: erased from it before it is used. */
  private erasedMeanwhile: string[] = [];
  /** The snapshot a run made of what it is about to publish, being opened (prepare). */
  private prepared: { key: string; snapshot: Promise<ServingSnapshot | null> } | null = null;
  /** Whether a job writing to the store from elsewhere (the runner's ingest, in its worker) is in progress. */
  private writing: () => boolean = () => false;
  /** A job has ended and its batch is not accounted for yet (catchUp after it has not returned). */
  private unsettled = false;

  constructor(
    /** The store's file: the snapshot lives beside it (null: an in-memory store, no snapshot). */
    private readonly dbPath: string | null,
    /** The writer's connection (one request at a time) and the read connections. */
    private readonly db: Connection,
    private readonly reads: Connection,
    private readonly registry: ScoreRegistry,
    private readonly log: Log,
    /** The rescorings answered and not yet in the store (src/scores/rescore-journal.ts): each customer's newest, and who has one. */
    private readonly journal?: { pending(customerId: string): Rescored | undefined; pendingCustomers(): Iterable<string> },
  ) {}

  /** The customer's newest rescoring not yet in the store (read live, it is the one to show). */
  pendingRescoring(customerId: string): Rescored | undefined {
    return this.journal?.pending(customerId);
  }

  /** Whether a snapshot serves look-ups now. */
  get serving(): boolean {
    return this.current !== null;
  }

  /** The customer from the snapshot, or undefined: no snapshot in use, or none of theirs (not scored by the published runs, unknown). */
  find(customerId: string): Served | undefined {
    const cur = this.current;
    if (cur === null) return undefined;
    const found = cur.snapshot.get(customerId);
    if (found === undefined) return undefined;
    return {
      ...found,
      live: this.live.has(customerId),
      rescored: this.rescored.get(customerId) ?? null,
      explain: (row) => explainRow(this.registry, cur.state, row, found.items, cur.currencies),
    };
  }

  /** The customer's published row, for a rescoring's "previous" values (undefined: read the store). */
  published(customerId: string): Record<string, unknown> | undefined {
    return this.held(customerId)?.row;
  }

  /**
   * The customer's order lines of the batches up to the snapshot's, for a rescoring (undefined: read the store).
   * `complete` when no batch was ingested since (every write of the store goes through this server, and each one's
   * answer waits for catchUp): then the store has no later line to read.
   */
  orders(customerId: string): HeldOrders | undefined {
    const cur = this.current;
    const held = this.held(customerId);
    if (cur === null || held === undefined) return undefined;
    // Not complete either while an ingest job may be committing a batch in the runner's worker, or has just done so
    // and the batch is not yet accounted for: then the store is read for the lines of later batches.
    const complete = this.batch <= cur.snapshot.meta.batch && !this.unsettled && !this.writing();
    return { batch: cur.snapshot.meta.batch, lines: held.orders, complete };
  }

  /** Tells the snapshots how to know that a job writes to the store from elsewhere (the runner's ingest jobs). */
  watchWriters(writing: () => boolean): void {
    this.writing = writing;
  }

  /**
   * A job of the runner has ended: the published state checked (refresh), and an ingest's batch accounted for
   * (catchUp; until then a rescoring reads the store for the order lines of later batches). A run writes no order.
   */
  jobEnded(kind: string): void {
    if (kind === 'ingest') this.unsettled = true;
    this.refresh();
  }

  private models: { snapshot: ServingSnapshot; models: Promise<RescoringModels> } | null = null;

  /** The published run's fitted models for rescorings, read once per snapshot (undefined without one, or when they cannot be read: the rescoring reads and says why). */
  async rescoringModels(): Promise<RescoringModels | undefined> {
    const cur = this.current;
    if (cur === null) return undefined;
    if (this.models?.snapshot !== cur.snapshot) this.models = { snapshot: cur.snapshot, models: this.reads((s) => rescoringModels(s, this.registry)) };
    try {
      return await this.models.models;
    } catch {
      this.models = null;
      return undefined;
    }
  }

  private last: { snapshot: ServingSnapshot; id: string; held: SnapshotCustomer | undefined } | null = null;

  /** The snapshot's line of the customer, read once for the two questions of a rescoring. */
  private held(customerId: string): SnapshotCustomer | undefined {
    const cur = this.current;
    if (cur === null) return undefined;
    if (this.last?.snapshot === cur.snapshot && this.last.id === customerId) return this.last.held;
    const held = cur.snapshot.get(customerId);
    this.last = { snapshot: cur.snapshot, id: customerId, held };
    return held;
  }

  /**
   * Rescorings just made durable: held in memory when they are of the snapshot's published run (up to MAX_HELD_RESCORINGS
   * customers), else their customers are read live from now on.
   */
  rescorings(rows: readonly Rescored[]): void {
    if (this.current === null && this.pending === null) return;
    const clv = this.current?.state.get('clv')?.runId;
    for (const r of rows) {
      const held = this.rescored.get(r.customerId);
      // A rescoring computed before the one held (an ingest's, answered first) does not replace it.
      if (held !== undefined && held.mark !== null && held.mark.rescored_at > r.rescoredAt) continue;
      if (clv !== undefined && r.runId === clv && !this.live.has(r.customerId) && (this.rescored.size < MAX_HELD_RESCORINGS || held !== undefined)) {
        this.rescored.set(r.customerId, overlayOf(this.registry, r));
      } else {
        this.rescored.delete(r.customerId);
        this.live.add(r.customerId);
      }
    }
  }

  /**
   * Customers written by ingest batches newer than the last seen: read live from now on (a few milliseconds when
   * none). Called by the ingest route before it answers, and after each job. Should the store not answer, the
   * snapshot is set aside (look-ups read the store) until it is checked again.
   */
  async catchUp(): Promise<void> {
    try {
      await this.markWritten();
    } catch (err) {
      this.log('warn', { err }, 'serving snapshot set aside (look-ups read the store until it is checked again)');
      this.close();
      this.refresh();
    }
  }

  private async markWritten(): Promise<void> {
    if (this.current === null) return;
    const since = this.batch;
    const newest = await this.reads(async (s) => Number((await s.value<number | null>('SELECT max(batch_id) FROM ingest_batches')) ?? 0));
    if (newest <= since) return;
    const ids = await this.reads((s) => s.all<{ customer_id: string }>('SELECT customer_id FROM customers WHERE batch_id > ?', [since]));
    for (const r of ids) {
      this.live.add(r.customer_id);
      this.rescored.delete(r.customer_id);
    }
    this.batch = Math.max(this.batch, newest);
  }

  /**
   * Erases the customer from the snapshot's file (and from one being made). Called before the store's erasure: from
   * then on look-ups of the customer read the store, which answers NOT_FOUND once its erasure has committed.
   */
  erase(customerId: string): void {
    this.live.delete(customerId);
    this.rescored.delete(customerId);
    if (this.last?.id === customerId) this.last = null;
    if (this.pending !== null) this.erasedMeanwhile.push(customerId);
    if (this.current !== null) this.current.snapshot.erase(customerId);
    else if (this.pending === null && this.dbPath !== null) eraseFromSnapshot(this.dbPath, customerId);
  }

  /** Checks the published state and opens or makes the snapshot when it changed (in the background; `idle` waits). */
  refresh(): void {
    if (this.pending) {
      this.again = true;
      return;
    }
    this.pending = (async () => {
      do {
        this.again = false;
        try {
          await this.update();
        } catch (err) {
          this.log('warn', { err }, "serving snapshot not made (look-ups read each scorer's results)");
        }
      } while (this.again);
      this.pending = null;
      this.erasedMeanwhile = [];
      this.unsettled = false;
    })();
  }

  /** Resolves when no snapshot is being opened or made. */
  async idle(): Promise<void> {
    while (this.pending) await this.pending;
  }

  close(): void {
    this.current?.snapshot.close();
    this.current = null;
  }

  /**
   * At the server's start: opens the snapshot beside the store when it is that of the published runs (before the
   * server answers: a scan of its lines, about a second at 1M customers); otherwise makes one in the background.
   */
  async start(): Promise<void> {
    if (this.dbPath === null) return;
    try {
      const state = await this.reads((s) => storedResults(s, this.registry));
      const key = await this.reads((s) => snapshotKey(s, this.registry, state));
      const snapshot = state.size === 0 ? null : ServingSnapshot.open(this.dbPath, this.registry, key);
      if (snapshot !== null) {
        await this.install(snapshot);
        this.log('info', { rows: snapshot.size }, 'serving snapshot of the published scores opened');
        return;
      }
    } catch (err) {
      this.log('warn', { err }, 'serving snapshot not opened (made again in the background)');
    }
    this.refresh();
  }

  private async update(): Promise<void> {
    if (this.dbPath === null) return;
    const state = await this.reads((s) => storedResults(s, this.registry));
    const key = await this.reads((s) => snapshotKey(s, this.registry, state));
    const prepared = this.prepared;
    this.prepared = null;
    if (this.current?.snapshot.meta.key === key) {
      void prepared?.snapshot.then((p) => p?.close());
      // A run that made its snapshot and then failed left the files of a state never published beside the store (the
      // one in use is read through its open file): removed, so that no copy of an erased customer stays there.
      if (readSnapshotMeta(this.dbPath)?.key !== key) removeSnapshot(this.dbPath);
      await this.catchUp();
      return;
    }
    // The one the run made of what it published (prepare), or the one beside the store: put to use in place of the
    // old one at once, with no moment of store reads.
    let snapshot = prepared?.key === key ? await prepared.snapshot : null;
    if (snapshot === null) {
      void prepared?.snapshot.then((p) => p?.close());
      snapshot = await ServingSnapshot.openInTurns(this.dbPath, this.registry, key);
    }
    if (snapshot !== null) return this.install(snapshot);
    // To be made: the old snapshot is not that of the published runs any more; look-ups read the store meanwhile.
    this.close();
    this.live = new Set();
    this.rescored = new Map();
    if (state.size === 0) {
      removeSnapshot(this.dbPath);
      return;
    }
    const started = performance.now();
    const dbPath = this.dbPath;
    await this.reads((s) => buildSnapshot(s, this.registry, dbPath));
    snapshot = await ServingSnapshot.openInTurns(this.dbPath, this.registry, key);
    if (snapshot === null) throw new Error('the snapshot made is not that of the published runs (they changed meanwhile): made again at the next refresh');
    this.log('info', { rows: snapshot.meta.rows, bytes: snapshot.meta.bytes, seconds: Math.round(performance.now() - started) / 1000 }, 'serving snapshot of the published scores made');
    await this.install(snapshot);
  }

  /**
   * A run has made the snapshot of what it is about to publish (src/server/run-worker.ts): opened now, in turns (1.4
   * s at 1M customers), to be put to use by the refresh that follows the run's end.
   */
  prepare(key: string | null, why: string | null): void {
    if (key === null) {
      this.log('warn', { why }, "the run's serving snapshot was not made: made after the run (look-ups read the store meanwhile)");
      return;
    }
    if (this.dbPath === null) return;
    void this.prepared?.snapshot.then((p) => p?.close());
    this.prepared = { key, snapshot: ServingSnapshot.openInTurns(this.dbPath, this.registry, key).catch(() => null) };
  }

  /** Puts `snapshot` to use in place of the one in use, with the customers written since its moment marked live. */
  private async install(snapshot: ServingSnapshot): Promise<void> {
    for (const id of this.erasedMeanwhile) snapshot.erase(id);
    // Written since the snapshot's moment: the customers of later batches (read live), and the rescorings of the
    // snapshot's clv run, held in memory as the server's own are (those of an older run are not shown). Read on the
    // writer's connection, so that no ingest or move of the rescoring journal commits in between; the switch itself
    // is synchronous.
    const clv = snapshot.meta.state.find((st) => st.scorer === 'clv')?.runId;
    await this.db(async (s) => {
      const written = await s.all<{ customer_id: string }>('SELECT customer_id FROM customers WHERE batch_id > ?', [snapshot.meta.batch]);
      const newest = Number((await s.value<number | null>('SELECT max(batch_id) FROM ingest_batches')) ?? 0);
      const stored = clv === undefined ? new Map<string, StoredRescoring>() : await rescoringsOfRun(s, clv, MAX_HELD_RESCORINGS + 1);
      const live = new Set<string>(written.map((r) => r.customer_id));
      const rescored = new Map<string, RescoredOverlay>();
      // Beyond what is held in memory, they are read live.
      const hold = stored.size <= MAX_HELD_RESCORINGS;
      for (const [id, r] of stored) {
        if (hold && !live.has(id)) rescored.set(id, overlayOfStored(this.registry, r));
        else live.add(id);
      }
      for (const id of this.journal?.pendingCustomers() ?? []) {
        const r = this.journal?.pending(id);
        if (r === undefined || r.runId !== clv || live.has(id) || (rescored.get(id)?.mark?.rescored_at ?? '') > r.rescoredAt) continue;
        if (rescored.size < MAX_HELD_RESCORINGS || rescored.has(id)) rescored.set(id, overlayOf(this.registry, r));
        else live.add(id);
      }
      const old = this.current;
      this.live = live;
      this.rescored = rescored;
      this.batch = Math.max(snapshot.meta.batch, newest);
      this.current = {
        snapshot,
        state: new Map(snapshot.meta.state.map((st) => [st.scorer, st])),
        currencies: new Map(Object.entries(snapshot.meta.currencies).map(([run, currency]) => [Number(run), currency])),
      };
      if (old !== null && old.snapshot !== snapshot) old.snapshot.close();
    });
  }
}

/**
 * One customer's row of customer_scores, every scorer's explanation, their items and the rescored mark, as GET
 * /customers/{id} and the dashboard's customer page show them: from the serving snapshot when it has the customer
 * (no query; the customer's own row and rescored values read live when written since), otherwise from the store.
 * NOT_FOUND for an unknown customer.
 */
export async function customerExplained(
  serving: ServingSnapshots | undefined,
  registry: ScoreRegistry,
  id: string,
  read: Connection,
): Promise<CustomerExplanation & { readonly rescored: z.output<typeof RescoredMark> }> {
  const served = serving?.find(id);
  if (served !== undefined && !served.live) {
    const held = served.rescored;
    return held === null ? { ...served.explain(served.row), rescored: null } : { ...served.explain({ ...served.row, ...held.values }), rescored: held.mark };
  }
  if (served !== undefined) {
    // Written since the snapshot: their own row and rescored values read live, the published scores from the snapshot.
    return read(async (store) => {
      const own = await store.one(`SELECT ${CUSTOMER_COLUMNS.map(quoteIdentifier).join(', ')} FROM customers WHERE customer_id = ?`, [id]);
      if (own === undefined) throw new KairosError('NOT_FOUND', `customer "${id}" not found`, { hint: 'ids are case-sensitive; GET /customers lists them' });
      const overlay = await rescoredOverlay(store, registry, id, serving?.pendingRescoring(id));
      return { ...served.explain({ ...served.row, ...own, ...overlay.values }), rescored: overlay.mark };
    });
  }
  return read(async (store) => {
    // A customer not scored yet (created after the published run's as-of, or just ingested) is shown without
    // explanations, with the values a first order rescored if any.
    const row = await customerScoresRow(store, registry, id);
    // Values rescored after a new order (routes-rescore.ts) replace the published ones, marked, until the next run.
    const overlay = row ? await rescoredOverlay(store, registry, id, serving?.pendingRescoring(id)) : { values: {}, mark: null };
    if (row && row['run_id'] === null) return { customer: { ...row, ...overlay.values }, explanations: {}, items: {}, rescored: overlay.mark };
    return { ...(await explainCustomer(store, id, registry, { ...(row ? { row } : {}), overlay: overlay.values })), rescored: overlay.mark };
  });
}

/** How many customers' rescorings a server holds in memory (about a kilobyte each); beyond, they are read from the store. */
const MAX_HELD_RESCORINGS = 200_000;
