// Pages of customer_scores selected by score ranges, values, a filter expression or a saved segment, sorted on an allowed column, with an opaque cursor: every condition through the filter compiler, every value bound.
import { KairosError } from '../errors.js';
import type { Store } from '../store/db.js';
import { quoteIdentifier } from '../store/db.js';
import { compileFilter, parseFilter, type CompiledFilter, type FilterColumnType, type FilterNode, type Literal } from './filter.js';
import { filterColumns, getSegment, SEGMENT_SOURCE } from './segments.js';

/** What a page asks for; every part optional but the limit. */
export interface CustomerPageQuery {
  readonly limit: number;
  /** A filter expression of the segment language. */
  readonly filter?: string;
  /** A saved segment's name: its filter applies too. */
  readonly segment?: string;
  /** Inclusive bounds on columns: { clv_12m: { min: 200 } }. */
  readonly ranges?: Readonly<Record<string, { readonly min?: number; readonly max?: number }>>;
  /** Columns that must hold one of the values: { rfm_segment: ['At risk'] }. */
  readonly values?: Readonly<Record<string, readonly Literal[]>>;
  /** An allowed column, `-column` for descending; customer_id breaks ties (ascending). Default customer_id. */
  readonly sort?: string;
  /** The `next` of the previous page, for the same sort. */
  readonly cursor?: string;
}

export interface CustomerPage {
  readonly rows: Record<string, unknown>[];
  /** The cursor of the next page, null on the last. */
  readonly next: string | null;
  readonly sort: string;
}

/** What a cursor holds: the sort it belongs to, the last row's sort value (canonical form) and id. */
interface Cursor {
  readonly s: string;
  readonly v: number | string | boolean | null;
  readonly id: string;
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c), 'utf8').toString('base64url');
}

function decodeCursor(text: string, sort: string): Cursor {
  let c: unknown;
  try {
    c = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    c = null;
  }
  const v = (c as Partial<Cursor> | null)?.v;
  const ok = typeof c === 'object' && c !== null && typeof (c as Cursor).s === 'string' && typeof (c as Cursor).id === 'string' && (v === null || ['number', 'string', 'boolean'].includes(typeof v));
  if (!ok) throw new KairosError('VALIDATION', 'cursor: not a cursor of this API', { hint: 'pass the `next` of the previous page as it was given' });
  if ((c as Cursor).s !== sort) {
    throw new KairosError('VALIDATION', `cursor: it belongs to sort=${(c as Cursor).s}, not sort=${sort}`, { hint: 'keep the sort of the first page, or start again without a cursor' });
  }
  return c as Cursor;
}

/** The sort value as SQL in a form that compares exactly and survives JSON (timestamps to the microsecond, as text). */
function canonical(column: string, type: FilterColumnType): string {
  const c = quoteIdentifier(column);
  if (type === 'number') return `${c}::DOUBLE`;
  if (type === 'date') return `strftime(${c}::TIMESTAMP, '%Y-%m-%d %H:%M:%S.%f')`;
  return c;
}

/** Parses a sort spec against the allowed columns. */
function sortOf(sort: string, columns: ReadonlyMap<string, FilterColumnType>): { column: string; descending: boolean; type: FilterColumnType } {
  const descending = sort.startsWith('-');
  const column = (descending ? sort.slice(1) : sort).toLowerCase();
  const type = columns.get(column);
  if (type === undefined) {
    throw new KairosError('VALIDATION', `sort: unknown column "${column}"`, { hint: 'sort on a number, text, date or boolean column of customer_scores (GET /segments/columns lists them); -column for descending' });
  }
  return { column, descending, type };
}

/** The conditions of a query, each compiled by the filter compiler over the allow-list (positions in errors point into `filter`). */
async function conditions(store: Store, q: CustomerPageQuery, columns: ReadonlyMap<string, FilterColumnType>): Promise<CompiledFilter[]> {
  const out: CompiledFilter[] = [];
  if (q.filter !== undefined) out.push(compileFilter(q.filter, parseFilter(q.filter), columns));
  if (q.segment !== undefined) {
    const s = await getSegment(store, q.segment);
    out.push(compileFilter(s.filter, parseFilter(s.filter), columns));
  }
  // Ranges and values as filter trees, so that they meet the same allow-list and type checks as a typed filter.
  for (const [column, { min, max }] of Object.entries(q.ranges ?? {})) {
    const said = `${column} range`;
    for (const [op, v] of [['>=', min], ['<=', max]] as const) {
      if (v === undefined) continue;
      const tree: FilterNode = { type: 'compare', column, op, value: v, pos: 0, valuePos: 0 };
      out.push(compileFilter(said, tree, columns));
    }
  }
  for (const [column, values] of Object.entries(q.values ?? {})) {
    if (values.length === 0) continue;
    const tree: FilterNode = { type: 'in', column, negated: false, values, pos: 0, valuePos: 0 };
    out.push(compileFilter(`${column} in (...)`, tree, columns));
  }
  return out;
}

/** The SQL WHERE part of the query's conditions (true when none) and its values. */
export async function customerConditions(store: Store, q: Omit<CustomerPageQuery, 'limit'>): Promise<{ sql: string; params: (number | string | boolean)[] }> {
  const parts = await conditions(store, { ...q, limit: 1 }, await filterColumns(store));
  return { sql: parts.length === 0 ? 'true' : parts.map((p) => p.sql).join(' AND '), params: parts.flatMap((p) => [...p.params]) };
}

/**
 * One page of customer_scores rows meeting every condition, in the sort's order (NULLS LAST, then customer_id),
 * after the cursor's row: keyset pagination, so pages neither skip nor repeat rows while the published scores stay
 * the same, whatever the sort.
 */
export async function customerPage(store: Store, q: CustomerPageQuery): Promise<CustomerPage> {
  const columns = await filterColumns(store);
  const sortSpec = q.sort ?? 'customer_id';
  const sort = sortOf(sortSpec, columns);
  const parts = await conditions(store, q, columns);
  const where = parts.map((p) => p.sql);
  const params: (number | string | boolean | null)[] = parts.flatMap((p) => [...p.params]);
  const key = canonical(sort.column, sort.type);
  const id = quoteIdentifier('customer_id');
  if (q.cursor !== undefined) {
    const c = decodeCursor(q.cursor, sortSpec);
    const bound = sort.type === 'date' ? 'CAST(? AS TIMESTAMP)' : '?';
    const keyCmp = sort.type === 'date' ? `${quoteIdentifier(sort.column)}::TIMESTAMP` : key;
    if (c.v === null) {
      where.push(`(${key} IS NULL AND ${id} > ?)`);
      params.push(c.id);
    } else {
      where.push(`(${keyCmp} ${sort.descending ? '<' : '>'} ${bound} OR (${keyCmp} = ${bound} AND ${id} > ?) OR ${key} IS NULL)`);
      params.push(c.v, c.v, c.id);
    }
  }
  const order = `${key} ${sort.descending ? 'DESC' : 'ASC'} NULLS LAST, ${id}`;
  const rows = await store.all(
    `SELECT *, ${key} AS __sort_key FROM ${SEGMENT_SOURCE} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order} LIMIT ?`,
    [...params, q.limit + 1],
  );
  const page = rows.slice(0, q.limit);
  const last = page[page.length - 1];
  const next = rows.length > q.limit && last !== undefined ? encodeCursor({ s: sortSpec, v: (last['__sort_key'] ?? null) as Cursor['v'], id: String(last['customer_id']) }) : null;
  for (const r of page) delete r['__sort_key'];
  return { rows: page, next, sort: sortSpec };
}
