// A custom score's grid: its criteria compiled by the segments' filter language over the score columns, and the SQL that turns them into points and a scale.
import type { CustomScoreDefinition } from '../../config.js';
import { KairosError } from '../../errors.js';
import { compileFilter, parseFilter, type FilterColumnType } from '../../segments/filter.js';
import { quoteIdentifier, type SqlValue, type Store } from '../../store/db.js';
import type { ScoreUnit } from '../types.js';

/** A column a criterion may read: its filter type, the scorer that provides it (null: a column of customers), its unit. */
export interface GridColumn {
  readonly type: FilterColumnType;
  readonly scorer: string | null;
  readonly unit: ScoreUnit;
}

/** One criterion, compiled: a boolean SQL expression with its bound values and the columns it reads. */
export interface CompiledCriterion {
  /** 1-based, as people count. */
  readonly number: number;
  readonly label: string;
  readonly when: string;
  readonly points: number;
  readonly sql: string;
  readonly params: readonly SqlValue[];
  readonly columns: readonly string[];
}

/** How points become the score. */
export type GridScale =
  | { readonly kind: 'linear'; readonly min: number; readonly max: number }
  | { readonly kind: 'quantiles'; readonly grades: readonly string[] }
  | { readonly kind: 'cutoffs'; readonly grades: readonly string[]; readonly cutoffs: readonly number[] };

/** A custom score ready to run: its criteria, the range of points they can add up to, its scale and column names. */
export interface Grid {
  readonly definition: CustomScoreDefinition;
  readonly criteria: readonly CompiledCriterion[];
  /** Least and most points a customer can have: the sums of the negative and of the positive points. */
  readonly lowest: number;
  readonly highest: number;
  readonly scale: GridScale;
  /** The scorers whose columns the criteria read. */
  readonly dependsOn: readonly string[];
  readonly columns: { readonly score: string; readonly points: string; readonly criteria: string };
}

/** The customers columns a criterion may read (attributes, a JSON document, and batch bookkeeping are not filterable). */
export const CUSTOMER_FILTER_COLUMNS: ReadonlyMap<string, FilterColumnType> = new Map([
  ['customer_id', 'text'],
  ['created_at', 'date'],
  ['email', 'text'],
  ['country', 'text'],
  ['source', 'text'],
]);

/** The column names a custom score adds to customer_scores. */
export function gridColumnNames(name: string): Grid['columns'] {
  return { score: name, points: `${name}_points`, criteria: `${name}_criteria` };
}

/** The scale of a definition, resolved. */
function resolveScale(d: CustomScoreDefinition): GridScale {
  const s = d.scale;
  if ('grades' in s) return s.by === 'cutoffs' ? { kind: 'cutoffs', grades: s.grades, cutoffs: s.cutoffs } : { kind: 'quantiles', grades: s.grades };
  return { kind: 'linear', min: s.min, max: s.max };
}

/**
 * Compiles a definition (its shape checked by loadConfig) over the columns a criterion may read: each `when` parsed and
 * compiled by the saved segments' filter language (bound values, quoted identifiers from the allow-list). A filter that
 * does not parse, or reads an unknown column, is a USAGE error that names the score and the criterion, points at the
 * place and, for a column, names the nearest ones.
 */
export function compileGrid(d: CustomScoreDefinition, columns: ReadonlyMap<string, GridColumn>): Grid {
  const types = new Map([...columns].map(([k, v]) => [k, v.type] as const));
  const criteria = d.criteria.map((c, i): CompiledCriterion => {
    try {
      const compiled = compileFilter(c.when, parseFilter(c.when), types);
      return { number: i + 1, label: c.label ?? c.when, when: c.when, points: c.points, sql: compiled.sql, params: compiled.params, columns: compiled.columns };
    } catch (err) {
      if (!(err instanceof KairosError)) throw err;
      throw new KairosError('USAGE', `custom score ${d.name}, criterion ${i + 1}: ${err.message}`, {
        ...(err.hint === undefined ? {} : { hint: err.hint.replace('kairos segment columns lists them', 'any score or customer column of customer_scores') }),
        cause: err,
      });
    }
  });
  const dependsOn = [...new Set(criteria.flatMap((c) => c.columns.map((k) => columns.get(k)?.scorer ?? null)).filter((s): s is string => s !== null))];
  return {
    definition: d,
    criteria,
    lowest: d.criteria.reduce((s, c) => s + Math.min(c.points, 0), 0),
    highest: d.criteria.reduce((s, c) => s + Math.max(c.points, 0), 0),
    scale: resolveScale(d),
    dependsOn,
    columns: gridColumnNames(d.name),
  };
}

/**
 * The relation a grid's criteria read, as customer_scores shows it: the as-of customers' columns, then the results of
 * the scorers the grid depends on (`tableOf`), joined on customer_id. Creates the temp view `name` and returns it.
 */
export async function createGridInput(store: Store, grid: Grid, tableOf: (scorer: string) => string, name: string): Promise<string> {
  const customer = [...CUSTOMER_FILTER_COLUMNS.keys()].map((c) => `c.${quoteIdentifier(c)}`);
  const deps = grid.dependsOn.map((d, i) => ({ alias: `d${i}`, table: tableOf(d) }));
  await store.run(
    `CREATE OR REPLACE TEMP VIEW ${quoteIdentifier(name)} AS
     SELECT ${[...customer, ...deps.map((d) => `${d.alias}.* EXCLUDE (customer_id)`)].join(', ')}
     FROM asof_customers c ${deps.map((d) => `LEFT JOIN ${d.table} ${d.alias} ON ${d.alias}.customer_id = c.customer_id`).join(' ')}`,
  );
  return name;
}

/** Name of the 0/1 column of criterion k (1-based) in a flags table. */
export function flagColumn(k: number): string {
  return `m${k}`;
}

/**
 * Creates `table` (customer_id and one BOOLEAN per criterion, m1..mk; a filter on a missing value is false) from
 * `input`, a relation with customer_id and every column the criteria read.
 */
export async function createFlags(store: Store, grid: Grid, input: string, table: string): Promise<void> {
  const params: SqlValue[] = [];
  const flags = grid.criteria.map((c) => {
    params.push(...c.params);
    return `coalesce(${c.sql}, false) AS ${flagColumn(c.number)}`;
  });
  await store.run(`CREATE OR REPLACE TEMP TABLE ${quoteIdentifier(table)} AS SELECT customer_id, ${flags.join(', ')} FROM ${input}`, params);
}

/** SQL of a customer's points from a flags table's columns, with `points` standing for each criterion's points (bound). */
export function pointsSql(grid: Grid, params: SqlValue[], points: readonly number[] = grid.criteria.map((c) => c.points)): string {
  return `(${grid.criteria.map((c, i) => {
    params.push(points[i] as number);
    return `CASE WHEN ${flagColumn(c.number)} THEN ?::INTEGER ELSE 0 END`;
  }).join(' + ')})::INTEGER`;
}

/**
 * Creates `table` (customer_id, the score, its points, the labels of the criteria met) from a flags table. Linear scale:
 * min + (points − lowest) / (highest − lowest) × (max − min). Quantile grades: with n customers and a customers above
 * (more points), grade number floor(G a / n) of the G grades, the best first: ties share the better grade. Cut-offs:
 * the first grade whose cut-off the points reach, the last grade below every cut-off.
 */
export async function createGridScores(store: Store, grid: Grid, flags: string, table: string): Promise<void> {
  const params: SqlValue[] = [];
  const points = pointsSql(grid, params);
  const cols = grid.columns;
  let score: string;
  const s = grid.scale;
  if (s.kind === 'linear') {
    score = `?::DOUBLE + (__points - ?::DOUBLE) * ?::DOUBLE`;
    params.push(s.min, grid.lowest, (s.max - s.min) / (grid.highest - grid.lowest));
  } else if (s.kind === 'quantiles') {
    const index = `floor(?::DOUBLE * (rank() OVER (ORDER BY __points DESC) - 1) / count(*) OVER ())::INTEGER`;
    params.push(s.grades.length);
    score = `CASE ${index} ${s.grades.map((g, i) => {
      params.push(i, g);
      return 'WHEN ? THEN ?';
    }).join(' ')} END`;
  } else {
    score = `CASE ${s.cutoffs.map((c, i) => {
      params.push(c, s.grades[i] as string);
      return 'WHEN __points >= ? THEN ?';
    }).join(' ')} ELSE ? END`;
    params.push(s.grades[s.grades.length - 1] as string);
  }
  const met = `list_filter([${grid.criteria.map((c) => {
    params.push(c.label);
    return `CASE WHEN ${flagColumn(c.number)} THEN ?::VARCHAR END`;
  }).join(', ')}], x -> x IS NOT NULL)`;
  await store.run(
    `CREATE OR REPLACE TEMP TABLE ${quoteIdentifier(table)} AS
     WITH p AS (SELECT *, ${points} AS __points FROM ${quoteIdentifier(flags)})
     SELECT customer_id, ${score} AS ${quoteIdentifier(cols.score)}, __points AS ${quoteIdentifier(cols.points)}, ${met} AS ${quoteIdentifier(cols.criteria)}
     FROM p`,
    params,
  );
}

/**
 * What the data says about the criteria (notes, not errors: a tier that implies a lower one can be meant): a criterion
 * that selects nobody, two that select exactly the same customers (their points count twice), one whose customers all
 * meet another (always implied by it).
 */
export async function criteriaNotes(store: Store, grid: Grid, flags: string, where = 'this run'): Promise<string[]> {
  const ks = grid.criteria.map((c) => c.number);
  const parts = [
    'count(*) AS n',
    ...ks.map((k) => `count(*) FILTER (WHERE ${flagColumn(k)}) AS c${k}`),
    ...ks.flatMap((a) => ks.filter((b) => b > a).map((b) => `count(*) FILTER (WHERE ${flagColumn(a)} AND ${flagColumn(b)}) AS c${a}_${b}`)),
  ];
  const row = (await store.one(`SELECT ${parts.join(', ')} FROM ${quoteIdentifier(flags)}`)) ?? {};
  const count = (key: string): number => Number(row[key] ?? 0);
  const name = grid.definition.name;
  const label = (k: number): string => `criterion ${k} (${grid.criteria[k - 1]?.label ?? ''})`;
  const notes: string[] = [];
  for (const k of ks) if (count(`c${k}`) === 0) notes.push(`${name}: ${label(k)} selects nobody in ${where}: its points are never given`);
  for (const a of ks) {
    for (const b of ks.filter((x) => x > a)) {
      const [na, nb, both] = [count(`c${a}`), count(`c${b}`), count(`c${a}_${b}`)];
      if (na === 0 || nb === 0) continue;
      if (both === na && both === nb) notes.push(`${name}: ${label(a)} and ${label(b)} select exactly the same ${both.toLocaleString('en')} customers in ${where}: their points count twice`);
      else if (both === na) notes.push(`${name}: every customer of ${label(a)} also meets ${label(b)} in ${where}: ${label(a)} always comes with ${label(b)}'s points`);
      else if (both === nb) notes.push(`${name}: every customer of ${label(b)} also meets ${label(a)} in ${where}: ${label(b)} always comes with ${label(a)}'s points`);
    }
  }
  return notes;
}
