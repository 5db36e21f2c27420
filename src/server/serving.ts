// The server's serving snapshot (src/scores/lookup.ts): opened or made when the published runs change, kept exact for the customers written since (read live), and erased from with the store.
import type { Store } from '../store/db.js';
import { explainRow, type CustomerExplanation } from '../scores/explain.js';
import { buildSnapshot, eraseFromSnapshot, removeSnapshot, ServingSnapshot, snapshotKey, type SnapshotCustomer } from '../scores/lookup.js';
import type { ScoreRegistry } from '../scores/registry.js';
import { rescoringModels, type HeldOrders, type RescoringModels } from '../scores/rescore.js';
import { storedResults, type StoredResults } from '../scores/results.js';

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
  /** Written since the snapshot was made (an ingest of their row, a rescoring): read `customers` and rescored_scores. */
  readonly live: boolean;
  /** Explains `row` (after any live values are applied) from the snapshot's runs, reading nothing. */
  explain(row: Record<string, unknown>): CustomerExplanation;
}

/**
 * One per server. The snapshot serves look-ups of the published state it was made from; the moment a job ends (a
 * run may have published), `refresh` checks the published state and, when it changed, stops using the snapshot,
 * then opens the one beside the store if it is current or makes one on a read connection (a minute at 1M customers;
 * look-ups read the store meanwhile). Customers written after the snapshot was made are marked `live`: ingested
 * rows (found by their batch, `catchUp`, before a write's answer goes out) and rescorings (`markLive`). An erasure
 * overwrites the customer's line at once, and again in a snapshot being made.
 */
export class ServingSnapshots {
  private current: Current | null = null;
  private live = new Set<string>();
  /** The newest ingest batch whose customers are accounted for. */
  private batch = 0;
  private pending: Promise<void> | null = null;
  private again = false;
  /** Erased while a snapshot is being opened or made: erased from it before it is used. */
  private erasedMeanwhile: string[] = [];

  constructor(
    /** The store's file: the snapshot lives beside it (null: an in-memory store, no snapshot). */
    private readonly dbPath: string | null,
    /** The writer's connection (one request at a time) and the read connections. */
    private readonly db: Connection,
    private readonly reads: Connection,
    private readonly registry: ScoreRegistry,
    private readonly log: Log,
  ) {}

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
    return { batch: cur.snapshot.meta.batch, lines: held.orders, complete: this.batch <= cur.snapshot.meta.batch };
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

  /** Customers whose rescored values now differ from the snapshot's: read live from now on. */
  markLive(customerIds: Iterable<string>): void {
    if (this.current === null && this.pending === null) return;
    for (const id of customerIds) this.live.add(id);
  }

  /** Customers written by ingest batches newer than the last seen: read live from now on (a few milliseconds when none). */
  async catchUp(): Promise<void> {
    if (this.current === null) return;
    const since = this.batch;
    const newest = await this.reads(async (s) => Number((await s.value<number | null>('SELECT max(batch_id) FROM ingest_batches')) ?? 0));
    if (newest <= since) return;
    const ids = await this.reads((s) => s.all<{ customer_id: string }>('SELECT customer_id FROM customers WHERE batch_id > ?', [since]));
    for (const r of ids) this.live.add(r.customer_id);
    this.batch = Math.max(this.batch, newest);
  }

  /** Erases the customer from the snapshot's file (and from one being made); call after the store's erasure committed. */
  erase(customerId: string): void {
    this.live.delete(customerId);
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
    if (this.current?.snapshot.meta.key === key) {
      await this.catchUp();
      return;
    }
    this.close();
    this.live = new Set();
    if (state.size === 0) {
      removeSnapshot(this.dbPath);
      return;
    }
    const started = performance.now();
    let snapshot = ServingSnapshot.open(this.dbPath, this.registry, key);
    if (snapshot === null) {
      const dbPath = this.dbPath;
      await this.reads((s) => buildSnapshot(s, this.registry, dbPath));
      snapshot = ServingSnapshot.open(this.dbPath, this.registry, key);
      if (snapshot === null) throw new Error('the snapshot made is not that of the published runs (they changed meanwhile): made again at the next refresh');
      this.log('info', { rows: snapshot.meta.rows, bytes: snapshot.meta.bytes, seconds: Math.round(performance.now() - started) / 1000 }, 'serving snapshot of the published scores made');
    }
    await this.install(snapshot);
  }

  /** Puts `snapshot` to use, with the customers written since its moment marked live. */
  private async install(snapshot: ServingSnapshot): Promise<void> {
    for (const id of this.erasedMeanwhile) snapshot.erase(id);
    // Written since the snapshot's moment: the customers of later batches, and the rescored ones (all of them: a
    // rescoring of an older run is not shown, and reading it live says so). Read and put to use on the writer's
    // connection, so that no request's ingest commits in between; rescorings marked meanwhile are kept.
    await this.db(async (s) => {
      for (const r of await s.all<{ customer_id: string }>('SELECT DISTINCT customer_id FROM rescored_scores')) this.live.add(r.customer_id);
      for (const r of await s.all<{ customer_id: string }>('SELECT customer_id FROM customers WHERE batch_id > ?', [snapshot.meta.batch])) this.live.add(r.customer_id);
      this.batch = Math.max(snapshot.meta.batch, Number((await s.value<number | null>('SELECT max(batch_id) FROM ingest_batches')) ?? 0));
      this.current = {
        snapshot,
        state: new Map(snapshot.meta.state.map((st) => [st.scorer, st])),
        currencies: new Map(Object.entries(snapshot.meta.currencies).map(([run, currency]) => [Number(run), currency])),
      };
    });
  }
}
