// The embedded DuckDB store: opening, bound-parameter queries, transactions, typed column I/O and the one type mapping.
import { existsSync, mkdirSync } from 'node:fs';
import { totalmem } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { dirname, resolve } from 'node:path';
import { createRequire } from 'node:module';
import type * as DuckDBApi from '@duckdb/node-api';
import type {
  DuckDBMaterializedResult,
  DuckDBResult,
  DuckDBResultReader,
  DuckDBType,
  DuckDBValue,
  DuckDBVarCharVector,
  DuckDBVector,
} from '@duckdb/node-api';
import type * as DuckDBBindings from '@duckdb/node-bindings';
import { KairosError, StoreError } from '../errors.js';
import { acquire, lockConflict, type StoreBusy } from './locks.js';
import { migrate } from './migrations.js';
import { DEFAULT_DB_PATH } from './paths.js';
import { PackedTexts } from './packed-texts.js';

// DuckDB's packages are CommonJS, loaded with require: an ESM import of them makes Node lex every file of
// @duckdb/node-api for its exports first, which took 0.74-0.85 s against 0.43-0.46 s for require on this machine, at
// the start of every command that opens a store.
const load = createRequire(import.meta.url);
const {
  DuckDBConnection,
  DuckDBDataChunk,
  DuckDBDateType,
  DuckDBDoubleType,
  DuckDBDoubleVector,
  DuckDBInstance,
  DuckDBIntegerType,
  DuckDBListType,
  DuckDBTableFunction,
  DuckDBTypeId,
  DuckDBVarCharType,
  StatementType,
} = load('@duckdb/node-api') as typeof DuckDBApi;
type DuckDBConnection = DuckDBApi.DuckDBConnection;
type DuckDBDataChunk = DuckDBApi.DuckDBDataChunk;
type DuckDBInstance = DuckDBApi.DuckDBInstance;
type DuckDBTypeId = DuckDBApi.DuckDBTypeId;
type DuckDBListType = DuckDBApi.DuckDBListType;
type DuckDBMapType = DuckDBApi.DuckDBMapType;
type DuckDBStructType = DuckDBApi.DuckDBStructType;
type StatementType = DuckDBApi.StatementType;
// The bindings under @duckdb/node-api, used directly for bulk numeric transfers: node-api's vectors go through one JS
// call per value (and BigInt validity arithmetic), about 10x slower than copying a chunk's buffer.
const bindings = load('@duckdb/node-bindings') as typeof DuckDBBindings.default;

export { DEFAULT_DB_PATH };
export { describeHolder, STORE_RETRY_MS, type StoreBusy } from './locks.js';

/** A value that can be bound to a statement parameter. */
export type SqlValue = string | number | boolean | bigint | null;

/** A row as TypeScript sees it (see `toJs` for the mapping). */
export type Row = Record<string, unknown>;

/**
 * How DuckDB types map to TypeScript, decided once here:
 * BIGINT/HUGEINT/UBIGINT -> number (a string if beyond 2^53), DECIMAL -> number, DATE -> 'YYYY-MM-DD',
 * TIMESTAMP (stored as UTC) -> 'YYYY-MM-DDTHH:MM:SSZ', VARCHAR -> string, JSON -> the parsed value,
 * LIST -> array, STRUCT -> object, MAP -> object of key -> value (VARCHAR keys), DOUBLE inside them -> number.
 */
function toJs(value: unknown, type: DuckDBType): unknown {
  if (value === null || value === undefined) return null;
  switch (type.typeId) {
    case DuckDBTypeId.VARCHAR:
      return type.alias === 'JSON' && typeof value === 'string' ? JSON.parse(value) : value;
    case DuckDBTypeId.DOUBLE:
    case DuckDBTypeId.FLOAT:
      // Nested doubles arrive as text only for NaN and infinities; plain numbers as numbers.
      return typeof value === 'string' ? Number(value) : value;
    case DuckDBTypeId.LIST:
      return (value as unknown[]).map((v) => toJs(v, (type as DuckDBListType).valueType));
    case DuckDBTypeId.MAP: {
      const map = type as DuckDBMapType;
      return Object.fromEntries((value as { key: unknown; value: unknown }[]).map((e) => [String(toJs(e.key, map.keyType)), toJs(e.value, map.valueType)]));
    }
    case DuckDBTypeId.STRUCT: {
      const struct = type as DuckDBStructType;
      const v = value as Record<string, unknown>;
      return Object.fromEntries(struct.entryNames.map((name, i) => [name, toJs(v[name], struct.entryTypes[i] as DuckDBType)]));
    }
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.UHUGEINT: {
      const n = Number(value);
      return Number.isSafeInteger(n) ? n : String(value);
    }
    case DuckDBTypeId.DECIMAL:
      return Number(value);
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_NS:
      return isoTimestamp(String(value));
    case DuckDBTypeId.TIMESTAMP_TZ:
      return isoTimestamp(String(value).replace(/\+00(:00)?$/, ''));
    default:
      return value;
  }
}

/** '2024-01-02 03:04:05' -> '2024-01-02T03:04:05Z' (fractions of a second kept when present). */
export function isoTimestamp(text: string): string {
  return text.includes(' ') ? `${text.replace(' ', 'T')}Z` : text;
}

/** Quotes an identifier for the rare dynamic table or column name. Never use for values: bind them. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Quotes a string literal for the few places DuckDB accepts no parameter (file paths in COPY/read_csv options). */
export function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** A numeric column to write in bulk or expose to SQL. */
export type NumericColumn = Exclude<ColumnData, { type: 'VARCHAR' }>;

/** A typed column to write in bulk. */
export type ColumnData =
  | { name: string; type: 'DOUBLE'; values: Float64Array | readonly (number | null)[] }
  /** Whole numbers; non-finite -> NULL. */
  | { name: string; type: 'INTEGER'; values: Int32Array | Float64Array | readonly (number | null)[] }
  | { name: string; type: 'VARCHAR'; values: readonly (string | null)[] }
  /** Days since 1970-01-01 (whole numbers); non-finite -> NULL. */
  | { name: string; type: 'DATE'; values: Float64Array | Int32Array | readonly (number | null)[] };

/** A column Store.exposeColumns takes: ColumnData, or texts packed in parts (a worker's, see RemoteStore.exposeColumns). */
export type ExposedColumn = ColumnData | { name: string; type: 'VARCHAR'; values: PackedTexts };

export interface StoreOptions {
  /** Open read-only (implies mustExist). */
  readOnly?: boolean;
  /** Refuse to create the store: NOT_FOUND when its file does not exist. */
  mustExist?: boolean;
  /** DuckDB memory_limit, e.g. '1GB' (it spills to disk beyond). */
  memoryLimit?: string;
  /** Forbid queries from reading or writing files (for analysts' queries). */
  noExternalAccess?: boolean;
  /**
   * Seconds to wait for a store another process holds, trying again every STORE_RETRY_MS (default 0: BUSY at once).
   * See "Readers and writers" in store/locks.ts.
   */
  waitSeconds?: number;
  /** Called when the store is found busy, once per wait, before waiting (the CLI prints one line). */
  onWait?: (busy: StoreBusy) => void;
  /**
   * Open the file attached to an in-memory database, so that `setAccess` can give up the write lock and take it back
   * (temp tables, temp views and exposed columns survive): for `kairos score`, which computes with a read lock only.
   */
  switchable?: boolean;
}

/** The catalog name of the store file in a switchable Store (an in-memory database with the file attached). */
const ATTACHED = 'store';

/**
 * `fn` between BEGIN and COMMIT on the connection `run` speaks to; a throw rolls back and is rethrown (a ROLLBACK that
 * fails, because DuckDB already aborted the transaction, is ignored: the original error is what matters). Store and
 * the worker's RemoteStore share it.
 */
export async function inTransaction<T>(run: (sql: string) => Promise<unknown>, fn: () => Promise<T>): Promise<T> {
  await run('BEGIN TRANSACTION');
  try {
    const result = await fn();
    await run('COMMIT');
    return result;
  } catch (err) {
    try {
      await run('ROLLBACK');
    } catch {
      // already aborted by DuckDB
    }
    throw err;
  }
}

/** One open store: a DuckDB instance with one connection. Close it with `close()` (or use `withStore`). */
export class Store {
  /** True while forEachChunk streams a result: any other statement would end that stream early. */
  private streaming = false;
  /** Column sources exposed as table functions (exposeColumns), by function name; null once released. */
  private readonly sources = new Map<string, readonly ExposedColumn[] | null>();
  /**
   * Functions registered since the open transaction began (null: none open). DuckDB's catalog is transactional: a
   * ROLLBACK drops them, so they are forgotten then and registered again on the next exposeColumns.
   */
  private registeredInTransaction: string[] | null = null;
  /** True for a Store made by `connectAgain`: it closes its connection only, the instance belongs to the first. */
  private sharesInstance = false;

  private constructor(
    readonly path: string,
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    private readonly options: StoreOptions,
    /** True for a switchable store: the file is attached (as ATTACHED) to an in-memory database. */
    private readonly attached: boolean,
    /** What the store may do now ('none': a switchable store between two locks). */
    private access: 'read' | 'write' | 'none',
  ) {}

  private checkIdle(sql: string): void {
    if (this.streaming) {
      throw new KairosError('INTERNAL', `a statement was issued while a result was streaming: ${sql.replace(/\s+/g, ' ').slice(0, 80)}`);
    }
  }

  /**
   * Opens (creating if needed, unless read-only or `mustExist`) the store at `path` and brings its schema up to date.
   * A store another process holds is waited for up to `waitSeconds` (see "Readers and writers" in store/locks.ts).
   */
  static async open(path: string = DEFAULT_DB_PATH, options: StoreOptions = {}): Promise<Store> {
    const file = path === ':memory:' ? path : resolve(path);
    if (file !== ':memory:') {
      if ((options.readOnly || options.mustExist) && !existsSync(file)) {
        throw new KairosError('NOT_FOUND', `no store at ${file}`, { hint: 'run `kairos ingest` or `kairos demo` first, or pass --db PATH' });
      }
      mkdirSync(dirname(file), { recursive: true });
    }
    // Give freed memory back to the system soon after each query (DuckDB's defaults keep up to 128 MB, and up to
    // 512 MB after a bulk free, in its allocator's caches, and purge them only on demand): the models run in the same
    // process right after the SQL, and their arrays would otherwise come on top of memory DuckDB no longer uses.
    // See also store/allocator.ts, which sets how soon the freed pages go back, before DuckDB is loaded.
    const config: Record<string, string> = {
      allocator_flush_threshold: '16MB',
      allocator_bulk_deallocation_flush_threshold: '32MB',
      allocator_background_threads: 'true',
    };
    if (options.memoryLimit) config['memory_limit'] = options.memoryLimit;
    if (options.noExternalAccess) config['enable_external_access'] = 'false';
    const switchable = options.switchable === true && file !== ':memory:' && !options.readOnly;
    // A switchable store spills where the file's own database would (an in-memory one would use ./.tmp).
    if (switchable) config['temp_directory'] = `${file}.tmp`;
    else if (options.readOnly) config['access_mode'] = 'READ_ONLY';
    let instance: DuckDBInstance;
    try {
      instance = await (switchable ? DuckDBInstance.create(':memory:', config) : acquire(file, options, () => DuckDBInstance.create(file, config)));
    } catch (cause) {
      if (cause instanceof KairosError) throw cause;
      throw new KairosError('STORE', `cannot open store ${file}: ${(cause as Error).message}`, { cause, hint: 'is the file a DuckDB database?' });
    }
    const connection = await instance.connect();
    const store = new Store(file, instance, connection, options, switchable, switchable ? 'none' : options.readOnly ? 'read' : 'write');
    try {
      // Everything is stored and computed in UTC, whatever the machine's zone.
      await store.run("SET TimeZone = 'UTC'");
      if (switchable) await store.setAccess('write');
      if (!options.readOnly) await migrate(store);
    } catch (err) {
      store.close();
      throw err;
    }
    return store;
  }

  /**
   * Switches a switchable store between reading (a shared lock: other readers keep reading, writers wait) and writing
   * (the exclusive lock, waited for as in `open`), by attaching the file again: temp tables, temp views and exposed
   * columns stay. The store is unusable if taking the new lock fails. On other stores, 'read' keeps what the store
   * has (a write lock is also good for reading) and 'write' is refused on a read-only store.
   */
  async setAccess(access: 'read' | 'write'): Promise<void> {
    if (this.access === access) return;
    if (!this.attached) {
      if (access === 'write') throw new KairosError('INTERNAL', `the store ${this.path} is open read-only`);
      return;
    }
    if (this.access !== 'none') {
      await this.run('USE memory');
      await this.run(`DETACH ${ATTACHED}`);
      this.access = 'none';
    }
    const mode = access === 'read' ? ' (READ_ONLY)' : '';
    await acquire(this.path, this.options, async () => {
      try {
        await this.connection.run(`ATTACH ${quoteLiteral(this.path)} AS ${ATTACHED}${mode}`);
      } catch (cause) {
        if (lockConflict(cause, this.path, 0)) throw cause;
        throw new KairosError('STORE', `cannot open store ${this.path}: ${(cause as Error).message}`, { cause, hint: 'is the file a DuckDB database?' });
      }
    });
    await this.run(`USE ${ATTACHED}`);
    this.access = access;
  }

  /** Runs a statement with bound parameters (`?` or `$1`), returning nothing. */
  async run(sql: string, params: readonly SqlValue[] = []): Promise<void> {
    this.checkIdle(sql);
    const control = /^\s*(BEGIN|COMMIT|ROLLBACK|ABORT|END)\b/i.exec(sql)?.[1]?.toUpperCase();
    try {
      await this.connection.run(sql, params as DuckDBValue[]);
      if (control === 'BEGIN') this.registeredInTransaction = [];
      else if (control === 'COMMIT' || control === 'END') this.registeredInTransaction = null;
    } catch (cause) {
      throw new StoreError(`query failed: ${(cause as Error).message}`, sql, params, cause);
    } finally {
      // A rollback (even one that fails because DuckDB aborted the transaction already) leaves no function it made.
      if (control === 'ROLLBACK' || control === 'ABORT') {
        for (const name of this.registeredInTransaction ?? []) this.sources.delete(name);
        this.registeredInTransaction = null;
      }
    }
  }

  /** Runs a query with bound parameters and returns its rows as plain objects. */
  async all<T extends Row = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    const reader = await this.read(sql, params);
    return rowsOf(reader) as T[];
  }

  /** Runs a query and returns its first row, or undefined. */
  async one<T extends Row = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  /**
   * Raises DuckDB's memory limit `factor` times, to at most 80% of the machine's memory (DuckDB's own default): for a
   * step that failed on an operator DuckDB cannot spill. Returns the limits before and after as DuckDB shows them, or
   * null when the limit cannot grow.
   */
  async raiseMemoryLimit(factor: number): Promise<{ from: string; to: string } | null> {
    const from = String(await this.value("SELECT current_setting('memory_limit')"));
    const bytes = memoryBytes(from);
    const cap = Math.floor(totalmem() * 0.8);
    const target = Math.min(cap, Math.floor(bytes * factor));
    if (!(bytes > 0) || target <= bytes * 1.01) return null;
    await this.run(`SET memory_limit = '${Math.floor(target / 2 ** 20)}MiB'`);
    return { from, to: String(await this.value("SELECT current_setting('memory_limit')")) };
  }

  /** Runs a query returning one value (first column of the first row). */
  async value<T = unknown>(sql: string, params: readonly SqlValue[] = []): Promise<T> {
    const row = await this.one(sql, params);
    return (row === undefined ? undefined : Object.values(row)[0]) as T;
  }

  /** Runs a query and returns column names, DuckDB type names and rows (for `kairos sql`). */
  async table(sql: string, params: readonly SqlValue[] = []): Promise<{ columns: string[]; types: string[]; rows: Row[] }> {
    const reader = await this.read(sql, params);
    return {
      columns: reader.deduplicatedColumnNames(),
      types: reader.columnTypes().map((t) => t.toString()),
      rows: rowsOf(reader),
    };
  }

  /**
   * Runs one analyst query that cannot change anything: a single SELECT (or EXPLAIN) statement. With the store
   * opened read-only and without external access, DuckDB itself also refuses writes and file access. With `limit`,
   * only the first `limit` rows are returned.
   */
  async readOnlyQuery(sql: string, limit?: number): Promise<{ columns: string[]; types: string[]; rows: Row[] }> {
    let statementType: StatementType;
    try {
      const extracted = await this.connection.extractStatements(sql);
      if (extracted.count !== 1) throw new KairosError('USAGE', `expected one SQL statement, got ${extracted.count}`);
      const prepared = await extracted.prepare(0);
      statementType = prepared.statementType;
    } catch (cause) {
      if (cause instanceof KairosError) throw cause;
      throw new KairosError('USAGE', `invalid SQL: ${(cause as Error).message}`, { cause });
    }
    if (statementType !== StatementType.SELECT && statementType !== StatementType.EXPLAIN) {
      throw new KairosError('USAGE', 'only SELECT queries are allowed here (the store is read-only for `kairos sql`)');
    }
    if (limit === undefined) return this.table(sql);
    // The first `limit` rows read from the result as it streams, not a wrapping `SELECT * FROM (...) LIMIT n`: that
    // is no valid SQL around PRAGMA, SHOW, DESCRIBE or EXPLAIN. DuckDB stops computing once enough chunks are read.
    this.checkIdle(sql);
    let reader: DuckDBResultReader;
    try {
      reader = await this.connection.streamAndReadUntil(sql, limit);
    } catch (cause) {
      throw new StoreError(`query failed: ${(cause as Error).message}`, sql, [], cause);
    }
    return {
      columns: reader.deduplicatedColumnNames(),
      types: reader.columnTypes().map((t) => t.toString()),
      rows: rowsOf(reader).slice(0, Math.max(0, Math.trunc(limit))),
    };
  }

  /**
   * Reads a query column by column: VARCHAR columns as string arrays, all others as Float64Arrays (NULL -> NaN:
   * callers check). The fast path for models, which work on typed arrays.
   */
  async readColumns(sql: string, params: readonly SqlValue[] = []): Promise<{ numbers: Record<string, Float64Array>; texts: Record<string, string[]> }> {
    // Materialized, not streamed: a streaming result is cut short, silently, by any other query on this connection
    // while its chunks are being read (e.g. a concurrent call on the same Store).
    this.checkIdle(sql);
    let result: DuckDBMaterializedResult;
    try {
      result = await this.connection.run(sql, params as DuckDBValue[]);
    } catch (cause) {
      throw new StoreError(`query failed: ${(cause as Error).message}`, sql, params, cause);
    }
    const names = result.columnNames();
    const isText = result.columnTypes().map((t) => t.typeId === DuckDBTypeId.VARCHAR);
    const rows = result.rowCount;
    // Chunk by chunk, straight from the vectors into the output arrays: no per-row JS arrays of DuckDB values.
    const numbers: Record<string, Float64Array> = {};
    const texts: Record<string, string[]> = {};
    const numberColumns = names.map((name, c) => (isText[c] ? null : (numbers[name] = new Float64Array(rows))));
    const textColumns = names.map((name, c) => (isText[c] ? (texts[name] = []) : null));
    let offset = 0;
    for (;;) {
      const chunk = await result.fetchChunk();
      if (chunk === null || chunk.rowCount === 0) break;
      const count = chunk.rowCount;
      for (let c = 0; c < names.length; c++) {
        const vector = chunk.getColumnVector(c);
        const text = textColumns[c];
        if (text) appendTexts(vector as DuckDBVarCharVector, count, text);
        else if (vector instanceof DuckDBDoubleVector) copyDoubles(chunk, c, count, numberColumns[c] as Float64Array, offset);
        else readNumbers(vector, count, numberColumns[c] as Float64Array, offset);
      }
      offset += count;
    }
    return { numbers, texts };
  }

  /**
   * Streams a query whose columns are all DOUBLE into Float64Arrays, chunk by chunk, copying each vector's buffer:
   * DuckDB never materializes the result and no JS value is made per row (NULL -> NaN: callers check). Give `rows`
   * when the row count is known (e.g. a table's count) to fill the arrays in place; otherwise they grow.
   */
  async readNumberColumns(sql: string, params: readonly SqlValue[] = [], rows?: number): Promise<Record<string, Float64Array>> {
    let names: readonly string[] = [];
    let capacity = rows ?? 65_536;
    let columns: Float64Array[] = [];
    let offset = 0;
    const onColumns = (columnNames: readonly string[], types: readonly DuckDBType[]): void => {
      const other = types.findIndex((t) => t.typeId !== DuckDBTypeId.DOUBLE);
      if (other >= 0) throw new KairosError('INTERNAL', `column ${columnNames[other]} is not DOUBLE (cast it in the query)`);
      names = columnNames;
      columns = names.map(() => new Float64Array(capacity));
    };
    const onChunk = (chunk: ChunkReader, count: number): void => {
      if (offset + count > capacity) {
        if (rows !== undefined) throw new KairosError('INTERNAL', `readNumberColumns: more than the ${rows} rows announced`);
        capacity = Math.max(2 * capacity, offset + count);
        columns = columns.map((c) => {
          const grown = new Float64Array(capacity);
          grown.set(c.subarray(0, offset));
          return grown;
        });
      }
      names.forEach((name, c) => chunk.doublesInto(name, columns[c] as Float64Array, offset));
      offset += count;
    };
    await this.forEachChunk(sql, params, onChunk, onColumns);
    if (rows !== undefined && offset !== rows) throw new KairosError('INTERNAL', `readNumberColumns: ${offset} rows read, ${rows} announced`);
    const out: Record<string, Float64Array> = {};
    names.forEach((name, c) => {
      const col = columns[c] as Float64Array;
      out[name] = offset === col.length ? col : col.slice(0, offset);
    });
    return out;
  }

  /**
   * Streams a query chunk by chunk to `onChunk`, which reads the columns it needs from the chunk's buffers through
   * `reader` (DOUBLE columns, and LIST columns of INTEGER or DOUBLE): for aggregating in JS without holding the
   * result. The arrays are valid only during the call. `onColumns` gets the result's names and types first, even
   * when it has no rows. No other statement may run on this Store meanwhile (checked).
   */
  async forEachChunk(
    sql: string,
    params: readonly SqlValue[],
    onChunk: (reader: ChunkReader, count: number) => void,
    onColumns?: (names: readonly string[], types: readonly DuckDBType[]) => void,
  ): Promise<void> {
    this.checkIdle(sql);
    this.streaming = true;
    let chunks: ReturnType<typeof prefetching> | undefined;
    try {
      let result;
      try {
        result = await this.connection.stream(sql, params as DuckDBValue[]);
      } catch (cause) {
        throw new StoreError(`query failed: ${(cause as Error).message}`, sql, params, cause);
      }
      const names = result.columnNames();
      const types = result.columnTypes();
      onColumns?.(names, types);
      chunks = prefetching(result, sql, params);
      let chunkCount = 0;
      for (;;) {
        const chunk = await chunks.next();
        if (chunk === null) break;
        onChunk(new ChunkReader(chunk, names, types), chunk.rowCount);
        // Each chunk leaves ~150 KB of buffer copies (the bindings copy every vector they hand out); V8 collects them
        // only after tens of MB of such garbage, which at a million rows showed as 30-60 MB on the peak resident
        // memory. A young-generation collection every 16 chunks (~1 ms) keeps them from piling up.
        if (++chunkCount % 16 === 0) collectYoungGarbage();
      }
    } finally {
      await chunks?.settle();
      this.streaming = false;
    }
  }

  /**
   * Exposes JS columns of equal length to SQL as the table function `name()`, read chunk by chunk straight from the
   * arrays (numbers buffer by buffer; VARCHAR value by value): a query (e.g. `SELECT ... FROM t POSITIONAL JOIN
   * name()`) uses them without their being copied into a table first. The arrays must not change until
   * `releaseColumns(name)`; exposing again replaces them.
   */
  exposeColumns(name: string, columns: readonly ExposedColumn[]): void {
    const n = columns[0]?.values.length ?? 0;
    for (const c of columns) {
      if (c.values.length !== n) throw new KairosError('INTERNAL', `column ${c.name} has ${c.values.length} values, expected ${n}`);
    }
    const registered = this.sources.has(name);
    this.sources.set(name, columns);
    if (registered) return;
    this.registeredInTransaction?.push(name);
    // Registered once per name and connection (DuckDB keeps functions for the connection's life); each query binds
    // to the columns exposed at that moment. One scanning thread: chunks are produced in row order.
    const fn = DuckDBTableFunction.create({
      name,
      bindFunction: (info) => {
        const source = this.sources.get(name);
        if (!source) return info.setError(`${name}(): no columns exposed (released)`);
        for (const c of source) info.addResultColumn(c.name, COLUMN_TYPES[c.type]);
        info.setBindData({ columns: source });
        info.setCardinality(source[0]?.values.length ?? 0, true);
      },
      initFunction: (info) => {
        info.setMaxThreads(1);
        info.setInitData({ position: 0 });
      },
      mainFunction: (info, output) => {
        try {
          const { columns: source } = info.bindData as { columns: readonly ExposedColumn[] };
          const state = info.initData as { position: number };
          const rows = source[0]?.values.length ?? 0;
          const start = state.position;
          const end = Math.min(rows, start + bindings.vector_size());
          output.rowCount = end - start;
          source.forEach((c, ci) => {
            if (c.type !== 'VARCHAR') return copyIntoVector(output, ci, c, start, end);
            const vector = output.getColumnVector(ci) as DuckDBVarCharVector;
            fillTexts(vector, c.values, start, end);
            vector.flush();
          });
          state.position = end;
        } catch (err) {
          info.setError(`${name}(): ${(err as Error).message}`);
        }
      },
    });
    this.connection.registerTableFunction(fn);
  }

  /** Ends exposeColumns: the arrays are no longer referenced and `name()` fails until exposed again. */
  releaseColumns(name: string): void {
    if (this.sources.has(name)) this.sources.set(name, null);
  }

  /** Whether `name` is a table function made by exposeColumns. */
  exposesColumns(name: string): boolean {
    return this.sources.has(name);
  }

  /** Creates (or replaces) a table from typed columns of equal length, appended in chunks. */
  async writeColumns(table: string, columns: readonly ColumnData[], options: { temporary?: boolean; append?: boolean } = {}): Promise<void> {
    const n = columns[0]?.values.length ?? 0;
    for (const c of columns) {
      if (c.values.length !== n) throw new KairosError('INTERNAL', `column ${c.name} has ${c.values.length} values, expected ${n}`);
    }
    const ddl = columns.map((c) => `${quoteIdentifier(c.name)} ${c.type}`).join(', ');
    // `append`: the rows go after those of the table written by the previous call (RemoteStore's chunks).
    if (!options.append) await this.run(`CREATE OR REPLACE ${options.temporary ? 'TEMP ' : ''}TABLE ${quoteIdentifier(table)} (${ddl})`);
    const types: DuckDBType[] = columns.map((c) => COLUMN_TYPES[c.type]);
    const appender = await this.connection.createAppender(table);
    try {
      const size = bindings.vector_size();
      for (let start = 0; start < n; start += size) {
        const end = Math.min(n, start + size);
        const chunk = DuckDBDataChunk.create(types, end - start);
        columns.forEach((c, ci) => {
          if (c.type === 'VARCHAR') {
            const vector = chunk.getColumnVector(ci) as DuckDBVarCharVector;
            fillTexts(vector, c.values, start, end);
            vector.flush();
          } else {
            copyIntoVector(chunk, ci, c, start, end);
          }
        });
        appender.appendDataChunk(chunk);
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
  }

  /**
   * Runs statements in one transaction sent to DuckDB in one call: one round trip through the bindings instead of one
   * per statement and two for the transaction's ends (0.4-1.5 ms each under kairos serve). DuckDB binds no parameter
   * across statements, so they carry no value of a user's: identifiers and numbers of the caller's own only. Rolled
   * back if one fails. Inside a transaction already, they run one by one in it.
   */
  async runScript(statements: readonly string[]): Promise<void> {
    if (this.registeredInTransaction !== null) {
      for (const sql of statements) await this.run(sql);
      return;
    }
    const sql = ['BEGIN TRANSACTION', ...statements, 'COMMIT'].join(';\n');
    this.checkIdle(sql);
    try {
      await this.connection.run(sql);
    } catch (cause) {
      // A statement failed after BEGIN ran: the transaction is still open.
      await this.connection.run('ROLLBACK').catch(() => {});
      throw new StoreError(`query failed: ${(cause as Error).message}`, sql, [], cause);
    }
  }

  /** Runs `fn` in one transaction: committed if it returns, rolled back (store unchanged) if it throws. */
  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    return inTransaction((sql) => this.run(sql), fn);
  }

  /**
   * A second Store on this one's DuckDB instance, with its own connection (its own transactions, temp tables and
   * exposed columns): for a scoring run inside `kairos serve` while the first connection answers reads. Its `close()`
   * closes its connection only. Not for switchable stores (their file lock switches per connection).
   */
  async connectAgain(): Promise<Store> {
    if (this.attached) throw new KairosError('INTERNAL', 'connectAgain on a switchable store');
    const other = new Store(this.path, this.instance, await this.instance.connect(), this.options, false, this.access);
    other.sharesInstance = true;
    await other.run("SET TimeZone = 'UTC'");
    return other;
  }

  /** Closes the connection and the database (checkpointing the file); only the connection for a `connectAgain` store. */
  close(): void {
    this.connection.closeSync();
    if (!this.sharesInstance) this.instance.closeSync();
  }

  private async read(sql: string, params: readonly SqlValue[]): Promise<DuckDBResultReader> {
    this.checkIdle(sql);
    try {
      return await this.connection.runAndReadAll(sql, params as DuckDBValue[]);
    } catch (cause) {
      throw new StoreError(`query failed: ${(cause as Error).message}`, sql, params, cause);
    }
  }
}

const COLUMN_TYPES: Record<ColumnData['type'], DuckDBType> = {
  DOUBLE: DuckDBDoubleType.instance,
  INTEGER: DuckDBIntegerType.instance,
  VARCHAR: DuckDBVarCharType.instance,
  DATE: DuckDBDateType.instance,
};

/**
 * Copies values[start, end) of a numeric column into a fresh chunk's vector as one buffer (DOUBLE as is; INTEGER and
 * DATE, both 32-bit, as whole numbers); non-finite values and nulls become NULL through the validity mask.
 */
function copyIntoVector(chunk: DuckDBDataChunk, column: number, c: NumericColumn, start: number, end: number): void {
  const count = end - start;
  const vector = bindings.data_chunk_get_vector(chunk.chunk, column);
  const values = c.values;
  let invalid: number[] | undefined;
  for (let i = 0; i < count; i++) {
    const v = values[start + i];
    if (!(typeof v === 'number' && Number.isFinite(v))) (invalid ??= []).push(i);
  }
  if (c.type === 'DOUBLE' && values instanceof Float64Array && values.buffer instanceof ArrayBuffer) {
    // Straight from the caller's array: no copy in JS (the bytes of NULL rows do not matter).
    bindings.copy_data_to_vector(vector, 0, values.buffer, values.byteOffset + 8 * start, 8 * count);
  } else {
    const data = c.type === 'DOUBLE' ? scratch.doubles : scratch.ints;
    for (let i = 0; i < count; i++) {
      const v = values[start + i];
      data[i] = typeof v === 'number' && Number.isFinite(v) ? v : 0;
    }
    bindings.copy_data_to_vector(vector, 0, data.buffer, data.byteOffset, count * data.BYTES_PER_ELEMENT);
  }
  if (invalid) {
    const mask = new Uint8Array(Math.ceil(count / 64) * 8).fill(0xff);
    for (const i of invalid) mask[i >> 3] = (mask[i >> 3] as number) & ~(1 << (i & 7));
    bindings.vector_ensure_validity_writable(vector);
    bindings.copy_data_to_vector_validity(vector, 0, mask.buffer, mask.byteOffset, mask.byteLength);
  }
}

/** Reused conversion buffers of one chunk (a chunk is copied into DuckDB before the next is filled). */
const scratch = { doubles: new Float64Array(bindings.vector_size()), ints: new Int32Array(bindings.vector_size()) };

/**
 * A young-generation garbage collection, now. V8 exposes its collector only with --expose-gc; the flag is set at run
 * time, once, and the function taken from a fresh context (the documented way to reach it without a command-line
 * flag). Where that is refused, this does nothing: the garbage is then collected when V8 decides.
 */
const collectYoungGarbage: () => void = (() => {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as (options?: { type: 'minor' | 'major' }) => void;
    if (typeof gc !== 'function') return () => {};
    return () => gc({ type: 'minor' });
  } catch {
    return () => {};
  }
})();

/**
 * The chunks of a streaming result, one fetch ahead: while JS works on chunk i, DuckDB produces chunk i + 1 (each
 * fetch is an asynchronous round trip to DuckDB's threads). A fetch is only asked for once the previous one has come
 * back, so DuckDB never sees two at once. `next` resolves null at the end; `settle` waits for a fetch still in flight
 * (when the reader stops early, e.g. on an error), so that no statement can start while it runs.
 */
function prefetching(result: DuckDBResult, sql: string, params: readonly SqlValue[]): { next(): Promise<DuckDBDataChunk | null>; settle(): Promise<void> } {
  const fetch = (): Promise<DuckDBDataChunk | null> =>
    result.fetchChunk().then(
      (chunk) => (chunk === null || chunk.rowCount === 0 ? null : chunk),
      (cause: unknown) => {
        throw new StoreError(`query failed: ${(cause as Error).message}`, sql, params, cause);
      },
    );
  let pending: Promise<DuckDBDataChunk | null> | null = fetch();
  return {
    async next() {
      if (pending === null) return null;
      const current = pending;
      pending = null;
      const chunk = await current;
      if (chunk !== null) pending = fetch();
      return chunk;
    },
    async settle() {
      const current = pending;
      pending = null;
      if (current) await current.catch(() => undefined);
    },
  };
}

/** A LIST column of a chunk: row i's items are values[offsets[i] .. offsets[i] + lengths[i]). */
export interface ListColumn<V extends Float64Array | Int32Array> {
  readonly offsets: Uint32Array;
  readonly lengths: Uint32Array;
  readonly values: V;
}

/** Typed access to one streamed chunk's buffers (see Store.forEachChunk). NULL lists and NULL items are refused. */
export class ChunkReader {
  constructor(
    private readonly chunk: DuckDBDataChunk,
    private readonly names: readonly string[],
    private readonly types: readonly DuckDBType[],
  ) {}

  private column(name: string, typeId: DuckDBTypeId, child?: DuckDBTypeId): number {
    const c = this.names.indexOf(name);
    const type = this.types[c];
    const childType = type instanceof DuckDBListType ? type.valueType.typeId : undefined;
    if (c < 0 || type?.typeId !== typeId || childType !== child) {
      throw new KairosError('INTERNAL', `chunk column ${name}: expected ${DuckDBTypeId[typeId]}${child === undefined ? '' : `(${DuckDBTypeId[child]})`}, got ${type ?? 'none'}`);
    }
    return c;
  }

  /** A DOUBLE column (NULL -> NaN), copied. */
  doubles(name: string): Float64Array {
    const out = new Float64Array(this.chunk.rowCount);
    this.doublesInto(name, out, 0);
    return out;
  }

  /** A DOUBLE column (NULL -> NaN) copied into out[offset...]. */
  doublesInto(name: string, out: Float64Array, offset: number): void {
    copyDoubles(this.chunk, this.column(name, DuckDBTypeId.DOUBLE), this.chunk.rowCount, out, offset);
  }

  /** A VARCHAR column appended to out (NULL -> ''). */
  textsInto(name: string, out: string[]): void {
    appendTexts(this.chunk.getColumnVector(this.column(name, DuckDBTypeId.VARCHAR)) as DuckDBVarCharVector, this.chunk.rowCount, out);
  }

  /** A LIST(INTEGER) column. */
  intLists(name: string): ListColumn<Int32Array> {
    return this.lists(this.column(name, DuckDBTypeId.LIST, DuckDBTypeId.INTEGER), 4, (b, n) => new Int32Array(b.buffer, b.byteOffset, n));
  }

  /** A LIST(DOUBLE) column. */
  doubleLists(name: string): ListColumn<Float64Array> {
    return this.lists(this.column(name, DuckDBTypeId.LIST, DuckDBTypeId.DOUBLE), 8, (b, n) => new Float64Array(b.buffer, b.byteOffset, n));
  }

  private lists<V extends Float64Array | Int32Array>(c: number, width: number, view: (bytes: Uint8Array, n: number) => V): ListColumn<V> {
    const count = this.chunk.rowCount;
    const vector = bindings.data_chunk_get_vector(this.chunk.chunk, c);
    // duckdb_list_entry: { uint64 offset; uint64 length } per row, little-endian; a chunk's lists hold < 2^32 items.
    const entries = aligned(bindings.vector_get_data(vector, count * 16), 4);
    const words = new Uint32Array(entries.buffer, entries.byteOffset, count * 4);
    const offsets = new Uint32Array(count);
    const lengths = new Uint32Array(count);
    for (let i = 0; i < count; i++) {
      if (words[4 * i + 1] !== 0 || words[4 * i + 3] !== 0) throw new KairosError('INTERNAL', 'list entry beyond 2^32 items');
      offsets[i] = words[4 * i] as number;
      lengths[i] = words[4 * i + 2] as number;
    }
    checkAllValid(vector, count, 'list');
    const child = bindings.list_vector_get_child(vector);
    const size = bindings.list_vector_get_size(vector);
    const data = aligned(bindings.vector_get_data(child, size * width), width);
    checkAllValid(child, size, 'list item');
    return { offsets, lengths, values: view(data, size) };
  }
}

/** The bytes at an address aligned for `width`-byte values (a copy when they are not). */
function aligned(bytes: Uint8Array, width: number): Uint8Array {
  return bytes.byteOffset % width === 0 ? bytes : bytes.slice();
}

function checkAllValid(vector: ReturnType<typeof bindings.data_chunk_get_vector>, count: number, what: string): void {
  const validity = bindings.vector_get_validity(vector, Math.ceil(count / 64) * 8);
  if (!validity) return;
  const full = count >> 3;
  for (let b = 0; b < full; b++) if (validity[b] !== 0xff) throw new KairosError('INTERNAL', `a ${what} is NULL`);
  for (let i = full * 8; i < count; i++) {
    if (!(((validity[i >> 3] as number) >> (i & 7)) & 1)) throw new KairosError('INTERNAL', `a ${what} is NULL`);
  }
}

/** Copies one DOUBLE result vector of a chunk into out[offset...], NULL -> NaN. */
function copyDoubles(chunk: DuckDBDataChunk, column: number, count: number, out: Float64Array, offset: number): void {
  const vector = bindings.data_chunk_get_vector(chunk.chunk, column);
  const bytes = bindings.vector_get_data(vector, count * 8);
  const aligned = bytes.byteOffset % 8 === 0 ? bytes : bytes.slice();
  out.set(new Float64Array(aligned.buffer, aligned.byteOffset, count), offset);
  const validity = bindings.vector_get_validity(vector, Math.ceil(count / 64) * 8);
  if (!validity) return;
  for (let b = 0; b < validity.length; b++) {
    const byte = validity[b] as number;
    if (byte === 0xff) continue;
    for (let bit = 0; bit < 8; bit++) {
      const i = b * 8 + bit;
      if (i < count && !((byte >> bit) & 1)) out[offset + i] = Number.NaN;
    }
  }
}

function fillTexts(vector: DuckDBVarCharVector, values: readonly (string | null)[] | PackedTexts, start: number, end: number): void {
  if (values instanceof PackedTexts) {
    for (let i = start; i < end; i++) vector.setItem(i - start, values.value(i) ?? null);
    return;
  }
  for (let i = start; i < end; i++) vector.setItem(i - start, values[i] ?? null);
}

/** One result vector as numbers into out[offset...]: DOUBLE read as is, other types through Number(); NULL -> NaN. */
function readNumbers(vector: DuckDBVector, count: number, out: Float64Array, offset: number): void {
  if (vector instanceof DuckDBDoubleVector) {
    for (let i = 0; i < count; i++) out[offset + i] = vector.getItem(i) ?? Number.NaN;
  } else {
    for (let i = 0; i < count; i++) {
      const v = vector.getItem(i);
      out[offset + i] = v === null || v === undefined ? Number.NaN : Number(v);
    }
  }
}

/** Appends one VARCHAR result vector to `out` (NULL -> ''). */
function appendTexts(vector: DuckDBVarCharVector, count: number, out: string[]): void {
  for (let i = 0; i < count; i++) out.push(vector.getItem(i) ?? '');
}

function rowsOf(reader: DuckDBResultReader): Row[] {
  const names = reader.deduplicatedColumnNames();
  const types = reader.columnTypes();
  const rows = reader.getRowsJson();
  return rows.map((values) => {
    const row: Row = {};
    names.forEach((name, i) => {
      row[name] = toJs(values[i], types[i] as DuckDBType);
    });
    return row;
  });
}

/** Opens the store, runs `fn`, and closes the store in `finally`. */
export async function withStore<T>(
  path: string,
  fn: (store: Store) => Promise<T>,
  options: StoreOptions = {},
): Promise<T> {
  const store = await Store.open(path, options);
  try {
    return await fn(store);
  } finally {
    store.close();
  }
}

/** DuckDB's error when an operator it cannot spill to disk needs more than the memory limit. */
export function isOutOfMemory(err: unknown): boolean {
  return err instanceof KairosError && /Out of Memory Error/.test(err.message);
}

/** Bytes of a memory size as DuckDB prints it ("244.1 MiB", "1.5 GiB", "512.0 KiB"); NaN when unreadable. */
export function memoryBytes(text: string): number {
  const m = /^\s*([0-9.]+)\s*(bytes|B|KiB|MiB|GiB|TiB|KB|MB|GB|TB)\s*$/i.exec(text);
  if (!m) return Number.NaN;
  const units: Record<string, number> = { b: 1, bytes: 1, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12 };
  return Number(m[1]) * (units[(m[2] ?? '').toLowerCase()] ?? Number.NaN);
}
