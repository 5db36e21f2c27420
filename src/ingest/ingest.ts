// Ingest: files -> validated, deduplicated rows in the store, with every row read accounted for (loaded, rejected or duplicate).
import { existsSync, mkdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { IngestSettings } from '../config.js';
import { KairosError } from '../errors.js';
import { quoteIdentifier, quoteLiteral, type Store } from '../store/db.js';
import { EVENT_TYPES, LIMITS, ORDER_STATUSES, PROMOTION_EVENT_TYPES, SPECS, type ColumnSpec, type Entity } from './contract.js';
import { choosePreset, presetFor, type ColumnSource, type EntityPreset } from './presets.js';
import { openFile, type FileFormat, type FileSource, type ReadOptions, type StructuralReject } from './readers.js';

export interface IngestOptions {
  readonly entity: Entity;
  readonly files: readonly string[];
  readonly preset?: string;
  /** Merged settings: config file, then flags. */
  readonly settings?: IngestSettings;
  /** Store time zone (used when settings.timezone is not given). */
  readonly timezone?: string;
  /** Folder for rejects files (default: `kairos-rejects` beside the store). */
  readonly rejectsDir?: string;
  /** Reference "now": rows dated more than a day after it are rejected. */
  readonly now?: Date;
  readonly onProgress?: (message: string) => void;
  /** Test hook: throw after the rows are written, before commit, to prove atomicity. */
  readonly failBeforeCommit?: boolean;
  /** Test hook: most rows per slice of the duplicate search (default SLICING), to test the sliced paths on small files. */
  readonly sliceRows?: number;
}

export interface RejectReasonCount {
  readonly reason: string;
  readonly count: number;
}

export interface FileReport {
  readonly file: string;
  readonly format: string;
  readonly batchId: number;
  readonly read: number;
  readonly loaded: number;
  /** Of `loaded`, rows that updated a stored row (customers, products). */
  readonly updated: number;
  readonly rejected: number;
  readonly duplicates: number;
  readonly rejectReasons: readonly RejectReasonCount[];
  readonly rejectsFile: string | null;
  readonly customersCreated: number;
  readonly productsCreated: number;
  readonly columnMapping: Readonly<Record<string, string>>;
  /** Events: loaded rows of types outside the contract's (kept as they are), per type, most frequent first; {} otherwise. */
  readonly unknownEventTypes: Readonly<Record<string, number>>;
}

export interface IngestReport {
  readonly entity: Entity;
  readonly files: readonly FileReport[];
  readonly totals: { read: number; loaded: number; rejected: number; duplicates: number };
  /** The files' unknownEventTypes added up, most frequent first. */
  readonly unknownEventTypes: Readonly<Record<string, number>>;
}

/**
 * Ingests `files` as `entity` in one transaction: all files land, or none and the store is as it was.
 *
 * Each file is first read, parsed and checked into a scratch temp table, before the transaction: DuckDB scans a table
 * created inside the open transaction on one thread only, and every later step (deduplication, stubs, the insert) scans
 * it. Scratch tables are not the store: the transaction then writes everything, and they are dropped either way.
 */
export async function ingest(store: Store, options: IngestOptions): Promise<IngestReport> {
  if (options.files.length === 0) throw new KairosError('USAGE', 'no file given');
  const settings = options.settings ?? {};
  // A preset may map files of several shapes for one entity (each file picks its own); they share zone and exclusions.
  const presets = options.preset ? presetFor(options.preset, options.entity) : undefined;
  const preset = presets?.[0];
  const timezone = settings.timezone ?? preset?.timezone ?? options.timezone ?? 'UTC';
  await checkTimezone(store, timezone);
  const progress = options.onProgress ?? (() => {});
  const reports: FileReport[] = [];
  const pendingRejectFiles: { batchId: number; path: string }[] = [];
  const excluded = [...(settings.excludeProducts ?? preset?.excludeProducts ?? [])];
  const files: ReadFile[] = [];
  try {
    await setExcludedProducts(store, excluded);
    for (const [index, file] of options.files.entries()) {
      files.push(await readFile(store, resolve(file), index, options, settings, presets, timezone, excluded.length > 0, progress));
    }
    await store.transaction(async () => {
      for (const file of files) {
        const report = await writeFile(store, file, options, progress);
        reports.push(report);
        if (report.rejectsFile) pendingRejectFiles.push({ batchId: report.batchId, path: report.rejectsFile });
      }
      if (options.failBeforeCommit) throw new KairosError('INTERNAL', 'injected failure before commit (test hook)');
    });
  } finally {
    await dropScratch(store, options.files.length, excluded.length > 0);
  }
  // Rejects files are written once the data is committed, from the rejects table.
  for (const { batchId, path } of pendingRejectFiles) {
    mkdirSync(dirname(path), { recursive: true });
    await store.run(
      `COPY (SELECT file, line, reason, raw FROM rejects WHERE batch_id = ${Math.trunc(batchId)} ORDER BY line) TO ${quoteLiteral(path)} (HEADER, DELIMITER ',')`,
    );
  }
  const totals = { read: 0, loaded: 0, rejected: 0, duplicates: 0 };
  const unknown = new Map<string, number>();
  for (const r of reports) {
    totals.read += r.read;
    totals.loaded += r.loaded;
    totals.rejected += r.rejected;
    totals.duplicates += r.duplicates;
    for (const [type, n] of Object.entries(r.unknownEventTypes)) unknown.set(type, (unknown.get(type) ?? 0) + n);
  }
  const unknownEventTypes = Object.fromEntries([...unknown].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)));
  return { entity: options.entity, files: reports, totals, unknownEventTypes };
}

/** The excluded product ids as a DuckDB variable (a constant list in queries), set from bound values. */
async function setExcludedProducts(store: Store, excluded: readonly string[]): Promise<void> {
  if (excluded.length === 0) return;
  await store.run('DROP TABLE IF EXISTS __excluded');
  await store.run('CREATE TEMP TABLE __excluded (product_id VARCHAR)');
  for (const p of excluded) await store.run('INSERT INTO __excluded VALUES (?)', [p]);
  // An IN (subquery) would be a join, and a join loses the file order (see checkKeepsFileOrder).
  await store.run(`SET VARIABLE ${EXCLUDED_VARIABLE} = (SELECT list(product_id) FROM __excluded)`);
  await store.run('DROP TABLE __excluded');
}

/**
 * A preset's lookup (EntityPreset.lookup): the `key` -> `value` map of a file beside `file`, as a DuckDB variable the
 * preset's SQL reads. A missing lookup file refuses the file, naming the one it needs.
 */
async function setLookup(store: Store, file: string, lookup: NonNullable<EntityPreset['lookup']>): Promise<void> {
  const path = join(dirname(file), lookup.file);
  if (!existsSync(path)) {
    throw new KairosError('VALIDATION', `${file}: the preset reads ${lookup.value} from ${lookup.file} beside it, not found at ${path}`, {
      hint: `put ${lookup.file} in the same folder`,
    });
  }
  const [key, value] = [quoteIdentifier(lookup.key), quoteIdentifier(lookup.value)];
  await store.run(
    `SET VARIABLE ${quoteIdentifier(lookup.variable)} = (SELECT map(list(trim(${key})), list(trim(${value}))) FROM read_csv(${quoteLiteral(path)}, header = true, all_varchar = true) WHERE ${key} IS NOT NULL)`,
  );
}

/** Drops the scratch tables of the `count` files (read or not), and the excluded-products variable. */
async function dropScratch(store: Store, count: number, hasExcluded: boolean): Promise<void> {
  await store.run('DROP VIEW IF EXISTS __typed');
  for (let i = 0; i < count; i++) await store.run(`DROP TABLE IF EXISTS ${scratchTable(i)}`);
  for (const t of ['__valid', '__excluded', '__ndjson_lines', '__skip', '__dup_h', '__cand', '__seq']) await store.run(`DROP TABLE IF EXISTS ${t}`);
  if (hasExcluded) await store.run(`RESET VARIABLE ${EXCLUDED_VARIABLE}`);
}

async function checkTimezone(store: Store, tz: string): Promise<void> {
  const ok = await store.value<number>('SELECT count(*) FROM pg_timezone_names() WHERE name = ?', [tz]);
  if (!ok) throw new KairosError('USAGE', `unknown time zone "${tz}" (use an IANA name such as UTC or Europe/Paris)`);
}

/** What feeds one contract column: a source column (`isColumn`) or a preset's SQL expression. */
interface SourceColumn {
  readonly sql: string;
  readonly label: string;
  readonly isColumn: boolean;
}

/** Which source column or expression feeds each contract column. */
function resolveColumns(
  file: string,
  found: readonly string[],
  entity: Entity,
  settings: IngestSettings,
  preset: EntityPreset | undefined,
): Map<string, SourceColumn> {
  const spec = SPECS[entity];
  const byLower = new Map(found.map((c) => [c.toLowerCase(), c]));
  const out = new Map<string, SourceColumn>();
  const known = new Set(spec.columns.map((c) => c.name));
  for (const [ours, theirs] of Object.entries(settings.map ?? {})) {
    if (!known.has(ours)) {
      throw new KairosError('USAGE', `mapping ${ours}=${theirs}: "${ours}" is not a ${entity} column (expected one of ${[...known].join(', ')})`);
    }
    const actual = found.includes(theirs) ? theirs : byLower.get(theirs.toLowerCase());
    if (actual === undefined) {
      throw new KairosError('VALIDATION', `${file}: mapping ${ours}=${theirs}: column "${theirs}" not found (columns found: ${found.join(', ') || 'none'})`);
    }
    out.set(ours, { sql: quoteIdentifier(actual), label: actual, isColumn: true });
  }
  for (const col of spec.columns) {
    if (out.has(col.name)) continue;
    const fromPreset: ColumnSource | undefined = preset?.columns[col.name];
    if (fromPreset) {
      if ('source' in fromPreset) {
        const actual = byLower.get(fromPreset.source.toLowerCase());
        if (actual !== undefined) out.set(col.name, { sql: quoteIdentifier(actual), label: actual, isColumn: true });
      } else {
        out.set(col.name, { sql: `(${fromPreset.sql})`, label: 'preset expression', isColumn: false });
      }
      continue;
    }
    const candidates = [col.name, ...(col.aliases ?? [])];
    const hit = candidates.map((c) => byLower.get(c.toLowerCase())).find((c) => c !== undefined);
    if (hit !== undefined && !preset) out.set(col.name, { sql: quoteIdentifier(hit), label: hit, isColumn: true });
  }
  const missing = spec.columns.filter((c) => c.required && !out.has(c.name)).map((c) => c.name);
  if (entity === 'orders' && !out.has('unit_price') && !out.has('amount')) missing.push('unit_price (or amount)');
  if (missing.length > 0) {
    const what = missing.length === 1 ? `required column "${missing[0]}" is missing` : `required columns ${missing.map((m) => `"${m}"`).join(', ')} are missing`;
    throw new KairosError('VALIDATION', `${file}: ${what} (columns found: ${found.join(', ') || 'none'})`, {
      details: { missing, found },
      hint: `map them with --map ${missing[0]?.split(' ')[0]}=YOUR_COLUMN, a kairos.config.json "ingest" mapping, or a --preset`,
    });
  }
  return out;
}

/**
 * `trim(text)`, skipping the call when it cannot change the text. trim() removes Unicode space separators (Zs) at
 * either end, walking every character and copying the result; pure ASCII text (byte length = character count) not
 * starting or ending with a space has none, and is most text. Same result, a few times cheaper per value.
 */
function trimSql(text: string): string {
  return `CASE WHEN strlen(${text}) = length(${text}) AND NOT starts_with(${text}, ' ') AND NOT ends_with(${text}, ' ') THEN ${text} ELSE trim(${text}) END`;
}

/**
 * SQL parsing one contract column, and SQL of the reason its row is rejected (a run of CASE branches).
 * `raw` names the column's trimmed source text, `typed` the parsed value: each is computed once per row.
 */
function columnSql(col: ColumnSpec, raw: string, typed: string, timezone: string, dateFormat: string | undefined): { value: string; reason: string } {
  const shown = `'"' || left(${raw}, 60) || '"'`;
  const present = `(${raw} IS NOT NULL AND ${raw} <> '')`;
  const emptyReason = col.required ? `WHEN NOT ${present} THEN '${col.name} is empty'` : '';
  switch (col.kind) {
    case 'id':
      // "17850.0" -> "17850": ids written as floats by spreadsheets (the regex runs only on ids with a dot).
      return {
        value: `CASE WHEN contains(${raw}, '.') THEN nullif(regexp_replace(${raw}, '^(-?[0-9]+)\\.0+$', '\\1'), '') ELSE nullif(${raw}, '') END`,
        reason: emptyReason,
      };
    case 'text':
      return { value: `nullif(${raw}, '')`, reason: emptyReason };
    case 'number': {
      const checks = [emptyReason, `WHEN ${present} AND (${typed} IS NULL OR NOT isfinite(${typed})) THEN '${col.name} ' || ${shown} || ' is not a number'`];
      if (col.nonZero) checks.push(`WHEN ${typed} = 0 THEN '${col.name} is 0'`);
      if (col.min !== undefined) checks.push(`WHEN ${typed} < ${col.min} THEN '${col.name} ' || ${typed}::VARCHAR || ' is below ${col.min}'`);
      if (col.max !== undefined) checks.push(`WHEN ${typed} > ${col.max} THEN '${col.name} ' || ${typed}::VARCHAR || ' is above ${col.max}'`);
      return { value: `TRY_CAST(${raw} AS DOUBLE)`, reason: checks.join(' ') };
    }
    case 'timestamp': {
      const naive = dateFormat ? `coalesce(try_strptime(${raw}, ${quoteLiteral(dateFormat)}), TRY_CAST(${raw} AS TIMESTAMP))` : `TRY_CAST(${raw} AS TIMESTAMP)`;
      const local = timezone === 'UTC' ? naive : `timezone('UTC', timezone(${quoteLiteral(timezone)}, ${naive}))`;
      const withOffset = `timezone('UTC', TRY_CAST(${raw} AS TIMESTAMPTZ))`;
      // Text ending in Z is UTC (cast without the time-zone library: fast); a time followed by an offset carries its own zone.
      const value = `CASE WHEN ends_with(${raw}, 'Z') THEN TRY_CAST(left(${raw}, -1) AS TIMESTAMP)
        WHEN regexp_matches(${raw}, '[0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]+)?)?\\s*[+-][0-9]{2}(:?[0-9]{2})?$') THEN ${withOffset} ELSE ${local} END`;
      const format = dateFormat ? ` (format ${dateFormat.replaceAll("'", "''")})` : ' (expected ISO 8601; set --date-format, or dateFormat in the ingest settings of kairos.config.json)';
      const checks = [
        emptyReason,
        `WHEN ${present} AND ${typed} IS NULL THEN '${col.name} ' || ${shown} || ' is not a date${format}'`,
        `WHEN ${typed} < TIMESTAMP '${LIMITS.earliest}' THEN '${col.name} ' || ${shown} || ' is before ${LIMITS.earliest}'`,
        `WHEN ${typed} > $1::TIMESTAMP + INTERVAL 1 DAY THEN '${col.name} ' || ${shown} || ' is in the future'`,
      ];
      return { value, reason: checks.join(' ') };
    }
    // Membership is tested with list_contains on a constant list: DuckDB may rewrite `x NOT IN (a, b, ...)` to a join,
    // which would lose the file order (see checkKeepsFileOrder). On NULL both give NULL: no reason.
    case 'status': {
      const list = ORDER_STATUSES.map((v) => `'${v}'`).join(', ');
      return {
        value: `lower(nullif(${raw}, ''))`,
        reason: `WHEN ${typed} IS NOT NULL AND NOT list_contains([${list}], ${typed}) THEN 'status ' || ${shown} || ' is not one of ${ORDER_STATUSES.join(', ')}'`,
      };
    }
    // Any type is kept, in lower snake case (`Email Open`, `email-open`, `EmailOpen` -> email_open): the contract's types
    // as they are, others normalised (a regular expression per row only for those) and counted (unknownEventTypes).
    case 'event_type': {
      const list = EVENT_TYPES.map((v) => `'${v}'`).join(', ');
      const snake = `trim(regexp_replace(lower(regexp_replace(${raw}, '([\\p{Ll}\\p{N}])(\\p{Lu})', '\\1_\\2', 'g')), '[^\\p{L}\\p{N}]+', '_', 'g'), '_')`;
      return {
        value: `CASE WHEN list_contains([${list}], ${raw}) THEN ${raw} ELSE nullif(${snake}, '') END`,
        reason: `${emptyReason} WHEN ${typed} IS NULL THEN 'type ' || ${shown} || ' has no letter or digit'`,
      };
    }
  }
}

/**
 * The reason of a row one of whose source columns (`texts`: SQL of each, `names`: its name) opens a quote and does not
 * close it, else NULL: in a file read without quoting, `"SC2` is the start of a quoted field that never ends, and the
 * line's columns are not what they seem. A field quoted whole (`"abc"`) is left as it is. Rows go to the column tests
 * only when some value starts with a byte below '#' (a space, '!' or '"'): one comparison of the least value. On 1M
 * order lines that costs ~50 ms of CPU, where testing each column of each row costs ~700 ms.
 */
function unterminatedQuoteSql(texts: readonly string[], names: readonly string[]): string {
  const opens = (t: string): string => `(starts_with(${t}, '"') OR (starts_with(${t}, ' ') AND starts_with(ltrim(${t}), '"')))`;
  const closes = (t: string): string => `(length(trim(${t})) >= 2 AND ends_with(rtrim(${t}), '"'))`;
  const each = texts.map((t, i) => `WHEN ${opens(t)} AND NOT ${closes(t)} THEN ${quoteLiteral(`unterminated quote in ${names[i] ?? ''}`)}`);
  return `CASE WHEN least(${texts.join(', ')}) < '#' THEN CASE ${each.join(' ')} END END`;
}

/**
 * Columns whose valid values are nearly always a few words: kept in the scratch table as a 1-byte code. A status
 * outside its words rejects the row; an event type outside them is kept (`OPEN_VOCABULARIES`), as text beside the code.
 */
const VOCABULARIES: Partial<Record<ColumnSpec['kind'], readonly string[]>> = { status: ORDER_STATUSES, event_type: EVENT_TYPES };
const OPEN_VOCABULARIES: ReadonlySet<ColumnSpec['kind']> = new Set(['event_type']);

/**
 * The code (1-based position in `words`) of a parsed column; NULL for NULL and for any other value. A value outside
 * a closed vocabulary always rejects its row (columnSql), and rejected rows keep their reason and source text: no later
 * step reads their parsed value, so decoding gives back every value that is read. An open vocabulary's other values
 * are stored as text in `__other_<column>`, NULL on the rows of a known word (a NULL costs far less than the text).
 */
function encodeSql(column: string, words: readonly string[]): string {
  return `(CASE ${column} ${words.map((w, i) => `WHEN '${w}' THEN ${i + 1}`).join(' ')} END)::UTINYINT`;
}

function decodeSql(code: string, words: readonly string[]): string {
  return `CASE ${code} ${words.map((w, i) => `WHEN ${i + 1} THEN '${w}'`).join(' ')} END`;
}

/** The scratch table of the index-th file of an ingest. */
function scratchTable(index: number): string {
  return `__typed_t${Math.trunc(index)}`;
}

/** One file read, parsed and checked into its scratch table (`table`, null for an empty file), ready to be written. */
interface ReadFile {
  readonly file: string;
  readonly name: string;
  readonly format: FileFormat;
  /** Reference "now" of the timestamp checks, 'YYYY-MM-DD HH:MM:SS.sss' (UTC). */
  readonly now: string;
  readonly table: string | null;
  /** SELECT list that makes the scratch table the `__typed` relation: `__ord`, the stored columns, the absent ones as NULL. */
  readonly typedSelect: string;
  readonly structuralRejects: readonly StructuralReject[];
  readonly lineSql: string;
  readonly columnMapping: Readonly<Record<string, string>>;
  /** The preset numbers an id column within the file (numberRepeats): no two rows of the file are then equal on the key. */
  readonly numbered: boolean;
}

/**
 * Step 1 of a file, outside the transaction: read, parse and check every row in one pass into the scratch table
 * `__typed_t<index>`; the first failed check is the row's reason. Three levels, each expression computed once per row:
 * trimmed source text, parsed values, reasons. Writes nothing to the store.
 */
async function readFile(
  store: Store,
  file: string,
  index: number,
  options: IngestOptions,
  settings: IngestSettings,
  presets: readonly EntityPreset[] | undefined,
  timezone: string,
  hasExcluded: boolean,
  progress: (message: string) => void,
): Promise<ReadFile> {
  const readOptions: ReadOptions = {};
  if (settings.delimiter !== undefined) readOptions.delimiter = settings.delimiter;
  if (settings.encoding !== undefined) readOptions.encoding = settings.encoding;
  if (settings.maxLineBytes !== undefined) readOptions.maxLineBytes = settings.maxLineBytes;
  const source = await openFile(store, file, readOptions);
  try {
    const preset = presets === undefined ? undefined : choosePreset(presets, file, source.columns);
    if (preset?.lookup) await setLookup(store, file, preset.lookup);
    return await readSource(store, source, file, index, options, settings, preset, timezone, hasExcluded, progress);
  } finally {
    // The check of the file's bytes has settled when the read succeeded; it stops when the read failed.
    source.cancel();
  }
}

/** readFile, once the file is open. */
async function readSource(
  store: Store,
  source: FileSource,
  file: string,
  index: number,
  options: IngestOptions,
  settings: IngestSettings,
  preset: EntityPreset | undefined,
  timezone: string,
  hasExcluded: boolean,
  progress: (message: string) => void,
): Promise<ReadFile> {
  const entity = options.entity;
  const spec = SPECS[entity];
  const name = basename(file);
  const now = (options.now ?? new Date()).toISOString().replace('T', ' ').replace('Z', '');
  if (source.columns.length === 0) {
    return { file, name, format: source.format, now, table: null, typedSelect: '', structuralRejects: [], lineSql: '', columnMapping: {}, numbered: false };
  }
  const mapping = resolveColumns(file, source.columns, entity, settings, preset);
  const numbered = numberedColumn(preset, entity, mapping);

  progress(`${name}: reading and validating`);
  const rawCols: string[] = [];
  const valueCols: string[] = [];
  const reasonParts: string[] = [];
  // Columns the file does not feed are NULL: not stored in the scratch table (10M rows of NULLs still cost memory), and
  // columns with a closed vocabulary are stored as a 1-byte code; `absent` puts both back as columns of `__typed`.
  const stored: string[] = [];
  const absent: string[] = [];
  for (const col of spec.columns) {
    const src = mapping.get(col.name);
    if (!src) {
      const nullSql = `NULL::${col.kind === 'number' ? 'DOUBLE' : col.kind === 'timestamp' ? 'TIMESTAMP' : 'VARCHAR'} AS ${col.name}`;
      valueCols.push(nullSql);
      absent.push(nullSql);
      continue;
    }
    const raw = `__raw_${col.name}`;
    rawCols.push(`${src.isColumn ? trimSql(src.sql) : `trim(${src.sql})`} AS ${raw}`);
    const { value, reason } = columnSql(col, raw, col.name, timezone, settings.dateFormat);
    // A numbered column is read as the first row of its value (`-1`); numberRepeats renumbers the rows after it.
    valueCols.push(`${col.name === numbered ? `(${value}) || '-1'` : value} AS ${col.name}`);
    const words = VOCABULARIES[col.kind];
    if (words && OPEN_VOCABULARIES.has(col.kind)) {
      stored.push(`${encodeSql(col.name, words)} AS __code_${col.name}`);
      stored.push(`CASE WHEN NOT list_contains([${words.map((w) => `'${w}'`).join(', ')}], ${col.name}) THEN ${col.name} END AS __other_${col.name}`);
      absent.push(`coalesce(${decodeSql(`__code_${col.name}`, words)}, __other_${col.name}) AS ${col.name}`);
    } else if (words) {
      stored.push(`${encodeSql(col.name, words)} AS __code_${col.name}`);
      absent.push(`${decodeSql(`__code_${col.name}`, words)} AS ${col.name}`);
    } else {
      stored.push(col.name);
    }
    if (reason.trim()) reasonParts.push(reason);
  }
  const attributes = attributesSql(entity, source.columns, mapping, preset);
  if (attributes === NULL_JSON) absent.push(`${NULL_JSON} AS __attributes`);
  else {
    rawCols.push(`${attributes} AS __attributes`);
    stored.push('__attributes');
  }
  // Source columns ride along under safe names, to record rejected rows as JSON (built only for those).
  source.columns.forEach((c, i) => rawCols.push(`${quoteIdentifier(c)} AS __src_${i}`));
  const sourceJson = `json_object(${source.columns.map((c, i) => `${quoteLiteral(c)}, __src_${i}`).join(', ')})`;
  const quoteReason = source.unquoted ? `${unterminatedQuoteSql(source.columns.map((_, i) => `__src_${i}`), source.columns)}, ` : '';
  const reasonSql = `coalesce(${quoteReason}CASE ${reasonParts.join(' ')} ELSE NULL END, ${entityReasonSql(entity, hasExcluded)})`;
  const derived = derivedColumns(entity);
  const keyHash = `hash(${spec.key.map((k) => derived[k] ?? k).join(', ')})`;
  // __h: the key's hash on valid rows, for skipRepeated; with a numbered column, its value's hash on every row that has
  // one, for numberRepeats (no two rows are then equal on the key: skipRepeated is not needed).
  const hashSql = numbered ? `CASE WHEN ${numbered} IS NOT NULL THEN hash(${numbered}) END` : `CASE WHEN __reason IS NULL THEN ${keyHash} END`;
  const table = scratchTable(index);
  await store.run(`DROP TABLE IF EXISTS ${table}`);
  const ord = source.hasOrdinal ? '__ord, ' : '';
  // Without `__ord` in the relation, rowid is the file order: DuckDB keeps insertion order in a parallel CREATE TABLE AS
  // only when every source of the plan is a plain scan (BATCH_CREATE_TABLE_AS). Keep joins and subqueries out of it.
  const typedSql = `CREATE TEMP TABLE ${table} AS
       SELECT ${ord}${stored.join(', ')}, __reason, CASE WHEN __reason IS NOT NULL THEN ${sourceJson} END AS __source,
         ${hashSql} AS __h
       FROM (SELECT *, ${reasonSql} AS __reason
             FROM (SELECT *, ${valueCols.join(', ')} FROM (SELECT ${ord}${rawCols.join(', ')} FROM ${source.relation}) l1) l2) l3`;
  // $1 (now) is bound only when a timestamp check uses it.
  const typedParams = typedSql.includes('$1') ? [now] : [];
  if (!source.hasOrdinal) await checkKeepsFileOrder(store, typedSql, typedParams);
  try {
    await store.run(typedSql, typedParams);
  } catch (err) {
    await source.checked(); // a broken file explains the failure
    throw err;
  }
  // Rows' rowids follow insertion (= file) order, from an offset (0 here; large for a table made in a transaction).
  const base = source.hasOrdinal ? '0' : String(await store.value(`SELECT coalesce(min(rowid), 0) FROM ${table}`));
  if (!/^[0-9]+$/.test(base)) throw new KairosError('INTERNAL', `unexpected rowid ${base}`);
  if (numbered) await numberRepeats(store, table, numbered, source.hasOrdinal ? '__ord' : 'rowid', options.sliceRows ?? SLICING.hashRows);
  const constants = absent.length > 0 ? `, ${absent.join(', ')}` : '';
  const typedSelect = `${source.hasOrdinal ? '' : `rowid - ${base} + 1 AS __ord, `}*${constants}`;
  const { structuralRejects, lineSql } = await source.afterRead();
  const columnMapping = Object.fromEntries([...mapping].map(([k, v]) => [k, v.label]));
  return { file, name, format: source.format, now, table, typedSelect, structuralRejects, lineSql, columnMapping, numbered: numbered !== null };
}

/** The preset's numbered column (EntityPreset.numbered), checked: an id column of the entity that the file feeds. */
function numberedColumn(preset: EntityPreset | undefined, entity: Entity, mapping: ReadonlyMap<string, SourceColumn>): string | null {
  const column = preset?.numbered;
  if (column === undefined) return null;
  const spec = SPECS[entity].columns.find((c) => c.name === column);
  if (spec?.kind !== 'id' || !SPECS[entity].key.includes(column) || !mapping.has(column)) {
    throw new KairosError('INTERNAL', `preset numbers ${column}, which is not a key id column fed by the file`);
  }
  return column;
}

/**
 * Numbers the rows of the scratch `table` sharing a value of `column` (read as `value-1`, see readSource): the k-th in
 * file order (`order`: rowid or __ord) becomes `value-k`. Rows of a value seen once, nearly all, keep `-1` untouched:
 * the repeated values are found by their hashes (`__h`), grouped in slices of at most `hashRows` rows as in
 * skipRepeated, and only their rows are ranked and updated. Rejected rows are numbered too, so that a row's id does
 * not change when another row of the same value is mended and the file loaded again.
 */
async function numberRepeats(store: Store, table: string, column: string, order: string, hashRows: number): Promise<void> {
  await findRepeatedHashes(store, table, Number(await store.value(`SELECT count(*) FROM ${table}`)), hashRows);
  await store.run('DROP TABLE IF EXISTS __seq');
  await store.run(
    `CREATE TEMP TABLE __seq AS SELECT r, k FROM (
       SELECT ${order} AS r, row_number() OVER (PARTITION BY ${column} ORDER BY ${order}) AS k FROM ${table}
       WHERE __h IN (SELECT __h FROM __dup_h))
     WHERE k > 1`,
  );
  await store.run(`UPDATE ${table} t SET ${column} = left(t.${column}, -2) || '-' || s.k::VARCHAR FROM __seq s WHERE t.${order} = s.r`);
  await store.run('DROP TABLE __seq');
  await store.run('DROP TABLE __dup_h');
}

/** Steps 2 and 3 of a file, inside the transaction: rejects, then deduplicated rows (and stubs) written, then its batch. */
async function writeFile(store: Store, f: ReadFile, options: IngestOptions, progress: (message: string) => void): Promise<FileReport> {
  const entity = options.entity;
  const spec = SPECS[entity];
  const { file, name, now } = f;
  const batchId = Number(await store.value('SELECT coalesce(max(batch_id), 0) + 1 FROM ingest_batches'));
  if (f.table === null) {
    const empty: FileReport = {
      file,
      format: f.format,
      batchId,
      read: 0,
      loaded: 0,
      updated: 0,
      rejected: 0,
      duplicates: 0,
      rejectReasons: [],
      rejectsFile: null,
      customersCreated: 0,
      productsCreated: 0,
      columnMapping: {},
      unknownEventTypes: {},
    };
    await recordBatch(store, empty, entity, options.preset, now);
    return empty;
  }
  await store.run('DROP VIEW IF EXISTS __typed');
  await store.run(`CREATE TEMP VIEW __typed AS SELECT ${f.typedSelect} FROM ${f.table}`);

  // 2. Rejects: the failed rows with their line and source values, plus rows the reader could not split.
  const { structuralRejects, lineSql } = f;
  const fieldRejected = Number(await store.value('SELECT count(*) FROM __typed WHERE __reason IS NOT NULL'));
  if (fieldRejected > 0) {
    await store.run(`INSERT INTO rejects SELECT ${batchId}, ?, ${lineSql}, __reason, __source::VARCHAR FROM __typed WHERE __reason IS NOT NULL`, [file]);
  }
  for (const r of structuralRejects) {
    await store.run(`INSERT INTO rejects VALUES (?, ?, ?, ?, ?)`, [batchId, file, r.line, r.reason, r.raw]);
  }
  const rejected = fieldRejected + structuralRejects.length;
  const read = Number(await store.value('SELECT count(*) FROM __typed')) + structuralRejects.length;
  const valid = read - rejected;

  // 3. Keep one of rows equal on the natural key, drop those already stored, write.
  progress(`${name}: deduplicating and writing`);
  let inserted = 0;
  let updated = 0;
  let customersCreated = 0;
  let productsCreated = 0;
  if (spec.upsert) {
    await store.run('DROP TABLE IF EXISTS __valid');
    await store.run(
      `CREATE TEMP TABLE __valid AS SELECT ${derivedSql(entity)} FROM __typed WHERE __reason IS NULL
         QUALIFY row_number() OVER (PARTITION BY ${spec.key.join(', ')} ORDER BY __ord) = 1`,
    );
    ({ inserted, updated } = await upsertEntity(store, entity, batchId));
  } else {
    // Stubs first: their aggregates then run before the insert leaves the new rows' blocks cached (a lower peak memory).
    customersCreated = await createCustomerStubs(store, entity, batchId);
    productsCreated = await createProductStubs(store, entity, batchId);
    const slicing = options.sliceRows ? { hashRows: options.sliceRows, keyRows: options.sliceRows } : SLICING;
    inserted = await insertNew(store, entity, batchId, valid, slicing, f.numbered);
  }
  const duplicates = valid - inserted - updated;
  const report: FileReport = {
    file,
    format: f.format,
    batchId,
    read,
    loaded: inserted + updated,
    updated,
    rejected,
    duplicates,
    rejectReasons: rejected > 0 ? await reasonCounts(store, batchId) : [],
    rejectsFile: rejected > 0 ? rejectsPath(store, options, batchId, name) : null,
    customersCreated,
    productsCreated,
    columnMapping: f.columnMapping,
    unknownEventTypes: entity === 'events' ? await unknownEventTypes(store, batchId) : {},
  };
  await recordBatch(store, report, entity, options.preset, now);
  await store.run('DROP VIEW IF EXISTS __typed');
  for (const t of ['__valid', '__skip', '__dup_h']) await store.run(`DROP TABLE IF EXISTS ${t}`);
  return report;
}

/**
 * Fails unless DuckDB will write the rows of `sql` (a CREATE TABLE AS) in the order its scan reads them, which is what
 * makes rowid the file order: with several threads only a BATCH_CREATE_TABLE_AS plan does (a join in the query, even
 * an IN list DuckDB rewrites to one, gives a plan that interleaves the threads' rows). Costs one planning of the query.
 */
async function checkKeepsFileOrder(store: Store, sql: string, params: readonly string[]): Promise<void> {
  const threads = Number(await store.value("SELECT current_setting('threads')"));
  if (threads <= 1) return;
  const plan = (await store.all(`EXPLAIN ${sql}`, params)).map((row) => Object.values(row).join('\n')).join('\n');
  if (!plan.includes('BATCH_CREATE_TABLE_AS')) {
    throw new KairosError('INTERNAL', 'reading the file would not keep its line order (the read query plans a join); line numbers would be wrong');
  }
}

/**
 * Orders and events: inserts the file's valid rows, less those equal on every key column to an earlier row of the file
 * (skipRepeated; the first is kept; none when the file's rows are `numbered`) or to a stored row (skipStored, at a
 * cost that follows the file rather than the store). Returns the rows inserted.
 */
async function insertNew(store: Store, entity: Entity, batchId: number, validRows: number, slicing: Slicing, numbered: boolean): Promise<number> {
  // No table written here keeps an order that means anything: the scratch tables are sets, and the stored order of order
  // lines and events means nothing (queries sort). With insertion order kept, DuckDB writes the result of a join on one
  // thread, or in pieces that the next checkpoint rewrites (a BATCH_INSERT of a file read in parallel): each as slow
  // again as the insert on 10M rows. So DuckDB may write on every thread, each filling whole row groups.
  return withoutInsertionOrder(store, async () => {
    const withinFile = numbered ? await noRepeats(store) : await skipRepeated(store, entity, validRows, slicing.hashRows);
    await skipStored(store, entity, validRows, slicing.keyRows);
    const skipped = Number(await store.value('SELECT count(*) FROM __skip'));
    // A row may be skipped twice (repeated in the file and stored), except when no row repeats another of the file:
    // then as many skipped as valid rows (a file re-ingested whole) leaves nothing to insert.
    if (withinFile === 0 && skipped === validRows) return 0;
    const cols = insertColumns(entity);
    const derived = derivedColumns(entity);
    const values = cols.map((c) => `${derived[c] ?? c}`).join(', ');
    let inserted = 0;
    for (const range of await unskippedRanges(store, skipped, slicing.keyRows)) {
      inserted += Number(
        await store.value(
          `INSERT INTO ${entity} (${cols.join(', ')}, batch_id) SELECT ${values}, ${batchId} FROM __typed
             WHERE __reason IS NULL${range}`,
        ),
      );
    }
    return inserted;
  });
}

/**
 * Creates `__skip` (the __ord of rows to leave out) with the rows repeating an earlier row of the file; returns their
 * count. Repeats are rare, so candidates are found by a 64-bit hash of the key (a cheap aggregate on one column) and
 * confirmed by comparing the whole key on those few rows only. Hashes seen twice are found in slices of the hash
 * space: a hash table of every row's hash at once would take ~50 bytes a row (500 MB for 10M rows); a slice of at
 * most `hashRows` takes a fraction of that, for the same work.
 */
async function skipRepeated(store: Store, entity: Entity, validRows: number, hashRows: number): Promise<number> {
  const key = SPECS[entity].key;
  const derived = derivedColumns(entity);
  const keyCols = key.map((k) => `${derived[k] ?? k} AS ${k}`).join(', ');
  await findRepeatedHashes(store, '__typed', validRows, hashRows);
  await store.run('DROP TABLE IF EXISTS __skip');
  await store.run(
    `CREATE TEMP TABLE __skip AS SELECT __ord FROM (
       SELECT __ord, ${keyCols} FROM __typed
       WHERE __h IN (SELECT __h FROM __dup_h))
     QUALIFY row_number() OVER (PARTITION BY ${key.join(', ')} ORDER BY __ord) > 1`,
  );
  return Number(await store.value('SELECT count(*) FROM __skip'));
}

/**
 * Creates `__dup_h` with the values of `__h` that `relation` (of about `rows` rows) holds more than once, found in
 * slices of the hash space of at most `hashRows` rows each (see skipRepeated).
 */
async function findRepeatedHashes(store: Store, relation: string, rows: number, hashRows: number): Promise<void> {
  await store.run('DROP TABLE IF EXISTS __dup_h');
  await store.run('CREATE TEMP TABLE __dup_h (__h UBIGINT)');
  const slices = Math.max(1, Math.ceil(rows / hashRows));
  for (let k = 0; k < slices; k++) {
    const slice = slices > 1 ? ` AND __h % ${slices} = ${k}` : '';
    await store.run(`INSERT INTO __dup_h SELECT __h FROM ${relation} WHERE __h IS NOT NULL${slice} GROUP BY __h HAVING count(*) > 1`);
  }
}

/** Creates an empty `__skip`: a file whose rows are numbered (numberRepeats) repeats none of its own rows. */
async function noRepeats(store: Store): Promise<number> {
  await store.run('DROP TABLE IF EXISTS __skip');
  await store.run('CREATE TEMP TABLE __skip (__ord BIGINT)');
  return 0;
}

/**
 * Conditions (to append to a WHERE clause) leaving out the `skipped` rows of `__skip`, by an anti-join on __ord whose
 * hash table holds them: past `keyRows` of them (a file mostly stored already), one condition per range of `keyRows`
 * values of __ord, each with its own anti-join.
 */
async function unskippedRanges(store: Store, skipped: number, keyRows: number): Promise<string[]> {
  if (skipped === 0) return [''];
  if (skipped <= keyRows) return [' AND __ord NOT IN (SELECT __ord FROM __skip)'];
  const bounds = await store.one<{ lo: number; hi: number }>('SELECT min(__ord) AS lo, max(__ord) AS hi FROM __typed');
  const ranges: string[] = [];
  for (let a = Math.trunc(bounds?.lo ?? 0); a <= Math.trunc(bounds?.hi ?? 0); a += keyRows) {
    const range = `__ord BETWEEN ${a} AND ${a + keyRows - 1}`;
    ranges.push(` AND ${range} AND __ord NOT IN (SELECT __ord FROM __skip WHERE ${range})`);
  }
  return ranges;
}

/** How many rows the duplicate search holds in a hash table at once (see insertNew, skipStored). */
interface Slicing {
  /** Most key hashes grouped at once (8 bytes a row, ~50 in the aggregate). */
  readonly hashRows: number;
  /** Most rows of whole keys (or of __ord for the insert) in a join's hash table at once (~150 bytes a row). */
  readonly keyRows: number;
}

const SLICING: Slicing = { hashRows: 2_000_000, keyRows: 1_000_000 };

/**
 * Adds to `__skip` the valid rows of the file already stored (orders, events), comparing the whole key, but reading of
 * the store only what the file can match. Every key holds a timestamp (ordered_at, occurred_at), so:
 * 1. the stored rows sharing a timestamp with a valid row of the file are found by a scan of that one column of the
 *    store, in a join whose hash table holds the file's timestamps (`__cand`: their rowids);
 * 2. only those rows' keys are read and compared with the file's rows on every key column. Up to `keyRows` of them,
 *    they are read by rowid (DuckDB then skips the row groups holding none); more (a file mostly stored already), the
 *    stored rows of the file's time span are read.
 * A file of more than `keyRows` rows, or with more candidates, goes by ranges of its timestamps, each holding about
 * `keyRows` of its rows (and of the stored rows compared with them): no hash table holds much more than `keyRows`
 * rows. A day's file of new lines into 10M stored lines costs nothing in the store (its lines are later than any
 * stored), or a scan of one column when it repeats a few stored lines; re-ingesting the 10M file compares every line,
 * in 10 ranges, where one join of both whole sides held 3 GB.
 */
async function skipStored(store: Store, entity: Entity, validRows: number, keyRows: number): Promise<void> {
  const spec = SPECS[entity];
  const at = spec.columns.find((c) => c.kind === 'timestamp' && spec.key.includes(c.name))?.name;
  if (at === undefined) throw new KairosError('INTERNAL', `no timestamp in the key of ${entity}`);
  // The stored span (DuckDB answers from the column's statistics): lines of a later day cannot be stored, and when no
  // line of the file falls in it the join below has an empty hash table, and DuckDB then skips the scan of the store.
  const span = await store.one<{ first: string | null; last: string | null }>(`SELECT min(${at})::VARCHAR AS first, max(${at})::VARCHAR AS last FROM ${entity}`);
  if (!span?.first || !span.last) return;
  const fileRows = (range: TimeRange): string => `FROM __typed WHERE __reason IS NULL${range.sql}`;
  await store.run('DROP TABLE IF EXISTS __cand');
  await store.run('CREATE TEMP TABLE __cand (r BIGINT)');
  let candidates = 0;
  for (const range of await timeRanges(store, at, validRows, Math.ceil(validRows / keyRows))) {
    await store.run(
      `INSERT INTO __cand SELECT rowid FROM ${entity}
         WHERE ${at} IN (SELECT ${at} ${fileRows(range)} AND ${at} BETWEEN ?::TIMESTAMP AND ?::TIMESTAMP)${range.sql}`,
      [...range.params, span.first, span.last, ...range.params],
    );
    candidates = Number(await store.value('SELECT count(*) FROM __cand'));
    if (candidates > keyRows) break; // too many to read by rowid: step 2 goes by time ranges (a lower bound will do)
  }
  if (candidates === 0) {
    await store.run('DROP TABLE __cand');
    return;
  }
  const derived = derivedColumns(entity);
  const keyCols = spec.key.map((k) => `${derived[k] ?? k} AS ${k}`).join(', ');
  const same = spec.key.map((k) => `t.${k} IS NOT DISTINCT FROM s.${k}`).join(' AND ');
  const byRowid = candidates <= keyRows;
  if (!byRowid) await store.run('DROP TABLE __cand');
  for (const range of await timeRanges(store, at, validRows, Math.ceil(Math.max(validRows, candidates) / keyRows))) {
    // The stored rows of the range, unless there are many more of them than the file's: then those sharing a timestamp.
    const many = !byRowid && Number(await store.value(`SELECT count(*) FROM ${entity} WHERE true${range.sql}`, range.params)) > 2 * keyRows;
    const storedRows = byRowid ? 'rowid IN (SELECT r FROM __cand)' : many ? `${at} IN (SELECT ${at} ${fileRows(range)})` : 'true';
    await store.run(
      `INSERT INTO __skip SELECT t.__ord FROM (SELECT __ord, ${keyCols} ${fileRows(range)}) t
         SEMI JOIN (SELECT ${spec.key.join(', ')} FROM ${entity} WHERE ${storedRows}${range.sql}) s ON ${same}`,
      [...range.params, ...(many ? range.params : []), ...range.params],
    );
  }
  if (byRowid) await store.run('DROP TABLE __cand');
}

/** A range of timestamps: SQL to append to a WHERE clause (` AND ...`, or '' for all) and its bound values. */
interface TimeRange {
  readonly sql: string;
  readonly params: readonly string[];
}

/**
 * `count` ranges of `column` (ordered_at, occurred_at) holding about as many valid rows of the file each, from the
 * quantiles of a systematic sample of them; [''] for one. The ranges cover every timestamp once, whatever the bounds:
 * each row of the file and of the store falls in exactly one. Timestamps bound as text keep their microseconds.
 */
async function timeRanges(store: Store, column: string, validRows: number, count: number): Promise<TimeRange[]> {
  if (count <= 1) return [{ sql: '', params: [] }];
  const step = Math.max(1, Math.floor(validRows / 100_000));
  const fractions = Array.from({ length: count - 1 }, (_, k) => (k + 1) / count);
  const row = await store.one<{ bounds: string[] | null }>(
    `SELECT list_distinct(list_transform(quantile_disc(${column}, [${fractions.join(', ')}]), b -> b::VARCHAR)) AS bounds
       FROM __typed WHERE __reason IS NULL AND __ord % ${step} = 0`,
  );
  const bounds = [...(row?.bounds ?? [])].sort();
  const ranges: TimeRange[] = [];
  for (let k = 0; k <= bounds.length; k++) {
    const lo = bounds[k - 1];
    const hi = bounds[k];
    const sql = `${lo !== undefined ? ` AND ${column} >= ?::TIMESTAMP` : ''}${hi !== undefined ? ` AND ${column} < ?::TIMESTAMP` : ''}`;
    ranges.push({ sql, params: [lo, hi].filter((b): b is string => b !== undefined) });
  }
  return ranges;
}

/** Runs `fn` with DuckDB's preserve_insertion_order off, restoring the setting after. */
async function withoutInsertionOrder<T>(store: Store, fn: () => Promise<T>): Promise<T> {
  const previous = await store.value<boolean>("SELECT current_setting('preserve_insertion_order')");
  if (!previous) return fn();
  await store.run('SET preserve_insertion_order = false');
  try {
    return await fn();
  } finally {
    await store.run('SET preserve_insertion_order = true');
  }
}

/** Reasons of lines excluded by config start with this. */
const EXCLUDED_PREFIX = 'excluded by config:';

/** DuckDB variable holding the excluded product ids (a VARCHAR[]) while a file is read. */
const EXCLUDED_VARIABLE = '__kairos_excluded_products';

/** Reasons that need several columns: orders' price/amount, discount and excluded products (when any are). */
function entityReasonSql(entity: Entity, hasExcluded: boolean): string {
  if (entity !== 'orders') return 'NULL';
  const excluded = hasExcluded
    ? `WHEN product_id IS NOT NULL AND list_contains(getvariable('${EXCLUDED_VARIABLE}'), product_id)
        THEN '${EXCLUDED_PREFIX} product "' || product_id || '" is not a product line (ingest excludeProducts)'`
    : '';
  const reason = `CASE
      WHEN unit_price IS NULL AND amount IS NULL THEN 'unit_price and amount are both empty'
      WHEN discount < 0 AND coalesce(quantity, 1) > 0 AND coalesce(amount, 0) >= 0 AND coalesce(status, 'completed') = 'completed'
        THEN 'discount ' || discount::VARCHAR || ' is negative on a sale line'
      WHEN unit_price IS NOT NULL AND amount IS NULL AND abs(coalesce(discount, 0)) > abs(coalesce(quantity, 1)) * unit_price
        THEN 'discount ' || discount::VARCHAR || ' exceeds the line value ' || (abs(coalesce(quantity, 1)) * unit_price)::VARCHAR
      ${excluded}
      ELSE NULL END`;
  return reason;
}

/**
 * Stored values computed from the parsed columns, for the columns where they differ (docs/data-model.md):
 * an order line is negative (a return or cancellation) when its quantity or amount is negative or its status
 * says so; its amount is the given line total, or |quantity| x unit_price - discount; quantity defaults to 1.
 */
function derivedColumns(entity: Entity): Readonly<Record<string, string>> {
  if (entity === 'customers' || entity === 'products') return {};
  if (entity === 'events') return {};
  const qty = 'coalesce(quantity, 1)';
  const negative = `(${qty} < 0 OR coalesce(amount, 0) < 0 OR status IN ('cancelled', 'returned'))`;
  const sign = `CASE WHEN ${negative} THEN -1 ELSE 1 END`;
  // Money off is an absolute amount: a return line may carry it mirrored (negative).
  const off = 'abs(coalesce(discount, 0))';
  const gross = `CASE WHEN amount IS NOT NULL THEN abs(amount) ELSE abs(${qty}) * unit_price - ${off} END`;
  return {
    quantity: `${sign} * abs(${qty})`,
    unit_price: `coalesce(unit_price, (abs(amount) + ${off}) / abs(${qty}))`,
    discount: off,
    amount: `${sign} * (${gross})`,
    status: `coalesce(status, CASE WHEN ${negative} THEN 'returned' ELSE 'completed' END)`,
  };
}

/** Customers and products, deduplicated in `__valid`: columns prefixed v_. */
function derivedSql(entity: Entity): string {
  const cols = SPECS[entity].columns.map((c) => `${c.name} AS v_${c.name}`);
  return `__ord, ${cols.join(', ')}, __attributes AS v_attributes`;
}

/** No attributes. */
const NULL_JSON = 'NULL::JSON';

/**
 * Customers and products keep source columns the contract does not name in an `attributes` JSON object:
 * the preset's list, or else every unmapped column.
 */
function attributesSql(entity: Entity, found: readonly string[], mapping: Map<string, { label: string }>, preset: EntityPreset | undefined): string {
  if (entity !== 'customers' && entity !== 'products') return NULL_JSON;
  const used = new Set([...mapping.values()].map((m) => m.label));
  const lower = new Map(found.map((c) => [c.toLowerCase(), c]));
  const names = preset?.attributes
    ? preset.attributes.map((a) => lower.get(a.toLowerCase())).filter((a): a is string => a !== undefined)
    : found.filter((c) => !used.has(c));
  if (names.length === 0) return NULL_JSON;
  return `json_object(${names.map((n) => `${quoteLiteral(n)}, nullif(trim(${quoteIdentifier(n)}), '')`).join(', ')})`;
}

function insertColumns(entity: Entity): string[] {
  switch (entity) {
    case 'orders':
      return ['order_id', 'customer_id', 'ordered_at', 'product_id', 'quantity', 'unit_price', 'discount', 'amount', 'status'];
    case 'events':
      return ['customer_id', 'occurred_at', 'type', 'product_id', 'campaign_id', 'value'];
    case 'customers':
      return ['customer_id', 'created_at', 'email', 'country', 'attributes'];
    case 'products':
      return ['product_id', 'name', 'category', 'price', 'attributes'];
  }
}

/** Customers and products: new ids are inserted, changed rows (or stubs made from orders) updated, identical rows are duplicates. */
async function upsertEntity(store: Store, entity: Entity, batchId: number): Promise<{ inserted: number; updated: number }> {
  const cols = insertColumns(entity);
  const idCol = cols[0] as string;
  const rest = cols.slice(1);
  const changed = rest.map((c) => (c === 'attributes' ? `v.v_${c}::VARCHAR IS DISTINCT FROM s.${c}::VARCHAR` : `v.v_${c} IS DISTINCT FROM s.${c}`)).join(' OR ');
  const updates = Number(
    await store.value(
      `SELECT count(*) FROM __valid v JOIN ${entity} s ON v.v_${idCol} = s.${idCol} WHERE s.source <> '${entity}' OR ${changed}`,
    ),
  );
  await store.run(
    `UPDATE ${entity} s SET ${rest.map((c) => `${c} = coalesce(v.v_${c}, s.${c})`).join(', ')}, source = '${entity}', batch_id = ${batchId}
       FROM __valid v WHERE v.v_${idCol} = s.${idCol} AND (s.source <> '${entity}' OR ${changed})`,
  );
  // The insert's own count: counting the batch's rows after would scan the whole table.
  const inserted = Number(
    await store.value(
      `INSERT INTO ${entity} (${cols.join(', ')}, source, batch_id)
         SELECT ${cols.map((c) => `v.v_${c}`).join(', ')}, '${entity}', ${batchId} FROM __valid v ANTI JOIN ${entity} s ON v.v_${idCol} = s.${idCol}`,
    ),
  );
  return { inserted, updated: updates };
}

/**
 * The first non-NULL value of `column` in file order, as `any_value(column ORDER BY __ord)` but without sorting
 * each group's rows (`__ord` is unique).
 */
function firstValueSql(column: string): string {
  return `arg_min(${column}, __ord) FILTER (WHERE ${column} IS NOT NULL)`;
}

/** Customers first seen in orders or events become stub customers (created_at = first activity). */
async function createCustomerStubs(store: Store, entity: Entity, batchId: number): Promise<number> {
  const time = entity === 'orders' ? 'ordered_at' : 'occurred_at';
  const country = entity === 'orders' ? firstValueSql('country') : 'NULL';
  // Excluded order lines (postage, fees) still prove the customer exists.
  const activity = `(SELECT customer_id, min(${time}) AS first, ${country} AS country FROM __typed
    WHERE __reason IS NULL OR starts_with(__reason, '${EXCLUDED_PREFIX}') GROUP BY customer_id)`;
  await store.run(`DROP TABLE IF EXISTS __activity`);
  await store.run(`CREATE TEMP TABLE __activity AS SELECT * FROM ${activity}`);
  // Stubs made earlier can only exist when the table holds a row: a first load (1M customers) skips the update's join.
  const hadCustomers = Number(await store.value('SELECT count(*) FROM (SELECT 1 FROM customers LIMIT 1)')) > 0;
  const created = Number(
    await store.value(
      `INSERT INTO customers (customer_id, created_at, country, source, batch_id)
         SELECT a.customer_id, a.first, a.country, '${entity}', ${batchId} FROM __activity a ANTI JOIN customers c ON a.customer_id = c.customer_id`,
    ),
  );
  // A stub created earlier moves its created_at back if this file shows earlier activity (batch_id: the batch that
  // last wrote the row, as an upsert's; kairos serve reads the customers of newer batches live).
  if (hadCustomers) {
    await store.run(
      `UPDATE customers c SET created_at = a.first, batch_id = ${batchId} FROM __activity a
         WHERE c.customer_id = a.customer_id AND c.source <> 'customers' AND a.first < c.created_at`,
    );
  }
  await store.run(`DROP TABLE __activity`);
  return created;
}

/** Products first seen in orders or events become stub products (name and category from the order lines when given). */
async function createProductStubs(store: Store, entity: Entity, batchId: number): Promise<number> {
  const extra =
    entity === 'orders'
      ? `${firstValueSql('product_name')}, ${firstValueSql('category')}, median(${derivedColumns('orders')['unit_price']})`
      : 'NULL, NULL, NULL';
  return Number(
    await store.value(
      `INSERT INTO products (product_id, name, category, price, source, batch_id)
         SELECT t.product_id, ${extra}, '${entity}', ${batchId} FROM __typed t ANTI JOIN products p ON t.product_id = p.product_id
         WHERE t.__reason IS NULL AND t.product_id IS NOT NULL GROUP BY t.product_id`,
    ),
  );
}

/** Events of a batch whose type is not one of the contract's, per type, most frequent first (the batch's rows lie last). */
async function unknownEventTypes(store: Store, batchId: number): Promise<Record<string, number>> {
  const rows = await store.all<{ type: string; n: number }>(
    `SELECT type, count(*)::BIGINT AS n FROM events WHERE batch_id = ? AND NOT list_contains([${[...EVENT_TYPES, ...PROMOTION_EVENT_TYPES].map((t) => `'${t}'`).join(', ')}], type)
     GROUP BY type ORDER BY n DESC, type`,
    [batchId],
  );
  return Object.fromEntries(rows.map((r) => [r.type, r.n]));
}

async function reasonCounts(store: Store, batchId: number): Promise<RejectReasonCount[]> {
  // Group reasons by their wording with the quoted value and numbers blanked, most frequent first. The standard's
  // number in our own wording is kept ("ISO 8601" read "ISO N"); RE2 has no look-ahead to leave it out otherwise.
  return store.all<{ reason: string; count: number }>(
    `SELECT replace(regexp_replace(regexp_replace(replace(reason, 'ISO 8601', 'ISO_8601'), '"[^"]*"', '"…"', 'g'), ' -?[0-9][0-9.e+-]*', ' N', 'g'), 'ISO_8601', 'ISO 8601') AS reason, count(*) AS count
       FROM rejects WHERE batch_id = ? GROUP BY 1 ORDER BY count DESC, reason`,
    [batchId],
  );
}

/**
 * `kairos-rejects/STORE-batch-N-FILE.rejects.csv` beside the store: named after the store too, since batch numbers
 * restart in each store and two stores may share a folder (and a --rejects-dir).
 */
function rejectsPath(store: Store, options: IngestOptions, batchId: number, name: string): string {
  const memory = store.path === ':memory:';
  const dir = options.rejectsDir ?? (memory ? resolve('kairos-rejects') : join(dirname(store.path), 'kairos-rejects'));
  const storeName = memory ? 'memory' : basename(store.path).replace(/\.duckdb$/, '');
  return join(dir, `${storeName}-batch-${batchId}-${name.replace(/\.(gz|zst)$/, '')}.rejects.csv`);
}

async function recordBatch(store: Store, r: FileReport, entity: Entity, preset: string | undefined, now: string): Promise<void> {
  await store.run(
    `INSERT INTO ingest_batches VALUES (?, ?, ?, ?, ?, ?::TIMESTAMP, now()::TIMESTAMP, ?, ?, ?, ?, ?, ?)`,
    [r.batchId, entity, r.file, r.format, preset ?? null, now, r.read, r.loaded, r.updated, r.rejected, r.duplicates, r.rejectsFile],
  );
}
