// A Store used from a worker thread: its calls run on a connection of the main thread's DuckDB instance (StoreHost), one at a time.
//
// Why not a DuckDB instance of the worker's own (measured with @duckdb/node-api 1.5.5, Node 20, in one process):
// - `DuckDBInstance.create(file)` a second time on a file this process already has open succeeds (DuckDB's file lock
//   is per process, so nothing stops it): two instances with their own caches and write-ahead logs on one file, which
//   corrupts it at the first write of both;
// - `DuckDBInstance.fromCache(file)` shares an instance within one thread only: its cache is a JS singleton, so a
//   worker's fromCache made a second instance (a table created in the worker was not seen by the main thread, and
//   `SET GLOBAL threads` on the main thread was not seen in the worker).
// And why not run the scoring on the main thread, on a second connection: its JS (model fits, trees, predictions)
// blocks the event loop; measured on 100,000 customers (rfm, clv, lifecycle, learned; 73 s run): event-loop delay p99
// 116 ms, longest stall 3.2 s, so an HTTP read waits seconds. So the run's JS runs in a worker thread and its SQL on a
// second connection of the main thread's instance: DuckDB executes off the JS thread, and the main thread only passes
// statements and results (typed arrays transferred, not copied) while it keeps answering requests.
import type { MessagePort } from 'node:worker_threads';
import type { DuckDBType } from '@duckdb/node-api';
import { KairosError, type ErrorCode } from '../errors.js';
import { inTransaction, type ChunkReader, type ColumnData, type ExposedColumn, type ListColumn, type Row, type SqlValue, type Store } from './db.js';
import { PackedTexts, packTexts, type PackedPart } from './packed-texts.js';

/** Rows per call of RemoteStore.writeColumns and exposeColumns (about 20 ms of the host's thread each at 1M-row writes). */
const WRITE_CHUNK = 20_000;

/** The host's own call: a part of the columns RemoteStore.exposeColumns sends (not a Store method). */
const EXPOSE_PART = 'exposeColumnsPart';

/** A column's rows in such a part: numbers as a typed array, texts packed. */
type SentColumn =
  | { readonly name: string; readonly type: Exclude<ColumnData['type'], 'VARCHAR'>; readonly values: Float64Array | Int32Array }
  | { readonly name: string; readonly type: 'VARCHAR'; readonly packed: PackedPart };

/** A call from the worker: a Store method and its arguments (cloned). */
interface Call {
  readonly kind: 'call';
  readonly id: number;
  readonly method: string;
  readonly args: readonly unknown[];
}

/** A streamed chunk of a forEachChunk call: the columns the host could read, by name. */
interface Chunk {
  readonly kind: 'chunk';
  readonly id: number;
  readonly count: number;
  readonly columns: Readonly<Record<string, ChunkColumn>>;
}

type ChunkColumn =
  | { readonly type: 'DOUBLE'; readonly values: Float64Array }
  | { readonly type: 'VARCHAR'; readonly values: string[] }
  | { readonly type: 'INT_LIST'; readonly list: ListColumn<Int32Array> }
  | { readonly type: 'DOUBLE_LIST'; readonly list: ListColumn<Float64Array> };

interface Columns {
  readonly kind: 'columns';
  readonly id: number;
  readonly names: readonly string[];
  readonly types: readonly string[];
}

interface Reply {
  readonly kind: 'reply';
  readonly id: number;
  readonly value?: unknown;
  readonly error?: SerialisedError;
}

export interface SerialisedError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly hint?: string;
  readonly details?: Record<string, unknown>;
}

/** A KairosError as a plain object (messages between threads carry no classes). */
export function serialiseError(err: unknown): SerialisedError {
  if (err instanceof KairosError) {
    let details: Record<string, unknown> | undefined;
    try {
      details = structuredClone({ ...err.details });
    } catch {
      details = undefined;
    }
    return { code: err.code, message: err.message, ...(err.hint === undefined ? {} : { hint: err.hint }), ...(details === undefined ? {} : { details }) };
  }
  return { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) };
}

/** The KairosError a SerialisedError stands for. */
export function deserialiseError(e: SerialisedError): KairosError {
  return new KairosError(e.code, e.message, { ...(e.hint === undefined ? {} : { hint: e.hint }), ...(e.details === undefined ? {} : { details: e.details }) });
}

/** The ArrayBuffers of a value's typed arrays (one level deep, and in `numbers` of readColumns), to transfer them. */
function buffersOf(value: unknown): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  const add = (v: unknown): void => {
    if (ArrayBuffer.isView(v) && v.buffer instanceof ArrayBuffer && v.byteOffset === 0 && v.byteLength === v.buffer.byteLength) out.add(v.buffer);
  };
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value as Record<string, unknown>)) {
      add(v);
      if (v !== null && typeof v === 'object' && !ArrayBuffer.isView(v)) for (const w of Object.values(v as Record<string, unknown>)) add(w);
    }
  }
  return [...out];
}

/** A readColumns answer as the host sends it: the numbers' arrays (transferred) and each text column packed in parts. */
interface PackedColumns {
  readonly numbers: Record<string, Float64Array>;
  readonly packed: Record<string, PackedPart[]>;
}

/**
 * Text columns (of readColumns) as parts of WRITE_CHUNK rows of PackedTexts, the server's thread let go between two:
 * a million ids posted as a million strings stop it for 107 ms (their clone), packed for 14 ms at the longest
 * (bench/worker-transfer.ts, medians).
 */
async function packColumns(texts: Record<string, string[]>): Promise<Record<string, PackedPart[]>> {
  const out: Record<string, PackedPart[]> = {};
  for (const [name, values] of Object.entries(texts)) {
    const parts: PackedPart[] = [];
    for (let start = 0; start < values.length; start += WRITE_CHUNK) {
      if (start > 0) await new Promise((turn) => setImmediate(turn));
      parts.push(packTexts(values, start, Math.min(values.length, start + WRITE_CHUNK)));
    }
    out[name] = parts;
  }
  return out;
}

/** The methods a worker may call: the Store's public ones that take and return plain data. */
const FORWARDED = new Set([
  'run',
  'all',
  'one',
  'value',
  'table',
  'readColumns',
  'readNumberColumns',
  'writeColumns',
  'exposeColumns',
  'releaseColumns',
  'raiseMemoryLimit',
  'setAccess',
  'forEachChunk',
]);

/**
 * The main thread's end: runs a worker's Store calls on `store` (a connection of its own, see Store.connectAgain),
 * in the order they arrive, and answers on `port`. Returns a function that stops listening.
 */
export function hostStore(store: Store, port: MessagePort): () => void {
  let tail: Promise<void> = Promise.resolve();
  const answer = (reply: Reply): void => {
    port.postMessage(reply, buffersOf(reply.value) as never);
  };
  // Columns to expose arriving in parts (RemoteStore.exposeColumns): numbers filled in place, texts kept packed.
  const arriving = new Map<string, ExposedColumn[]>();
  const handle = async (call: Call): Promise<void> => {
    try {
      if (call.method === EXPOSE_PART) {
        const [name, part, offset, total] = call.args as [string, SentColumn[], number, number];
        const into =
          offset === 0
            ? part.map((c): ExposedColumn => ('packed' in c ? { name: c.name, type: 'VARCHAR', values: new PackedTexts(total, c.packed.rows) } : { ...c, values: new (c.values.constructor as Float64ArrayConstructor)(total) }))
            : (arriving.get(name) ?? []);
        let rows = 0;
        part.forEach((c, ci) => {
          const target = into[ci]?.values;
          if ('packed' in c) {
            (target as PackedTexts).add(offset, c.packed);
            rows = c.packed.rows;
          } else {
            (target as Float64Array).set(c.values, offset);
            rows = c.values.length;
          }
        });
        if (offset + rows < total) arriving.set(name, into);
        else {
          arriving.delete(name);
          store.exposeColumns(name, into);
        }
        answer({ kind: 'reply', id: call.id, value: undefined });
        return;
      }
      if (!FORWARDED.has(call.method)) throw new KairosError('INTERNAL', `Store.${call.method} is not available from a worker`);
      if (call.method === 'forEachChunk') {
        const [sql, params] = call.args as [string, SqlValue[]];
        let names: readonly string[] = [];
        let types: readonly DuckDBType[] = [];
        await store.forEachChunk(
          sql,
          params,
          (reader, count) => {
            const columns: Record<string, ChunkColumn> = {};
            const transfer: ArrayBuffer[] = [];
            names.forEach((name, c) => {
              const t = types[c]?.toString();
              // Copies: the chunk's buffers are valid only during this call.
              if (t === 'DOUBLE') {
                const values = reader.doubles(name);
                columns[name] = { type: 'DOUBLE', values };
                transfer.push(values.buffer as ArrayBuffer);
              } else if (t === 'VARCHAR') {
                const values: string[] = [];
                reader.textsInto(name, values);
                columns[name] = { type: 'VARCHAR', values };
              } else if (t === 'INTEGER[]') {
                const l = reader.intLists(name);
                const list = { offsets: l.offsets, lengths: l.lengths, values: l.values.slice() };
                columns[name] = { type: 'INT_LIST', list };
                transfer.push(list.offsets.buffer as ArrayBuffer, list.lengths.buffer as ArrayBuffer, list.values.buffer as ArrayBuffer);
              } else if (t === 'DOUBLE[]') {
                const l = reader.doubleLists(name);
                const list = { offsets: l.offsets, lengths: l.lengths, values: l.values.slice() };
                columns[name] = { type: 'DOUBLE_LIST', list };
                transfer.push(list.offsets.buffer as ArrayBuffer, list.lengths.buffer as ArrayBuffer, list.values.buffer as ArrayBuffer);
              }
            });
            port.postMessage({ kind: 'chunk', id: call.id, count, columns } satisfies Chunk, transfer as never);
          },
          (n, t) => {
            names = n;
            types = t;
            port.postMessage({ kind: 'columns', id: call.id, names: [...n], types: t.map((x) => x.toString()) } satisfies Columns);
          },
        );
        answer({ kind: 'reply', id: call.id, value: undefined });
        return;
      }
      if (call.method === 'readColumns') {
        const [sql, params] = call.args as [string, SqlValue[]];
        const { numbers, texts } = await store.readColumns(sql, params);
        answer({ kind: 'reply', id: call.id, value: { numbers, packed: await packColumns(texts) } satisfies PackedColumns });
        return;
      }
      const method = (store as unknown as Record<string, (...a: unknown[]) => unknown>)[call.method] as (...a: unknown[]) => unknown;
      const value = await method.apply(store, call.args as unknown[]);
      answer({ kind: 'reply', id: call.id, value });
    } catch (err) {
      answer({ kind: 'reply', id: call.id, error: serialiseError(err) });
    }
  };
  const onMessage = (m: unknown): void => {
    const call = m as Call;
    if (call?.kind !== 'call') return;
    tail = tail.then(() => handle(call));
  };
  port.on('message', onMessage);
  return () => port.off('message', onMessage);
}

/** A streamed chunk, read as ChunkReader reads a DuckDB chunk. */
class RemoteChunk {
  constructor(private readonly chunk: Chunk) {}

  private column(name: string, type: ChunkColumn['type']): ChunkColumn {
    const c = this.chunk.columns[name];
    if (c?.type !== type) throw new KairosError('INTERNAL', `chunk column ${name}: expected ${type}, got ${c?.type ?? 'none'}`);
    return c;
  }

  doubles(name: string): Float64Array {
    return (this.column(name, 'DOUBLE') as { values: Float64Array }).values.slice();
  }

  doublesInto(name: string, out: Float64Array, offset: number): void {
    out.set((this.column(name, 'DOUBLE') as { values: Float64Array }).values, offset);
  }

  textsInto(name: string, out: string[]): void {
    for (const v of (this.column(name, 'VARCHAR') as { values: string[] }).values) out.push(v);
  }

  intLists(name: string): ListColumn<Int32Array> {
    return (this.column(name, 'INT_LIST') as { list: ListColumn<Int32Array> }).list;
  }

  doubleLists(name: string): ListColumn<Float64Array> {
    return (this.column(name, 'DOUBLE_LIST') as { list: ListColumn<Float64Array> }).list;
  }
}

interface Pending {
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
  readonly onChunk?: (reader: ChunkReader, count: number) => void;
  readonly onColumns?: (names: readonly string[], types: readonly DuckDBType[]) => void;
}

/**
 * The worker's end: a Store whose statements run on the host's connection (hostStore). Typed as a Store for the code
 * that takes one (scoring runs, ingest); `close()` does nothing (the host owns the connection).
 */
export class RemoteStore {
  private next = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly exposed = new Set<string>();
  /** Columns being exposed in parts (exposeColumns): settles once the host has answered the last part; null: none. */
  private exposing: Promise<void> | null = null;

  constructor(
    readonly path: string,
    private readonly port: MessagePort,
  ) {
    port.on('message', (m: unknown) => this.receive(m as Reply | Chunk | Columns));
  }

  /** This object as the Store it stands for. */
  asStore(): Store {
    return this as unknown as Store;
  }

  private receive(m: Reply | Chunk | Columns): void {
    const p = this.pending.get(m.id);
    if (p === undefined) return;
    if (m.kind === 'chunk') p.onChunk?.(new RemoteChunk(m) as unknown as ChunkReader, m.count);
    else if (m.kind === 'columns') p.onColumns?.(m.names, m.types.map((t) => ({ toString: () => t })) as unknown as DuckDBType[]);
    else if (m.kind === 'reply') {
      this.pending.delete(m.id);
      if (m.error) p.reject(deserialiseError(m.error));
      else p.resolve(m.value);
    }
  }

  /**
   * A call in the order made: posted at once, or behind the parts of columns being exposed (`exposing`), once the last
   * of them is answered (the reactions to one promise run in the order they were added, so the calls keep theirs).
   */
  private call<T>(method: string, args: readonly unknown[], stream?: Pick<Pending, 'onChunk' | 'onColumns'>): Promise<T> {
    if (this.exposing !== null) return this.exposing.then(() => this.post<T>(method, args, stream));
    return this.post(method, args, stream);
  }

  private post<T>(method: string, args: readonly unknown[], stream?: Pick<Pending, 'onChunk' | 'onColumns'>): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, ...stream });
      this.port.postMessage({ kind: 'call', id, method, args } satisfies Call);
    });
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<void> {
    return this.call('run', [sql, params]);
  }

  all<T extends Row = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.call('all', [sql, params]);
  }

  one<T extends Row = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return this.call('one', [sql, params]);
  }

  value<T = unknown>(sql: string, params: readonly SqlValue[] = []): Promise<T> {
    return this.call('value', [sql, params]);
  }

  table(sql: string, params: readonly SqlValue[] = []): Promise<{ columns: string[]; types: string[]; rows: Row[] }> {
    return this.call('table', [sql, params]);
  }

  /** The host sends the texts packed (see packColumns): unpacked here, on the worker's thread. */
  async readColumns(sql: string, params: readonly SqlValue[] = []): Promise<{ numbers: Record<string, Float64Array>; texts: Record<string, string[]> }> {
    const { numbers, packed } = await this.call<PackedColumns>('readColumns', [sql, params]);
    const texts: Record<string, string[]> = {};
    for (const [name, parts] of Object.entries(packed)) {
      const values: string[] = [];
      for (const p of parts) {
        let from = 0;
        for (let i = 0; i < p.rows; i++) {
          const to = p.ends[i] as number;
          values.push(p.text.slice(from, to));
          from = to;
        }
      }
      texts[name] = values;
    }
    return { numbers, texts };
  }

  readNumberColumns(sql: string, params: readonly SqlValue[] = [], rows?: number): Promise<Record<string, Float64Array>> {
    return this.call('readNumberColumns', rows === undefined ? [sql, params] : [sql, params, rows]);
  }

  /**
   * In calls of WRITE_CHUNK rows: the host appends each on the server's JavaScript thread (the clone of the strings,
   * DuckDB's appender), and a million rows in one call stopped it for 1.2 s during a run's TreeSHAP step at 1M customers.
   */
  async writeColumns(table: string, columns: readonly ColumnData[], options: { temporary?: boolean } = {}): Promise<void> {
    const n = columns[0]?.values.length ?? 0;
    if (n <= WRITE_CHUNK) return this.call('writeColumns', [table, columns, options]);
    for (let start = 0; start < n; start += WRITE_CHUNK) {
      const part = columns.map((c) => ({ ...c, values: c.values.slice(start, start + WRITE_CHUNK) }) as ColumnData);
      await this.call('writeColumns', [table, part, { ...options, append: start > 0 }]);
    }
  }

  /**
   * Sent in order with the next calls (the host copies the arrays: later changes here are not seen). Past WRITE_CHUNK
   * rows, in parts of that size, each posted once the host has answered the one before, the calls made meanwhile
   * waiting behind the last, and the texts packed (PackedTexts). The learned scorer's seven columns of a million rows
   * stop the server's thread for 1.4 s sent whole, 1.0 s in parts posted at once (its port takes every message
   * waiting in one turn), 46 ms in parts in turn and 42 ms with the texts packed (bench/worker-transfer.ts, medians);
   * packed, they leave no million young strings to its collector, whose back-to-back collections (20-29 ms each, for
   * a second) showed in a served run at 1M customers with the texts sent as strings.
   */
  exposeColumns(name: string, columns: readonly ColumnData[]): void {
    this.exposed.add(name);
    const n = columns[0]?.values.length ?? 0;
    if (n <= WRITE_CHUNK) {
      void this.call('exposeColumns', [name, columns]).catch(() => undefined);
      return;
    }
    // Numbers as typed arrays (filled in place at the host; a part copied out, as a view would clone its whole buffer), texts packed (see PackedTexts).
    const sent = columns.map((c) => (c.type === 'VARCHAR' || ArrayBuffer.isView(c.values) ? c : { ...c, values: Float64Array.from(c.values, (v) => v ?? Number.NaN) }));
    const send = async (): Promise<void> => {
      for (let start = 0; start < n; start += WRITE_CHUNK) {
        const end = Math.min(n, start + WRITE_CHUNK);
        const part = sent.map((c): SentColumn => (c.type === 'VARCHAR' ? { name: c.name, type: c.type, packed: packTexts(c.values, start, end) } : { name: c.name, type: c.type, values: (c.values as Float64Array).slice(start, end) }));
        // A part the host fails to take is said by the queries on `name()` (no columns exposed), as for a whole one.
        await this.post(EXPOSE_PART, [name, part, start, n]).catch(() => undefined);
      }
    };
    const exposing = (this.exposing ?? Promise.resolve()).then(send);
    this.exposing = exposing;
    // Reacts before the calls queued behind it: the last exposure's end lets the calls made after it go at once.
    void exposing.then(() => {
      if (this.exposing === exposing) this.exposing = null;
    });
  }

  releaseColumns(name: string): void {
    void this.call('releaseColumns', [name]).catch(() => undefined);
  }

  exposesColumns(name: string): boolean {
    return this.exposed.has(name);
  }

  raiseMemoryLimit(factor: number): Promise<{ from: string; to: string } | null> {
    return this.call('raiseMemoryLimit', [factor]);
  }

  setAccess(access: 'read' | 'write'): Promise<void> {
    return this.call('setAccess', [access]);
  }

  forEachChunk(
    sql: string,
    params: readonly SqlValue[],
    onChunk: (reader: ChunkReader, count: number) => void,
    onColumns?: (names: readonly string[], types: readonly DuckDBType[]) => void,
  ): Promise<void> {
    return this.call('forEachChunk', [sql, params], { onChunk, ...(onColumns ? { onColumns } : {}) });
  }

  /** As Store.transaction, on the host's connection. */
  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    return inTransaction((sql) => this.run(sql), fn);
  }

  close(): void {}
}
