// Custom scores: the grids a team defines in kairos.config.json (criteria, points, scale, objective), each made a scorer of the registry.
import type { CustomScoreDefinition, KairosConfig } from '../../config.js';
import { KairosError } from '../../errors.js';
import { quoteIdentifier } from '../../store/db.js';
import { CUSTOMER_COLUMNS } from '../../store/migrations.js';
import { formatMoney, formatProbability } from '../../util/format.js';
import type { ScoreRegistry } from '../registry.js';
import type { ExplainContext, Scorer, ScoreContext, ScorerResult, ScoreUnit } from '../types.js';
import { backtestGrid } from './backtest.js';
import { compileGrid, createFlags, createGridInput, createGridScores, criteriaNotes, CUSTOMER_FILTER_COLUMNS, gridColumnNames, type Grid, type GridColumn } from './grid.js';
import { objectiveText } from './objective.js';

/** A registered custom scorer's grid, for evaluate and suggest-weights. */
const GRIDS = new WeakMap<Scorer, Grid>();

/** The grid behind a scorer, or undefined when the scorer is not a custom score. */
export function gridOf(scorer: Scorer): Grid | undefined {
  return GRIDS.get(scorer);
}

/** A figure of the customer's row in words, by the column's unit. */
function figure(value: unknown, unit: ScoreUnit, currency: string): string {
  if (value === null || value === undefined) return 'none';
  if (typeof value === 'number') {
    if (unit === 'currency') return formatMoney(value, currency);
    if (unit === 'probability') return formatProbability(value);
    if (unit === 'days') return `${value} days`;
    return Number.isInteger(value) ? String(value) : value.toFixed(2);
  }
  return String(value instanceof Date ? value.toISOString().slice(0, 10) : value);
}

/** The scale in words, for explanations. */
function scaleText(grid: Grid): string {
  const s = grid.scale;
  if (s.kind === 'linear') return `on a scale of ${s.min} to ${s.max}`;
  return `grades ${s.grades.join(', ')}${s.kind === 'quantiles' ? ' by quantiles of the points' : ` by cut-offs ${s.cutoffs.join(', ')} points`}`;
}

/** Makes a grid a scorer: its run computes the criteria over its dependencies' results; `registry()` is the registry it is part of. */
function gridScorer(grid: Grid, columns: ReadonlyMap<string, GridColumn>, registry: () => ScoreRegistry): Scorer {
  const d = grid.definition;
  const cols = grid.columns;
  const scorer: Scorer = {
    name: d.name,
    // The grid itself is recorded with every run (score_runs.config holds the configuration, customScores included).
    version: '1.0.0',
    description: d.description ?? `custom score ${d.name} (kairos.config.json)`,
    dependsOn: grid.dependsOn,
    columns: [
      grid.scale.kind === 'linear'
        ? { name: cols.score, type: 'number', unit: 'score', description: `${d.description ?? d.name}: points mapped ${scaleText(grid)}; predicts ${objectiveText(d.objective)}` }
        : { name: cols.score, type: 'text', unit: 'none', description: `${d.description ?? d.name}: ${scaleText(grid)}; predicts ${objectiveText(d.objective)}` },
      { name: cols.points, type: 'integer', unit: 'score', description: `points of ${d.name}: the sum of the points of the criteria met (${grid.lowest} to ${grid.highest})` },
      { name: cols.criteria, type: 'list', unit: 'none', description: `the criteria of ${d.name} the customer meets, by label` },
    ],

    async run(ctx: ScoreContext): Promise<ScorerResult> {
      const input = await createGridInput(ctx.store, grid, ctx.resultsOf, `__custom_input_${d.name}`);
      const flags = `__custom_flags_${d.name}`;
      const table = `__custom_${d.name}`;
      await createFlags(ctx.store, grid, quoteIdentifier(input), flags);
      await createGridScores(ctx.store, grid, flags, table);
      const notes = await criteriaNotes(ctx.store, grid, flags);
      await ctx.store.run(`DROP TABLE IF EXISTS ${quoteIdentifier(flags)}`);
      return { table, temporaries: [input], models: [], notes };
    },

    explain(row, ctx: ExplainContext) {
      const score = row[cols.score];
      const points = row[cols.points];
      const met = row[cols.criteria];
      if (points === null || points === undefined || !Array.isArray(met)) return [`no ${d.name}: the customer was not scored by this grid`];
      const shown = typeof score === 'number' ? (Number.isInteger(score) ? String(score) : score.toFixed(1)) : `grade ${String(score)}`;
      const lines = [`${shown} (${scaleText(grid)}): ${String(points)} points of ${grid.lowest} to ${grid.highest}; predicts ${objectiveText(d.objective)}`];
      // The grid of the configuration in use may differ from the one scored (kairos suggest-weights --write, an edit).
      const now = grid.criteria.reduce((t, c) => t + (met.includes(c.label) ? c.points : 0), 0);
      if (now !== Number(points) || met.some((l) => !grid.criteria.some((c) => c.label === l))) {
        lines.push(`scored with another grid than the configuration's now (${now} points by it): run kairos score to apply the configuration`);
      }
      for (const c of grid.criteria) {
        if (met.includes(c.label)) {
          lines.push(`${c.points} points: ${c.label}`);
          continue;
        }
        const figures = c.columns
          .filter((k) => k in row)
          .map((k) => `${k} ${figure(row[k], columns.get(k)?.unit ?? 'none', ctx.currency)}`);
        lines.push(`0 of ${c.points}: ${c.label}${figures.length ? ` (${figures.join(', ')})` : ''}`);
      }
      return lines;
    },

    backtest: (ctx) => backtestGrid(ctx, grid, registry()),
  };
  GRIDS.set(scorer, grid);
  return scorer;
}

/** The filter type of a score column's type; lists and maps are not filterable. */
function filterTypeOf(type: string): GridColumn['type'] | null {
  if (type === 'number' || type === 'integer') return 'number';
  if (type === 'text') return 'text';
  if (type === 'date') return 'date';
  return null;
}

/**
 * The custom scores of a configuration as scorers, checked at start-up against `builtIn` (the shipped scorers): a name
 * or column that collides with a scorer, a score column, a customers column or an earlier custom score is a USAGE
 * error; each criterion is compiled over the columns of customer_scores a filter may use (numbers, text and dates of
 * the customers and of the scores, item columns aside), the earlier custom scores' included. `registry()` gives the
 * registry they end up in (their backtest runs their dependencies at the cut).
 */
export function customScorers(definitions: readonly CustomScoreDefinition[], builtIn: ScoreRegistry, registry: () => ScoreRegistry): Scorer[] {
  const columns = new Map<string, GridColumn>([...CUSTOMER_FILTER_COLUMNS].map(([k, type]) => [k, { type, scorer: null, unit: 'none' as ScoreUnit }]));
  const owners = new Map<string, string>([...CUSTOMER_COLUMNS, 'run_id', 'scored_as_of'].map((c) => [c, 'a column of customers or of the run']));
  for (const [name, c] of builtIn.columns) {
    owners.set(name, `a column of the ${c.scorer.name} scorer`);
    if (!('column' in c.source)) continue;
    const type = filterTypeOf(c.type);
    if (type !== null) columns.set(name, { type, scorer: c.scorer.name, unit: c.source.column.unit });
  }
  const scorerNames = builtIn.scorers.map((s) => s.name);
  const out: Scorer[] = [];
  for (const d of definitions) {
    const clash = (what: string, hint: string): never => {
      throw new KairosError('USAGE', `custom score ${d.name}: ${what}`, { hint });
    };
    if (scorerNames.includes(d.name)) clash(`"${d.name}" is the name of a built-in scorer`, 'give the custom score another name, e.g. my_' + d.name);
    const table = scorerNames.find((s) => new RegExp(`^${s}_\\d+$`).test(d.name));
    if (table !== undefined) clash(`"${d.name}" is the name of an older ${table} results table (scores_${d.name})`, 'give the custom score another name');
    for (const c of Object.values(gridColumnNames(d.name))) {
      const owner = owners.get(c);
      if (owner !== undefined) clash(`its column "${c}" is already ${owner}`, `give the custom score another name (it adds the columns ${Object.values(gridColumnNames(d.name)).join(', ')})`);
    }
    const grid = compileGrid(d, columns);
    const scorer = gridScorer(grid, columns, registry);
    out.push(scorer);
    scorerNames.push(d.name);
    for (const c of scorer.columns) {
      owners.set(c.name, `a column of the custom score ${d.name}`);
      const type = filterTypeOf(c.type);
      if (type !== null) columns.set(c.name, { type, scorer: d.name, unit: c.unit });
    }
  }
  return out;
}

/** The custom scores of `config` by name; a USAGE error listing them otherwise. */
export function customScoreNamed(config: KairosConfig, registry: ScoreRegistry, name: string): { scorer: Scorer; grid: Grid } {
  const names = config.customScores.map((d) => d.name);
  const scorer = names.includes(name) ? registry.scorers.find((s) => s.name === name) : undefined;
  const grid = scorer === undefined ? undefined : gridOf(scorer);
  if (scorer === undefined || grid === undefined) {
    throw new KairosError('USAGE', `no custom score named "${name}"`, {
      hint: names.length > 0 ? `custom scores in the configuration: ${names.join(', ')}` : 'define one under "customScores" in kairos.config.json (docs/scores.md, "Custom scores")',
    });
  }
  return { scorer, grid };
}
