// Saved segments: a name and a filter over customer_scores, stored in the store, counted at every run, exported for activation.
import { KairosError } from '../errors.js';
import type { Store } from '../store/db.js';
import { compileFilter, parseFilter, type CompiledFilter, type FilterColumnType } from './filter.js';

/** A segment's name: what a person types and a CRM shows; letters, digits, spaces and - _ . : ' & ( ) /. */
const NAME = /^[\p{L}\p{N}][\p{L}\p{N} _.:'&()/-]{0,79}$/u;

export interface Segment {
  readonly name: string;
  readonly filter: string;
  readonly description: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** The relation segments select from: the customers with their published scores. */
export const SEGMENT_SOURCE = 'customer_scores';

/** DuckDB type -> how the filter language compares it; other types (JSON, lists, maps, structs) are not filterable. */
function filterType(duckType: string): FilterColumnType | null {
  const t = duckType.toUpperCase();
  if (/^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|REAL)$/.test(t) || t.startsWith('DECIMAL')) return 'number';
  if (t === 'VARCHAR') return 'text';
  if (t === 'DATE' || t.startsWith('TIMESTAMP')) return 'date';
  if (t === 'BOOLEAN') return 'boolean';
  return null;
}

/** The columns a filter may use: every column of customer_scores of a type the language compares, by name. */
export async function filterColumns(store: Store): Promise<Map<string, FilterColumnType>> {
  const rows = await store.all<{ column_name: string; data_type: string }>(
    `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position`,
    [SEGMENT_SOURCE],
  );
  const out = new Map<string, FilterColumnType>();
  for (const r of rows) {
    const type = filterType(r.data_type);
    if (type !== null) out.set(r.column_name.toLowerCase(), type);
  }
  return out;
}

/** Parses and compiles a filter against the store's columns now (a USAGE error pointing at the place otherwise). */
export async function compileSegmentFilter(store: Store, filter: string): Promise<CompiledFilter> {
  return compileFilter(filter, parseFilter(filter), await filterColumns(store));
}

/**
 * Customers matching a filter now, in customer_scores or in `source`: a relation of the same rows holding the
 * filter's columns (the scores layer's customerScoresFor, which joins only the scorers the filter reads).
 */
export async function countFilter(store: Store, compiled: CompiledFilter, source: string = SEGMENT_SOURCE): Promise<number> {
  return Number(await store.value(`SELECT count(*) FROM ${source} WHERE ${compiled.sql}`, [...compiled.params]));
}

function checkName(name: string): void {
  if (!NAME.test(name)) {
    throw new KairosError('USAGE', `invalid segment name ${JSON.stringify(name)}`, {
      hint: "1 to 80 characters: letters, digits, spaces and - _ . : ' & ( ) /, starting with a letter or a digit",
    });
  }
}

const rowOf = (r: { name: string; filter: string; description: string | null; created_at: string; updated_at: string }): Segment => ({
  name: r.name,
  filter: r.filter,
  description: r.description,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const SELECT = `SELECT name, filter, description, strftime(created_at, '%Y-%m-%dT%H:%M:%SZ') AS created_at, strftime(updated_at, '%Y-%m-%dT%H:%M:%SZ') AS updated_at FROM segments`;

/**
 * Saves a segment (the filter checked against the store's columns first). An existing name is a USAGE error unless
 * `replace`, which keeps its creation time. Returns the segment and its size now.
 */
export async function saveSegment(store: Store, input: { name: string; filter: string; description?: string | null; replace?: boolean }): Promise<{ segment: Segment; customers: number }> {
  checkName(input.name);
  const compiled = await compileSegmentFilter(store, input.filter);
  const customers = await countFilter(store, compiled);
  await store.transaction(async () => {
    const exists = Number(await store.value('SELECT count(*) FROM segments WHERE name = ?', [input.name])) > 0;
    if (exists && !input.replace) {
      throw new KairosError('USAGE', `segment "${input.name}" exists already`, { hint: 'use --replace to change its filter, or another name' });
    }
    if (exists) {
      await store.run('UPDATE segments SET filter = ?, description = ?, updated_at = now()::TIMESTAMP WHERE name = ?', [input.filter, input.description ?? null, input.name]);
    } else {
      await store.run('INSERT INTO segments VALUES (?, ?, ?, now()::TIMESTAMP, now()::TIMESTAMP)', [input.name, input.filter, input.description ?? null]);
    }
  });
  return { segment: await getSegment(store, input.name), customers };
}

/** Every saved segment, by name. */
export async function listSegments(store: Store): Promise<Segment[]> {
  return (await store.all<{ name: string; filter: string; description: string | null; created_at: string; updated_at: string }>(`${SELECT} ORDER BY name`)).map(rowOf);
}

/** One segment; NOT_FOUND naming the saved ones otherwise. */
export async function getSegment(store: Store, name: string): Promise<Segment> {
  const row = await store.one<{ name: string; filter: string; description: string | null; created_at: string; updated_at: string }>(`${SELECT} WHERE name = ?`, [name]);
  if (!row) {
    const names = (await listSegments(store)).map((s) => s.name);
    throw new KairosError('NOT_FOUND', `no segment named "${name}"`, { hint: names.length > 0 ? `saved segments: ${names.slice(0, 10).join(', ')}` : 'create one with kairos segment create NAME --filter EXPR' });
  }
  return rowOf(row);
}

/** Deletes a segment (its recorded sizes stay: they are history). */
export async function deleteSegment(store: Store, name: string): Promise<void> {
  await getSegment(store, name);
  await store.run('DELETE FROM segments WHERE name = ?', [name]);
}

/** A segment's size at each run that recorded it, oldest first. */
export async function segmentHistory(store: Store, name: string): Promise<{ runId: number; asOf: string; customers: number | null; error: string | null }[]> {
  return (
    await store.all<{ run_id: number; as_of: string; customers: number | null; error: string | null }>(
      `SELECT z.run_id, strftime(r.as_of, '%Y-%m-%d') AS as_of, z.customers::DOUBLE AS customers, z.error
       FROM segment_sizes z JOIN score_runs r USING (run_id) WHERE z.segment = ? ORDER BY z.run_id`,
      [name],
    )
  ).map((r) => ({ runId: r.run_id, asOf: r.as_of, customers: r.customers === null ? null : Number(r.customers), error: r.error }));
}

/**
 * Records every saved segment's size over the published scores of `runId` (called by the run as it publishes). A
 * filter that no longer compiles (a column gone) is recorded with its error and no size, never failing the run.
 */
export async function recordSegmentSizes(store: Store, runId: number): Promise<void> {
  const segments = await listSegments(store);
  if (segments.length === 0) return;
  const columns = await filterColumns(store);
  for (const s of segments) {
    let customers: number | null = null;
    let error: string | null = null;
    try {
      customers = await countFilter(store, compileFilter(s.filter, parseFilter(s.filter), columns));
    } catch (err) {
      if (!(err instanceof KairosError) || err.code !== 'USAGE') throw err;
      error = err.message.split('\n')[0] ?? err.message;
    }
    await store.run('INSERT OR REPLACE INTO segment_sizes VALUES (?, ?, ?, ?)', [runId, s.name, customers, error]);
  }
}
