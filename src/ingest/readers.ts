// File readers: see a CSV (.gz), Parquet or NDJSON file as an all-text relation with row ordinals, and report the rows the reader rejected.
import { existsSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { KairosError } from '../errors.js';
import { quoteIdentifier, quoteLiteral, type Store } from '../store/db.js';
import { formatCount } from '../util/format.js';
import { LIMITS } from './contract.js';
import { checkInput, type InputCheck } from './input-check.js';

export type FileFormat = 'csv' | 'parquet' | 'ndjson';

/** Options a user can give about how a file is written. */
export interface ReadOptions {
  delimiter?: string;
  encoding?: string;
  /** Longest line a text file may have, in bytes (default LIMITS.maxLineBytes). */
  maxLineBytes?: number;
}

/** A row the reader could not split into columns. */
export interface StructuralReject {
  readonly line: number;
  readonly reason: string;
  readonly raw: string;
}

/**
 * A file seen as an all-text relation: `relation` is SQL usable after FROM that yields one VARCHAR column per
 * source column, and `__ord` (1-based row ordinal) when `hasOrdinal`. Without it, the caller materialises the
 * relation in file order (DuckDB preserves insertion order, in parallel) and takes `rowid + 1` as `__ord`: a
 * row_number() window would force the read onto one thread. It is read once, by the caller's query;
 * `afterRead()` then tells the rows the reader rejected and how to turn `__ord` into the line in the file.
 *
 * While it is read, a check of the file's bytes runs beside (see input-check.ts): `afterRead()` fails with what it
 * found, the caller awaits `checked()` when its read fails (a broken file explains the failure) and calls `cancel()`
 * when it gives up on the file.
 */
export interface FileSource {
  readonly format: FileFormat;
  readonly columns: readonly string[];
  readonly relation: string;
  readonly hasOrdinal: boolean;
  /** 'line' for text files, 'row' for Parquet. */
  readonly lineLabel: 'line' | 'row';
  /**
   * The reader splits lines without quoting (DuckDB found no quoted field in the file's first rows): a field that
   * opens with `"` and does not close is then an unterminated quote, which the caller rejects.
   */
  readonly unquoted: boolean;
  afterRead(): Promise<{ structuralRejects: readonly StructuralReject[]; lineSql: string }>;
  /** Settles when the check of the file's bytes has: rejects with the VALIDATION error it found. */
  checked(): Promise<void>;
  /** Stops the check (a no-op once it has settled). */
  cancel(): void;
}

/** Detects the format from the file name. */
export function detectFormat(file: string): FileFormat {
  // Not .zst: node:zlib (Node 20) cannot check a zstd stream, and DuckDB reads a truncated one without a word.
  const name = basename(file).toLowerCase().replace(/\.gz$/, '');
  if (name.endsWith('.parquet')) return 'parquet';
  if (name.endsWith('.ndjson') || name.endsWith('.jsonl') || name.endsWith('.json')) return 'ndjson';
  if (name.endsWith('.csv') || name.endsWith('.tsv') || name.endsWith('.txt')) return 'csv';
  throw new KairosError('USAGE', `${file}: unknown file type (expected .csv, .tsv, .csv.gz, .parquet, .ndjson or .jsonl)`);
}

const ENCODINGS: Readonly<Record<string, string>> = {
  'utf-8': 'utf-8',
  utf8: 'utf-8',
  'latin-1': 'latin-1',
  latin1: 'latin-1',
  'iso-8859-1': 'latin-1',
  'utf-16': 'utf-16',
};

/**
 * Bytes the CSV reader takes at a time. DuckDB's default is smaller; each buffer read in parallel ends in a partly
 * filled row group of the table it is written to, so larger buffers make a file's scratch table ~20% smaller in memory
 * (10M order lines: 1.36 GB -> 1.13 GB of text) at no cost in speed; beyond 32 MB the buffers themselves cost more.
 */
const CSV_BUFFER_BYTES = 32 * 2 ** 20;

/**
 * Longest maxLineBytes. The CSV reader takes lines up to its buffer (CSV_BUFFER_BYTES) and drops a longer one without a
 * word (no error, no reject) when its buffer size is set: input-check.ts holds lines well below. Setting DuckDB's
 * max_line_size as well would cost memory (+10%, 127 MB on 10M order lines) for nothing the check does not do.
 */
const MAX_LINE_BYTES_CEILING = CSV_BUFFER_BYTES / 2;

/** The line length limit of `options`, checked. */
function maxLineBytes(options: ReadOptions): number {
  const max = options.maxLineBytes ?? LIMITS.maxLineBytes;
  if (!Number.isInteger(max) || max < 1 || max > MAX_LINE_BYTES_CEILING) {
    throw new KairosError('USAGE', `maxLineBytes must be an integer from 1 to ${formatCount(MAX_LINE_BYTES_CEILING)}, got ${max}`);
  }
  return max;
}

/**
 * DuckDB's max_line_size for NDJSON lines of up to `max` bytes (its default, 2 MiB, would fail longer ones). DuckDB counts
 * the line break in (CR LF: both) and fails a line as long as the setting; input-check.ts counts a CR in, the LF out.
 */
function duckdbMaxLineSize(max: number): number {
  return max + 2;
}

function csvOptions(options: ReadOptions): string {
  const parts = ['all_varchar = true', 'header = true', `buffer_size = ${CSV_BUFFER_BYTES}`];
  if (options.delimiter !== undefined) {
    const d = options.delimiter === '\\t' ? '\t' : options.delimiter;
    if (d.length !== 1) throw new KairosError('USAGE', `delimiter must be one character, got "${options.delimiter}"`);
    parts.push(`delim = ${quoteLiteral(d)}`);
  }
  if (options.encoding !== undefined) {
    const enc = ENCODINGS[options.encoding.toLowerCase()];
    if (!enc) throw new KairosError('USAGE', `unknown encoding "${options.encoding}" (expected utf-8, latin-1 or utf-16)`);
    parts.push(`encoding = ${quoteLiteral(enc)}`);
  }
  return parts.join(', ');
}

const NO_REJECTS = async (): Promise<{ structuralRejects: StructuralReject[]; lineSql: string }> => ({ structuralRejects: [], lineSql: '__ord' });
const NO_CHECK = { checked: async (): Promise<void> => {}, cancel: (): void => {} };

/** Opens `file` as a text relation (see FileSource). An empty file has no columns. */
export async function openFile(store: Store, file: string, options: ReadOptions = {}): Promise<FileSource> {
  if (!existsSync(file)) throw new KairosError('NOT_FOUND', `${file}: no such file`);
  const format = detectFormat(file);
  const path = quoteLiteral(file);
  if (statSync(file).size === 0) {
    const relation = '(SELECT NULL::BIGINT AS __ord WHERE false)';
    return { format, columns: [], relation, hasOrdinal: true, lineLabel: 'line', unquoted: false, afterRead: NO_REJECTS, ...NO_CHECK };
  }
  if (format === 'parquet') {
    const relation = `(SELECT file_row_number + 1 AS __ord, COLUMNS(* EXCLUDE (file_row_number))::VARCHAR FROM read_parquet(${path}, file_row_number = true))`;
    let columns: string[];
    try {
      columns = await describe(store, relation);
    } catch (err) {
      // DuckDB's words without kairos's query: "No magic bytes found at end of file", "Footer length error", ...
      const reason = (((err as Error).cause as Error | undefined)?.message ?? (err as Error).message).split('\n')[0]?.replace(/^[A-Za-z ]+ Error: /, '');
      throw new KairosError('VALIDATION', `${file}: not a readable Parquet file (${reason})`, {
        cause: err,
        hint: 'is it really Parquet? CSV and NDJSON files need a .csv or .ndjson name',
      });
    }
    return { format, columns, relation, hasOrdinal: true, lineLabel: 'row', unquoted: false, afterRead: NO_REJECTS, ...NO_CHECK };
  }
  const max = maxLineBytes(options);
  const check = checkInput(file, { maxLineBytes: max });
  try {
    return format === 'csv' ? await openCsv(store, file, path, options, check) : await openNdjson(store, path, check, max);
  } catch (err) {
    check.cancel();
    throw err;
  }
}

async function describe(store: Store, relation: string): Promise<string[]> {
  const info = await store.all<{ column_name: string }>(`DESCRIBE SELECT * FROM ${relation}`);
  return info.map((c) => c.column_name).filter((c) => c !== '__ord');
}

/** Runs `read` (DuckDB reading the file); if it fails, the check's error, when it finds one, says why. */
async function reading<T>(check: InputCheck, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    await check.done;
    throw err;
  }
}

async function openCsv(store: Store, file: string, path: string, options: ReadOptions, check: InputCheck): Promise<FileSource> {
  const opts = csvOptions(options);
  // DuckDB's sniffer reads the first rows: they must be checked first (a long line there takes it minutes to fail).
  await check.head;
  let sniffed: Sniffed | undefined;
  try {
    // The dialect and the columns, found once: the reader is then given them (auto_detect = false), since each query
    // that binds read_csv would sniff the file again (30-170 ms at each, the plan check of ingest.ts included).
    sniffed = await reading(check, () =>
      store.one<Sniffed>(
        `SELECT Delimiter AS delimiter, Quote AS quote, Escape AS escape, NewLineDelimiter AS newline, Comment AS comment, SkipRows AS skip,
                list_transform(Columns, c -> c.name) AS columns
         FROM sniff_csv(${path}, ${opts}, ignore_errors = true)`,
      ),
    );
  } catch (err) {
    if (err instanceof KairosError && err.code === 'VALIDATION') throw err;
    const message = (err as Error).message;
    if (message.includes('Maximum line size')) {
      throw new KairosError('VALIDATION', `${file}: a record near the start is longer than the reader's ${formatCount(CSV_BUFFER_BYTES)} bytes (a quoted field spanning lines?); nothing was loaded`, {
        cause: err,
        hint: 'look for a quote that is never closed',
      });
    }
    throw new KairosError('VALIDATION', `${file}: cannot read as CSV: ${message.split('\n')[0]}`, {
      cause: err,
      hint: 'check the delimiter (--delimiter), the encoding (--encoding latin-1) and quoting',
    });
  }
  const columns = sniffed?.columns ?? [];
  const quote = sniffed?.quote ?? '';
  // The reader keeps rows it cannot split aside (store_rejects) rather than failing.
  const reader = `read_csv(${path}, ${opts}, ${sniffed ? `${dialectOptions(sniffed)}, ` : ''}store_rejects = true, rejects_table = '__csv_rejects', rejects_scan = '__csv_scans')`;
  await store.run('DROP TABLE IF EXISTS __csv_rejects');
  await store.run('DROP TABLE IF EXISTS __csv_scans');
  const afterRead = async (): Promise<{ structuralRejects: StructuralReject[]; lineSql: string }> => {
    await check.done;
    const exists = await store.value<number>(`SELECT count(*) FROM duckdb_tables() WHERE table_name = '__csv_rejects'`);
    const rejects = exists
      ? await store.all<{ line: number; error_type: string; error_message: string; csv_line: string | null }>(
          `SELECT line, error_type, error_message, csv_line FROM __csv_rejects ORDER BY line`,
        )
      : [];
    // A line the reader rejected may yield several error rows: keep one per line.
    const seen = new Set<number>();
    const structuralRejects: StructuralReject[] = [];
    for (const r of rejects) {
      if (seen.has(r.line)) continue;
      seen.add(r.line);
      refuseUnreadable(file, r);
      const reason =
        r.error_type === 'INVALID ENCODING' || r.error_type === 'INVALID UNICODE'
          ? 'invalid UTF-8 bytes (is the file latin-1? try --encoding latin-1)'
          : `${r.error_type.toLowerCase()}: ${r.error_message}`;
      structuralRejects.push({ line: r.line, reason, raw: r.csv_line ?? '' });
    }
    // Ordinal k of a good row -> its physical line: 1 header line, plus every rejected line before it.
    // With rejected lines r_1 < r_2 < ..., the j-th one has (r_j - 1 - j) good rows before it.
    const adjusted = structuralRejects.map((r, j) => r.line - 1 - (j + 1));
    const lineSql =
      adjusted.length === 0 ? '(__ord + 1)' : `(__ord + 1 + list_count(list_filter([${adjusted.join(',')}], a -> a < __ord)))`;
    return { structuralRejects, lineSql };
  };
  const unquoted = quote === '(empty)' || quote === '';
  return {
    format: 'csv',
    columns,
    relation: reader,
    // No row number in the relation: row_number() over the whole file runs on one thread (about 2.5 s per 4M lines);
    // the caller takes the file order from the rowids of the table it reads the relation into.
    hasOrdinal: false,
    lineLabel: 'line',
    unquoted,
    afterRead,
    checked: () => check.done,
    cancel: () => check.cancel(),
  };
}

/** What DuckDB's sniffer found of a CSV file (sniff_csv). */
type Sniffed = {
  readonly delimiter: string;
  readonly quote: string;
  readonly escape: string;
  readonly newline: string;
  readonly comment: string;
  readonly skip: number;
  readonly columns: string[];
};

/** read_csv options that give the reader the sniffed dialect and columns (every column text), as sniff_csv's own prompt does. */
function dialectOptions(d: Sniffed): string {
  const text = (v: string): string => quoteLiteral(v === '(empty)' ? '' : v);
  const columns = d.columns.map((c) => `${quoteLiteral(c)}: 'VARCHAR'`).join(', ');
  return `auto_detect = false, delim = ${text(d.delimiter)}, quote = ${text(d.quote)}, escape = ${text(d.escape)}, new_line = ${text(d.newline)}, comment = ${text(d.comment)}, skip = ${Math.trunc(Number(d.skip))}, columns = {${columns}}`;
}

/**
 * Fails the file on a line the reader rejected in a way that loses lines: a record longer than the reader's buffer
 * (quoted line breaks make it one), or a quote that does not close where it should. Such a quote can take in the lines
 * after it, or the part of the file read on the same thread, with one reject for all and a line shown that is not the
 * one (read_csv lost 1.26M of 2M order lines after a quote opened at line 25,002, with one reject): no count holds.
 */
function refuseUnreadable(file: string, r: { line: number; error_type: string }): void {
  if (r.error_type === 'LINE SIZE OVER MAXIMUM') {
    throw new KairosError('VALIDATION', `${file} line ${r.line}: record longer than the reader's ${formatCount(CSV_BUFFER_BYTES)} bytes (a quoted field spanning lines?); nothing was loaded`, {
      details: { file, line: r.line },
      hint: 'look for a quote that is never closed',
    });
  }
  if (r.error_type === 'UNQUOTED VALUE') {
    throw new KairosError('VALIDATION', `${file} line ${r.line}: unterminated quote: a quoted field opened on this line does not close (or text follows its closing quote), and the lines after it cannot be read reliably; nothing was loaded`, {
      details: { file, line: r.line },
      hint: 'close or remove the quote (a quote inside a quoted field is written twice: "")',
    });
  }
}

async function openNdjson(store: Store, path: string, check: InputCheck, max: number): Promise<FileSource> {
  // Read one text line per row (no quoting, a delimiter that cannot appear in JSON text), then parse each line with DuckDB's JSON.
  await store.run('DROP TABLE IF EXISTS __ndjson_lines');
  await reading(check, () =>
    store.run(
      `CREATE TEMP TABLE __ndjson_lines AS SELECT __ord, j, CASE WHEN coalesce(json_valid(j), false) THEN json_type(j) = 'OBJECT' ELSE false END AS ok
       FROM (SELECT row_number() OVER () AS __ord, j FROM read_csv(${path}, columns = {'j': 'VARCHAR'}, header = false, delim = E'\\x1f', quote = '', escape = '', auto_detect = false, strict_mode = false, max_line_size = ${duckdbMaxLineSize(max)}))`,
    ),
  );
  await check.done;
  const isObject = 'ok';
  const keys = await store.all<{ k: string }>(`SELECT DISTINCT unnest(json_keys(j)) AS k FROM __ndjson_lines WHERE ${isObject} ORDER BY k`);
  const select = keys.map(({ k }) => `json_extract_string(j, ${quoteLiteral(`$."${k.replaceAll('"', '\\"')}"`)}) AS ${quoteIdentifier(k)}`);
  const relation = `(SELECT __ord${select.length ? ', ' + select.join(', ') : ''} FROM __ndjson_lines WHERE ${isObject})`;
  const afterRead = async (): Promise<{ structuralRejects: StructuralReject[]; lineSql: string }> => {
    const bad = await store.all<{ line: number; raw: string }>(`SELECT __ord AS line, left(j, 200) AS raw FROM __ndjson_lines WHERE NOT (${isObject}) ORDER BY __ord`);
    return { structuralRejects: bad.map((b) => ({ line: b.line, reason: 'not a JSON object', raw: b.raw })), lineSql: '__ord' };
  };
  return { format: 'ndjson', columns: keys.map((k) => k.k), relation, hasOrdinal: true, lineLabel: 'line', unquoted: false, afterRead, ...NO_CHECK };
}
