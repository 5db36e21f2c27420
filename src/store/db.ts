// The embedded DuckDB store: opening, bound-parameter queries, transactions, typed column I/O and the one type mapping.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  DuckDBConnection,
  DuckDBDataChunk,
  DuckDBDateType,
  DuckDBDateValue,
  DuckDBDoubleType,
  DuckDBDoubleVector,
  DuckDBInstance,
  DuckDBIntegerType,
  DuckDBTypeId,
  DuckDBVarCharType,
  StatementType,
  type DuckDBDateVector,
  type DuckDBIntegerVector,
  type DuckDBMaterializedResult,
  type DuckDBResultReader,
  type DuckDBType,
  type DuckDBValue,
  type DuckDBVarCharVector,
  type DuckDBVector,
} from '@duckdb/node-api';
import { KairosError, StoreError } from '../errors.js';
import { migrate } from './migrations.js';

/** A value that can be bound to a statement parameter. */
export type SqlValue = string | number | boolean | bigint | null;

/** A row as TypeScript sees it (see `toJs` for the mapping). */
export type Row = Record<string, unknown>;

/** Default path of the store file. */
export const DEFAULT_DB_PATH = 'kairos.duckdb';

/**
 * How DuckDB types map to TypeScript, decided once here:
 * BIGINT/HUGEINT/UBIGINT -> number (a string if beyond 2^53), DECIMAL -> number, DATE -> 'YYYY-MM-DD',
 * TIMESTAMP (stored as UTC) -> 'YYYY-MM-DDTHH:MM:SSZ', JSON/VARCHAR -> string, lists/structs -> arrays/objects.
 */
function toJs(value: unknown, typeId: DuckDBTypeId): unknown {
  if (value === null || value === undefined) return null;
  switch (typeId) {
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

/** A typed column to write in bulk. */
export type ColumnData =
  | { name: string; type: 'DOUBLE'; values: Float64Array | readonly (number | null)[] }
  | { name: string; type: 'INTEGER'; values: Int32Array | readonly (number | null)[] }
  | { name: string; type: 'VARCHAR'; values: readonly (string | null)[] }
  /** Days since 1970-01-01 (whole numbers); non-finite -> NULL. */
  | { name: string; type: 'DATE'; values: Float64Array | Int32Array | readonly (number | null)[] };

export interface StoreOptions {
  readOnly?: boolean;
  /** DuckDB memory_limit, e.g. '1GB' (it spills to disk beyond). */
  memoryLimit?: string;
  /** Forbid queries from reading or writing files (for analysts' queries). */
  noExternalAccess?: boolean;
}

/** One open store: a DuckDB instance with one connection. Close it with `close()` (or use `withStore`). */
export class Store {
  private constructor(
    readonly path: string,
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
  ) {}

  /** Opens (creating if needed) the store at `path` and brings its schema up to date. */
  static async open(path: string = DEFAULT_DB_PATH, options: StoreOptions = {}): Promise<Store> {
    const file = path === ':memory:' ? path : resolve(path);
    if (file !== ':memory:') {
      if (options.readOnly && !existsSync(file)) {
        throw new KairosError('NOT_FOUND', `no store at ${file}`, { hint: 'run `kairos ingest` or `kairos demo` first, or pass --db PATH' });
      }
      mkdirSync(dirname(file), { recursive: true });
    }
    const config: Record<string, string> = {};
    if (options.readOnly) config['access_mode'] = 'READ_ONLY';
    if (options.memoryLimit) config['memory_limit'] = options.memoryLimit;
    if (options.noExternalAccess) config['enable_external_access'] = 'false';
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(file, config);
    } catch (cause) {
      throw new KairosError('STORE', `cannot open store ${file}: ${(cause as Error).message}`, {
        cause,
        hint: 'is another kairos process using it? Is the file a DuckDB database?',
      });
    }
    const connection = await instance.connect();
    const store = new Store(file, instance, connection);
    // Everything is stored and computed in UTC, whatever the machine's zone.
    await store.run("SET TimeZone = 'UTC'");
    if (!options.readOnly) await migrate(store);
    return store;
  }

  /** Runs a statement with bound parameters (`?` or `$1`), returning nothing. */
  async run(sql: string, params: readonly SqlValue[] = []): Promise<void> {
    try {
      await this.connection.run(sql, params as DuckDBValue[]);
    } catch (cause) {
      throw new StoreError(`query failed: ${(cause as Error).message}`, sql, params, cause);
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
   * opened read-only and without external access, DuckDB itself also refuses writes and file access.
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
    const text = limit === undefined ? sql : `SELECT * FROM (${sql.replace(/;\s*$/, '')}) LIMIT ${Math.trunc(limit)}`;
    return this.table(text);
  }

  /**
   * Reads a query column by column: VARCHAR columns as string arrays, all others as Float64Arrays (NULL -> NaN:
   * callers check). The fast path for models, which work on typed arrays.
   */
  async readColumns(sql: string, params: readonly SqlValue[] = []): Promise<{ numbers: Record<string, Float64Array>; texts: Record<string, string[]> }> {
    // Materialized, not streamed: a streaming result is cut short, silently, by any other query on this connection
    // while its chunks are being read (e.g. a concurrent call on the same Store).
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
        else readNumbers(vector, count, numberColumns[c] as Float64Array, offset);
      }
      offset += count;
    }
    return { numbers, texts };
  }

  /** Creates (or replaces) a table from typed columns of equal length, appended in chunks. */
  async writeColumns(table: string, columns: readonly ColumnData[], options: { temporary?: boolean } = {}): Promise<void> {
    const n = columns[0]?.values.length ?? 0;
    for (const c of columns) {
      if (c.values.length !== n) throw new KairosError('INTERNAL', `column ${c.name} has ${c.values.length} values, expected ${n}`);
    }
    const ddl = columns.map((c) => `${quoteIdentifier(c.name)} ${c.type}`).join(', ');
    await this.run(`CREATE OR REPLACE ${options.temporary ? 'TEMP ' : ''}TABLE ${quoteIdentifier(table)} (${ddl})`);
    const types: DuckDBType[] = columns.map((c) => COLUMN_TYPES[c.type]);
    const appender = await this.connection.createAppender(table);
    try {
      const size = 2048;
      for (let start = 0; start < n; start += size) {
        const end = Math.min(n, start + size);
        const chunk = DuckDBDataChunk.create(types, end - start);
        columns.forEach((c, ci) => {
          const vector = chunk.getColumnVector(ci);
          if (c.type === 'VARCHAR') fillTexts(vector as DuckDBVarCharVector, c.values, start, end);
          else if (c.type === 'DATE') fillDates(vector as DuckDBDateVector, c.values, start, end);
          else fillNumbers(vector as DuckDBDoubleVector | DuckDBIntegerVector, c.values, start, end);
          vector.flush();
        });
        appender.appendDataChunk(chunk);
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
  }

  /** Runs `fn` in one transaction: committed if it returns, rolled back (store unchanged) if it throws. */
  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    await this.run('BEGIN TRANSACTION');
    try {
      const result = await fn();
      await this.run('COMMIT');
      return result;
    } catch (err) {
      try {
        await this.run('ROLLBACK');
      } catch {
        // the transaction may already be aborted by DuckDB; the original error is what matters
      }
      throw err;
    }
  }

  /** Closes the connection and the database (checkpointing the file). */
  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }

  private async read(sql: string, params: readonly SqlValue[]): Promise<DuckDBResultReader> {
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
 * Writes values[start, end) into a fresh chunk's numeric vector; non-finite values become NULL. Valid values first,
 * NULLs last: the vector has no validity mask until the first NULL, so valid writes stay plain array stores.
 */
function fillNumbers(vector: DuckDBDoubleVector | DuckDBIntegerVector, values: ArrayLike<number | null>, start: number, end: number): void {
  let nulls: number[] | undefined;
  for (let i = start; i < end; i++) {
    const v = values[i];
    if (typeof v === 'number' && Number.isFinite(v)) vector.setItem(i - start, v);
    else (nulls ??= []).push(i - start);
  }
  if (nulls) for (const j of nulls) vector.setItem(j, null);
}

/** As `fillNumbers`, for DATE columns given as days since 1970-01-01. */
function fillDates(vector: DuckDBDateVector, values: ArrayLike<number | null>, start: number, end: number): void {
  let nulls: number[] | undefined;
  for (let i = start; i < end; i++) {
    const v = values[i];
    if (typeof v === 'number' && Number.isFinite(v)) vector.setItem(i - start, new DuckDBDateValue(v));
    else (nulls ??= []).push(i - start);
  }
  if (nulls) for (const j of nulls) vector.setItem(j, null);
}

function fillTexts(vector: DuckDBVarCharVector, values: readonly (string | null)[], start: number, end: number): void {
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
  const typeIds = reader.columnTypes().map((t) => t.typeId);
  const rows = reader.getRowsJson();
  return rows.map((values) => {
    const row: Row = {};
    names.forEach((name, i) => {
      row[name] = toJs(values[i], typeIds[i] ?? DuckDBTypeId.VARCHAR);
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
