// The serving snapshot of the published scores (kairos serve's look-ups): every scored customer's row, items and attributes as one JSON line of a file beside the store, found by an index in memory and read with one pread.
import { open, type FileHandle } from 'node:fs/promises';
import { close, closeSync, existsSync, fstatSync, fsyncSync, openSync, readFileSync, readSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { isOutOfMemory, isoTimestamp, quoteIdentifier, quoteLiteral, type Store } from '../store/db.js';
import { CUSTOMER_COLUMNS } from '../store/migrations.js';
import type { ScoreRegistry } from './registry.js';
import { itemsTable, resultsTable, scoreColumnNames, signature, storedResults, type StoredResults } from './results.js';
import { ITEM_DEFAULTS, type ItemRow } from './types.js';

/*
 * Why a file of our own rather than a table or another database (measured at 1M customers, docs/benchmarks.md,
 * "Serving look-ups and rescoring"): DuckDB is a column store without fast point reads. One customer's row from a
 * table sorted by customer_id took 24-42 ms of DuckDB CPU (each of its 79 columns decompressed a vector), and the
 * customer's attributes another 15-22 ms (customers has no index: migration 4), so the server answered about 40
 * look-ups/s on two cores. A look-up here reads one line from the page cache and parses it: tens of microseconds,
 * no DuckDB query. The file is derived data, made by DuckDB itself (one COPY of the published runs' join, written by
 * its own JSON writer on all cores) and thrown away when a run publishes; an embedded key-value store (lmdb,
 * better-sqlite3) would be a second native database to install for a file that is written once and only read.
 * Personal data lives in it as in the store: an erasure overwrites the customer's line in place (eraseFromSnapshot).
 */

/** The format of the files; a snapshot of another format is made again (3: the key names when runs started, not finished). */
export const SNAPSHOT_FORMAT = 3;

/** The snapshot's files beside the store `db`: the lines, and its description (written last: no description, no snapshot). */
export function snapshotFiles(db: string): { readonly data: string; readonly meta: string } {
  return { data: `${db}.lookup.ndjson`, meta: `${db}.lookup.json` };
}

/** What a snapshot holds and what it was made from. */
export interface SnapshotMeta {
  readonly format: number;
  /** snapshotKey of the published state it was made from. */
  readonly key: string;
  /** The newest ingest batch when it was made: customers and orders written by later batches are read from the store. */
  readonly batch: number;
  /** The published runs it holds (StoredResults of each scorer). */
  readonly state: readonly StoredResults[];
  /** The currency of each of those runs, by run id. */
  readonly currencies: Readonly<Record<string, string>>;
  /** The values of a line, in order: the customer's columns, run_id, the published scorers' columns, one list per item output, then the customer's order lines. */
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  readonly items: readonly string[];
  readonly rows: number;
  readonly bytes: number;
  readonly madeAt: string;
}

/** The published state as text: each scorer's published run and shape; a snapshot serves only the state it was made from. */
export function lookupKey(registry: ScoreRegistry, state: ReadonlyMap<string, StoredResults>): string {
  return registry.scorers
    .map((s) => {
      const st = state.get(s.name);
      return st === undefined ? `${s.name}:-` : `${s.name}:${st.runId}:${signature(s)}`;
    })
    .join('\n');
}

/**
 * The key of a snapshot of the published state `state`: lookupKey, and when each of its runs started (a store made
 * again, whose runs have the same ids, is another store). Known before a run is published: kairos serve's run makes
 * the snapshot of the state it is about to publish (buildSnapshot's `including`).
 */
export async function snapshotKey(store: Store, registry: ScoreRegistry, state: ReadonlyMap<string, StoredResults>): Promise<string> {
  const ids = [...new Set([...state.values()].map((st) => st.runId))].sort((a, b) => a - b);
  if (ids.length === 0) return lookupKey(registry, state);
  const runs = await store.all<{ run_id: number; started: string | null }>(
    `SELECT run_id, strftime(started_at, '%Y-%m-%dT%H:%M:%S.%f') AS started FROM score_runs WHERE run_id IN (${ids.map(() => '?').join(', ')}) ORDER BY run_id`,
    ids,
  );
  return `${lookupKey(registry, state)}
${runs.map((r) => `${r.run_id}@${r.started ?? '-'}`).join(' ')}`;
}

/** The snapshot's description, or null when there is none (or it is unreadable, of another format, or its lines are not the ones it describes). */
export function readSnapshotMeta(db: string): SnapshotMeta | null {
  const files = snapshotFiles(db);
  try {
    const meta = JSON.parse(readFileSync(files.meta, 'utf8')) as SnapshotMeta;
    if (meta.format !== SNAPSHOT_FORMAT || !existsSync(files.data)) return null;
    const fd = openSync(files.data, 'r');
    try {
      return fstatSync(fd).size === meta.bytes ? meta : null;
    } finally {
      closeSync(fd);
    }
  } catch {
    return null;
  }
}

/** Removes the snapshot's files (the description first: lines without one are never read). */
export function removeSnapshot(db: string): void {
  const files = snapshotFiles(db);
  for (const f of [files.meta, `${files.meta}.part`, files.data, `${files.data}.part`]) rmSync(f, { force: true });
}

/**
 * Makes the snapshot of the store `db` (the path of `store`'s file) from its published runs, unless the one beside
 * it is that of the published state already (then null). With `including`, of the state once that run is published:
 * its rows are in the store's tables, the run not yet marked completed (kairos serve's runs, src/scores/run.ts
 * `beforeComplete`). Reads in one transaction of `store`, so that the lines, the
 * batch mark and the state are of one moment while writers go on; writes `.part` files, then renames them (the
 * description last). `store` may be a read connection.
 */
export async function buildSnapshot(store: Store, registry: ScoreRegistry, db: string, options: { readonly including?: number } = {}): Promise<SnapshotMeta | null> {
  // As a run's steps do (src/scores/run.ts): when an operator DuckDB cannot spill (the lists of order lines and items
  // per customer) needs more than the memory limit, the limit is raised 4 times (twice at most, to 80% of the RAM) and
  // the snapshot made again; the limit stays raised. At 1M customers it did not fit kairos serve's 1 GB.
  for (let attempt = 0; ; attempt++) {
    try {
      return await makeSnapshot(store, registry, db, options.including);
    } catch (err) {
      if (!isOutOfMemory(err) || attempt >= 2 || (await store.raiseMemoryLimit(4)) === null) throw err;
    }
  }
}

/** How often the snapshot being written is synced (flushWhileWritten). */
const FLUSH_EVERY_MS = 100;

/**
 * Syncs `file` every FLUSH_EVERY_MS while DuckDB writes it (once it exists; one sync at a time), until `stop()`: the
 * disk takes the snapshot's gigabyte (at 1M customers) in small steps as it is written, instead of all of it in the
 * final sync (0.39 s for the 1M snapshot here, 12-15 ms after the syncs in steps, the COPY as long). Every rescoring
 * of kairos serve waits for the sync of its journal line, and waited behind that one: p99 189-349 ms in the 5 s at
 * the end of a run's snapshot stage (docs/benchmarks.md).
 */
export function flushWhileWritten(file: string): { stop(): Promise<void> } {
  let handle: FileHandle | null = null;
  let opening = false;
  let inFlight: Promise<void> | null = null;
  let stopped = false;
  const tick = (): void => {
    if (stopped || inFlight !== null || opening) return;
    if (handle === null) {
      opening = true;
      inFlight = open(file, 'r')
        .then((h) => {
          if (stopped) return h.close();
          handle = h;
        })
        // Not there yet (DuckDB has not opened it): the next tick tries again.
        .catch(() => undefined)
        .finally(() => {
          opening = false;
          inFlight = null;
        });
      return;
    }
    inFlight = handle
      .datasync()
      .catch(() => undefined)
      .finally(() => {
        inFlight = null;
      });
  };
  const timer = setInterval(tick, FLUSH_EVERY_MS);
  return {
    async stop(): Promise<void> {
      stopped = true;
      clearInterval(timer);
      await inFlight;
      await (handle as FileHandle | null)?.close();
    },
  };
}

async function makeSnapshot(store: Store, registry: ScoreRegistry, db: string, including: number | undefined): Promise<SnapshotMeta | null> {
  const files = snapshotFiles(db);
  return store.transaction(async () => {
    const state = await storedResults(store, registry, including);
    const key = await snapshotKey(store, registry, state);
    if (readSnapshotMeta(db)?.key === key) return null;
    const batch = Number((await store.value<number | null>('SELECT max(batch_id) FROM ingest_batches')) ?? 0);
    const published = registry.scorers.flatMap((s, i) => {
      const st = state.get(s.name);
      return st === undefined ? [] : [{ alias: `s${i}`, scorer: s, runId: st.runId }];
    });
    const runId = published.length
      ? `greatest(${published.map((p) => `CASE WHEN ${p.alias}.customer_id IS NOT NULL THEN ${p.runId} END`).join(', ')})::INTEGER`
      : 'NULL::INTEGER';
    const values = [
      ...CUSTOMER_COLUMNS.map((c) => ({ name: c, sql: `c.${quoteIdentifier(c)}` })),
      { name: 'run_id', sql: runId },
      ...published.flatMap((p) => scoreColumnNames(p.scorer).map((c) => ({ name: c, sql: `${p.alias}.${quoteIdentifier(c)}` }))),
    ];
    // The same joins as the customer_scores view (src/scores/results.ts, createViews), published runs as constants;
    // each item output as one list per customer, best first, as many as customerItems reads.
    const joins = published.map(
      (p) => `LEFT JOIN (SELECT * FROM ${quoteIdentifier(resultsTable(p.scorer.name))} WHERE run_id = ${p.runId}) ${p.alias} ON ${p.alias}.customer_id = c.customer_id`,
    );
    const items = published.flatMap((p) => (p.scorer.items ?? []).map((o, k) => ({ name: o.name, alias: `${p.alias}i${k}`, runId: p.runId, keep: o.keep ?? ITEM_DEFAULTS.keep })));
    for (const o of items) {
      joins.push(
        `LEFT JOIN (SELECT customer_id, list({'rank': rank, 'key': key, 'value': value, 'reason': reason} ORDER BY rank) AS items
                    FROM ${quoteIdentifier(itemsTable(o.name))} WHERE run_id = ${o.runId} AND rank <= ${o.keep} GROUP BY customer_id) ${o.alias}
         ON ${o.alias}.customer_id = c.customer_id`,
      );
    }
    // Every order line of the customer (a rescoring reads them from here, and only the newer ones from the store).
    joins.push(
      `LEFT JOIN (SELECT customer_id, list({'d': (ordered_at::DATE - DATE '1970-01-01')::INTEGER, 'o': order_id, 'q': quantity, 'a': amount} ORDER BY ordered_at, order_id) AS lines
                  FROM orders GROUP BY customer_id) ol ON ol.customer_id = c.customer_id`,
    );
    const from = `FROM customers c ${joins.join(' ')}`;
    const types = await store.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT ${values.map((v) => `${v.sql} AS ${quoteIdentifier(v.name)}`).join(', ')} ${from}`);
    const all = [...values.map((v) => v.sql), ...items.map((o) => `coalesce(${o.alias}.items, [])`), `coalesce(ol.lines, [])`];
    rmSync(`${files.data}.part`, { force: true });
    const flushing = flushWhileWritten(`${files.data}.part`);
    let rows: number;
    try {
      rows = Number(
        // In customer_id order (byte order, as the index searches: IdIndex).
        await store.value(
          `COPY (SELECT json_array(${all.join(', ')}) AS r ${from} WHERE ${runId} IS NOT NULL ORDER BY c.customer_id) TO ${quoteLiteral(`${files.data}.part`)} (FORMAT json)`,
        ),
      );
    } finally {
      await flushing.stop();
    }
    const currencies = Object.fromEntries(
      (await store.all<{ run_id: number; currency: string }>('SELECT run_id, currency FROM score_runs WHERE status = ? OR run_id = ?', ['completed', including ?? -1])).map((r) => [
        String(r.run_id),
        r.currency,
      ]),
    );
    const fd = openSync(`${files.data}.part`, 'r');
    let bytes: number;
    try {
      bytes = fstatSync(fd).size;
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    const meta: SnapshotMeta = {
      format: SNAPSHOT_FORMAT,
      key,
      batch,
      state: [...state.values()],
      currencies,
      columns: types.map((t) => ({ name: t.column_name, type: t.column_type })),
      items: items.map((o) => o.name),
      rows,
      bytes,
      madeAt: new Date().toISOString(),
    };
    rmSync(files.meta, { force: true });
    renameSync(`${files.data}.part`, files.data);
    writeFileSync(`${files.meta}.part`, JSON.stringify(meta));
    renameSync(`${files.meta}.part`, files.meta);
    return meta;
  });
}

const PREFIX = Buffer.from('{"r":[');
const CHUNK = 8 * 1024 * 1024;

/** Calls `each(offset, length, line)` for every line of `file` that is not blank (`line` is valid during the call only). */
function scanLines(file: string, each: (offset: number, length: number, buf: Buffer, start: number) => void): void {
  const fd = openSync(file, 'r');
  try {
    const steps = scanChunks(fd, each);
    while (!steps.next().done);
  } finally {
    closeSync(fd);
  }
}

/** scanLines over an open file, a chunk (8 MiB by default) at each step: a caller can let other work run between two. */
function* scanChunks(fd: number, each: (offset: number, length: number, buf: Buffer, start: number) => void, chunk = CHUNK): Generator<void> {
  let buf = Buffer.allocUnsafe(chunk);
  let filled = 0;
  let base = 0; // file offset of buf[0]
  for (;;) {
    if (filled === buf.length) {
      // A line longer than the buffer: a bigger one.
      const bigger = Buffer.allocUnsafe(buf.length * 2);
      buf.copy(bigger, 0, 0, filled);
      buf = bigger;
    }
    const got = readSync(fd, buf, filled, buf.length - filled, base + filled);
    const end = filled + got;
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(10, start);
      if (nl < 0 || nl >= end) break;
      if (nl > start && buf[start] !== 0x20) each(base + start, nl - start, buf, start);
      start = nl + 1;
    }
    if (got === 0) {
      if (start < end && buf[start] !== 0x20) each(base + start, end - start, buf, start);
      return;
    }
    buf.copy(buf, 0, start, end);
    base += start;
    filled = end - start;
    yield;
  }
}

/** The customer id a line starts with (`{"r":["<id>",`), or undefined when the line is not of that shape. */
function lineId(buf: Buffer, start: number, length: number): string | undefined {
  const span = idSpan(buf, start, length);
  return span === undefined ? undefined : (JSON.parse(buf.toString('utf8', span.from - 1, span.to + 1)) as string);
}

/**
 * Where the id of a line starting `{"r":["<id>",` lies in `buf` (between the quotes), and whether JSON escapes are in
 * it (then its bytes are not the id's); undefined when the line is not of that shape.
 */
function idSpan(buf: Buffer, start: number, length: number): { readonly from: number; readonly to: number; readonly escaped: boolean } | undefined {
  if (length < PREFIX.length + 2 || buf.compare(PREFIX, 0, PREFIX.length, start, start + PREFIX.length) !== 0) return undefined;
  const open = start + PREFIX.length;
  if (buf[open] !== 0x22) return undefined;
  const stop = start + length;
  let i = open + 1;
  let escaped = false;
  while (i < stop && buf[i] !== 0x22) {
    if (buf[i] === 0x5c) escaped = true;
    i += buf[i] === 0x5c ? 2 : 1;
  }
  if (i >= stop) return undefined;
  return { from: open + 1, to: i, escaped };
}

/** A customer as the snapshot holds them: customer_scores' row (without scored_as_of's companions missing) and their items. */
export interface SnapshotCustomer {
  readonly row: Record<string, unknown>;
  readonly items: Record<string, ItemRow[]>;
  /** Their order lines when the snapshot was made (batches up to meta.batch), by time. */
  readonly orders: readonly SnapshotOrderLine[];
}

/** An order line as the snapshot holds it: day (since 1970-01-01), order id, quantity, amount. */
export interface SnapshotOrderLine {
  readonly d: number;
  readonly o: string;
  readonly q: number | null;
  readonly a: number | null;
}

/**
 * An open snapshot: the offset and length of every customer's line in memory (IdIndex and two typed arrays: some 30
 * bytes a customer, outside the JavaScript heap), the file open for reading. `get` is synchronous: a pread of a line from the page cache is a few microseconds, less
 * than a trip through libuv's thread pool, which DuckDB's long statements occupy during a run.
 */
export class ServingSnapshot {
  private constructor(
    readonly db: string,
    readonly meta: SnapshotMeta,
    private readonly fd: number,
    private readonly index: IdIndex,
    private readonly offsets: Float64Array,
    private readonly lengths: Uint32Array,
    private count: number,
    private readonly allColumns: readonly string[],
  ) {}

  /** Opens the snapshot beside `db` when it is that of `key` (null otherwise), reading every line's place (1.4 s at 1M customers). */
  static open(db: string, registry: ScoreRegistry, key: string): ServingSnapshot | null {
    const steps = ServingSnapshot.opening(db, registry, key, CHUNK);
    for (;;) {
      const step = steps.next();
      if (step.done) return step.value;
    }
  }

  /**
   * open, letting the server answer between two chunks of the file instead of stopping it: 1 MiB chunks, about 1,000
   * lines and 1-2 ms each (8 MiB ones took 12 ms, up to 64 ms, at 1M customers).
   */
  static async openInTurns(db: string, registry: ScoreRegistry, key: string): Promise<ServingSnapshot | null> {
    const steps = ServingSnapshot.opening(db, registry, key, 1024 * 1024);
    for (;;) {
      const step = steps.next();
      if (step.done) return step.value;
      await new Promise((turn) => setImmediate(turn));
    }
  }

  private static *opening(db: string, registry: ScoreRegistry, key: string, chunk: number): Generator<void, ServingSnapshot | null> {
    const meta = readSnapshotMeta(db);
    if (meta === null || meta.key !== key) return null;
    const file = snapshotFiles(db).data;
    const index = new IdIndex(Math.max(16, meta.rows));
    let offsets = new Float64Array(Math.max(16, meta.rows));
    let lengths = new Uint32Array(offsets.length);
    let n = 0;
    // The data file opened first: a snapshot made meanwhile replaces the file by a rename, this one is read to the end.
    const fd = openSync(file, 'r+');
    let opened = false;
    try {
      yield* scanChunks(
        fd,
        (offset, length, buf, start) => {
          // The id's bytes straight into the index when they are its UTF-8 (no escape): no string made per line.
          const span = idSpan(buf, start, length);
          if (span === undefined) return;
          if (n === offsets.length) {
            offsets = grow(offsets, new Float64Array(n * 2));
            lengths = grow(lengths, new Uint32Array(n * 2));
          }
          offsets[n] = offset;
          lengths[n] = length;
          if (span.escaped) index.add(JSON.parse(buf.toString('utf8', span.from - 1, span.to + 1)) as string);
          else index.addBytes(buf, span.from, span.to);
          n++;
        },
        chunk,
      );
      yield* index.finish();
      opened = true;
    } finally {
      if (!opened) closeSync(fd);
    }
    const allColumns = registry.scorers.flatMap((s) => scoreColumnNames(s));
    return new ServingSnapshot(db, meta, fd, index, offsets, lengths, n, allColumns);
  }

  get size(): number {
    return this.count;
  }

  has(customerId: string): boolean {
    return this.line(customerId) >= 0;
  }

  /** The customer's line number, or -1 (none, or erased). */
  private line(customerId: string): number {
    const line = this.index.find(customerId);
    return line >= 0 && (this.lengths[line] as number) > 0 ? line : -1;
  }

  /**
   * The customer's row of customer_scores as customerScoresRow makes it (customers' columns, run_id, scored_as_of,
   * then every registered score column, null where the published runs have none) and their items; undefined when
   * the snapshot has no line for them (not scored by the published runs, unknown, erased) or the line cannot be read
   * as written (then the caller reads the store).
   */
  get(customerId: string): SnapshotCustomer | undefined {
    const line = this.line(customerId);
    if (line < 0) return undefined;
    const length = this.lengths[line] as number;
    const offset = this.offsets[line] as number;
    const buf = Buffer.allocUnsafe(length);
    if (readSync(this.fd, buf, 0, length, offset) !== length) return undefined;
    let values: unknown[];
    try {
      values = (JSON.parse(buf.toString('utf8')) as { r: unknown[] }).r;
    } catch {
      return undefined; // e.g. a NaN, which JSON has no word for: the store's reading has one
    }
    const { columns, items } = this.meta;
    if (!Array.isArray(values) || values.length !== columns.length + items.length + 1 || values[0] !== customerId) return undefined;
    // One object filled in customer_scores' order (a spread of ~80 keys costs V8 some 200 us a row).
    const value = (i: number): unknown => {
      const v = values[i] ?? null;
      const type = (columns[i] as { type: string }).type;
      // As the store's type mapping (src/store/db.ts, toJs): timestamps in ISO; the rest is JSON's own.
      return typeof v !== 'string' || !type.startsWith('TIMESTAMP') ? v : isoTimestamp(type === 'TIMESTAMP WITH TIME ZONE' ? v.replace(/\+00(:00)?$/, '') : v);
    };
    const row: Record<string, unknown> = {};
    const customerCount = CUSTOMER_COLUMNS.length;
    for (let i = 0; i < customerCount; i++) row[(columns[i] as { name: string }).name] = value(i);
    const runId = value(customerCount) as number | null;
    const run = runId === null ? undefined : this.meta.state.find((st) => st.runId === runId);
    row['run_id'] = runId;
    row['scored_as_of'] = run === undefined ? null : isoTimestamp(run.asOf);
    for (const c of this.allColumns) row[c] = null;
    for (let i = customerCount + 1; i < columns.length; i++) row[(columns[i] as { name: string }).name] = value(i);
    const own: Record<string, ItemRow[]> = {};
    items.forEach((name, k) => {
      own[name] = (values[columns.length + k] as ItemRow[] | null) ?? [];
    });
    return { row, items: own, orders: (values[columns.length + items.length] as SnapshotOrderLine[] | null) ?? [] };
  }

  /** Overwrites the customer's line with spaces (the bytes on disk, not only the index) and forgets it; false when it had none. */
  erase(customerId: string): boolean {
    const line = this.line(customerId);
    if (line < 0) return false;
    blank(this.fd, this.offsets[line] as number, this.lengths[line] as number);
    this.lengths[line] = 0;
    this.count--;
    return true;
  }

  /**
   * Closes the file off the JavaScript thread: once a newer snapshot has replaced it, this is its last handle, and the
   * kernel drops its gigabyte of cached pages in the close (87 ms at 1M customers, over 200 ms during a run's end).
   */
  close(): void {
    close(this.fd, () => undefined);
  }
}

/**
 * Customer ids and their line numbers, searchable in byte order, in typed arrays and one buffer: a Map of a million
 * id strings made every full garbage collection of the server mark a million objects (a 66 ms pause at 1M customers,
 * which showed in the look-ups' p99). The lines are written in customer_id order (buildSnapshot), so the order of
 * the lines is the search order; a file in another order is sorted here once.
 */
class IdIndex {
  private bytes: Buffer;
  private used = 0;
  private starts: Uint32Array;
  private n = 0;
  /** Line numbers in byte order of their ids. */
  private order: Uint32Array = new Uint32Array(0);

  constructor(capacity: number) {
    this.bytes = Buffer.allocUnsafe(capacity * 12);
    this.starts = new Uint32Array(capacity + 1);
  }

  add(id: string): void {
    const size = Buffer.byteLength(id);
    this.room(size);
    this.bytes.write(id, this.used, 'utf8');
    this.used += size;
    this.starts[++this.n] = this.used;
  }

  /** add, for an id given as its UTF-8 bytes `from.subarray(start, end)`. */
  addBytes(from: Buffer, start: number, end: number): void {
    this.room(end - start);
    from.copy(this.bytes, this.used, start, end);
    this.used += end - start;
    this.starts[++this.n] = this.used;
  }

  private room(size: number): void {
    if (this.used + size > this.bytes.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.used + size));
      this.bytes.copy(bigger, 0, 0, this.used);
      this.bytes = bigger;
    }
    if (this.n + 2 > this.starts.length) this.starts = grow(this.starts, new Uint32Array(this.starts.length * 2));
  }

  /** Makes the search order, a step every 20,000 ids (the check that they are sorted takes some 130 ms at 1M). */
  *finish(): Generator<void> {
    const order = new Uint32Array(this.n);
    let sorted = true;
    for (let i = 0; i < this.n; i++) {
      order[i] = i;
      if (i > 0 && this.compareAt(i - 1, i) > 0) sorted = false;
      if (i % 20_000 === 19_999) yield;
    }
    if (!sorted) order.sort((a, b) => this.compareAt(a, b));
    this.order = order;
  }

  /** The line of `id`, or -1. */
  find(id: string): number {
    const key = Buffer.from(id, 'utf8');
    let lo = 0;
    let hi = this.n - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const line = this.order[mid] as number;
      const c = key.compare(this.bytes, this.starts[line] as number, this.starts[line + 1] as number);
      if (c === 0) return line;
      if (c < 0) hi = mid - 1;
      else lo = mid + 1;
    }
    return -1;
  }

  private compareAt(a: number, b: number): number {
    return this.bytes.compare(this.bytes, this.starts[b] as number, this.starts[b + 1] as number, this.starts[a] as number, this.starts[a + 1] as number);
  }
}

function grow<T extends Float64Array | Uint32Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

function blank(fd: number, offset: number, length: number): void {
  writeSync(fd, Buffer.alloc(length, 0x20), 0, length, offset);
  fsyncSync(fd);
}

/**
 * Erases the customer's line from the snapshot beside `db`, when there is one (kairos erase, without a server): the
 * line is found by reading the file, overwritten with spaces. Returns whether a line was erased.
 */
export function eraseFromSnapshot(db: string, customerId: string): boolean {
  const files = snapshotFiles(db);
  if (!existsSync(files.data)) return false;
  const places: [number, number][] = [];
  scanLines(files.data, (offset, length, buf, start) => {
    if (lineId(buf, start, length) === customerId) places.push([offset, length]);
  });
  if (places.length === 0) return false;
  const fd = openSync(files.data, 'r+');
  try {
    for (const [offset, length] of places) blank(fd, offset, length);
  } finally {
    closeSync(fd);
  }
  return true;
}
