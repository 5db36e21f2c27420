// The server's serving snapshot (src/scores/lookup.ts): opened or made when the published runs change, kept exact for the customers written since (read live), and erased from with the store.
import type { Store } from '../store/db.js';
import type { z } from 'zod';
import { KairosError } from '../errors.js';
import { explainCustomer, explainRow, type CustomerExplanation } from '../scores/explain.js';
import { buildSnapshot, eraseFromSnapshot, removeSnapshot, ServingSnapshot, snapshotKey, type SnapshotCustomer } from '../scores/lookup.js';
import type { ScoreRegistry } from '../scores/registry.js';
import { notRescored, RESCORED_COLUMNS, RESCORED_WINNERS, rescoringModels, type HeldOrders, type Rescored, type RescoringModels } from '../scores/rescore.js';
import { customerScoresRow, storedResults, type StoredResults } from '../scores/results.js';
import { quoteIdentifier } from '../store/db.js';
import { CUSTOMER_COLUMNS } from '../store/migrations.js';
import { rescoredOverlay } from './routes-rescore.js';
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
 * One per server. The snapshot serves look-ups of the published state it was made from; the moment a job ends (a
 * run may have published), `refresh` checks the published state and, when it changed, stops using the snapshot,
 * then opens the one beside the store if it is current or makes one on a read connection (25-30 s at 1M customers;
 * look-ups read the store meanwhile; from the moment a run begins to publish too). Customers whose row an ingest
 * wrote after the snapshot was made are marked `live` (found by their batch, `catchUp`, before the write's answer goes
 * out); the rescorings this server commits are held in memory (`rescorings`), those made before are read live. An
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

  /**
   * Rescorings just committed: held in memory when they are of the snapshot's published run (up to MAX_HELD_RESCORINGS
   * customers), else their customers are read live from now on.
   */
  rescorings(rows: readonly Rescored[]): void {
    if (this.current === null && this.pending === null) return;
    const clv = this.current?.state.get('clv')?.runId;
    for (const r of rows) {
      if (clv !== undefined && r.runId === clv && !this.live.has(r.customerId) && (this.rescored.size < MAX_HELD_RESCORINGS || this.rescored.has(r.customerId))) {
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
    this.rescored = new Map();
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
      const overlay = await rescoredOverlay(store, registry, id);
      return { ...served.explain({ ...served.row, ...own, ...overlay.values }), rescored: overlay.mark };
    });
  }
  return read(async (store) => {
    // A customer not scored yet (created after the published run's as-of, or just ingested) is shown without
    // explanations, with the values a first order rescored if any.
    const row = await customerScoresRow(store, registry, id);
    // Values rescored after a new order (routes-rescore.ts) replace the published ones, marked, until the next run.
    const overlay = row ? await rescoredOverlay(store, registry, id) : { values: {}, mark: null };
    if (row && row['run_id'] === null) return { customer: { ...row, ...overlay.values }, explanations: {}, items: {}, rescored: overlay.mark };
    return { ...(await explainCustomer(store, id, registry, { ...(row ? { row } : {}), overlay: overlay.values })), rescored: overlay.mark };
  });
}

/** How many customers' rescorings a server holds in memory (about a kilobyte each); beyond, they are read from the store. */
const MAX_HELD_RESCORINGS = 200_000;

/** A rescoring as GET /customers/{id} shows it: rescoredOverlay's answer, from the rescoring itself. */
export type RescoredOverlay = Awaited<ReturnType<typeof rescoredOverlay>>;

/** The overlay of a rescoring just made, as rescoredOverlay reads it back from rescored_scores (tested equal). */
export function overlayOf(registry: ScoreRegistry, r: Rescored): RescoredOverlay {
  const values: Record<string, unknown> = {};
  for (const c of RESCORED_COLUMNS) values[c] = r.scores[c] ?? null;
  for (const w of RESCORED_WINNERS) if (r.scores[w] !== null && r.scores[w] !== undefined) values[w] = r.scores[w];
  const columns = Object.keys(values);
  return {
    values,
    mark: { rescored_at: r.rescoredAt, run_id: r.runId, model: r.model, observed_to: r.observedTo, columns, not_rescored: notRescored(registry, new Set(columns)) },
  };
}
