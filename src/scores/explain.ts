// One customer's scores in words: each scorer explains its own stored results, seeing only its columns, its dependencies' and the customer's.
import { KairosError } from '../errors.js';
import type { Store } from '../store/db.js';
import { CUSTOMER_COLUMNS } from '../store/migrations.js';
import { itemColumns, DEFAULT_REGISTRY, type ScoreRegistry } from './registry.js';
import { customerItems, customerScoresRow, publishedResults, type StoredResults } from './results.js';
import type { ItemRow, Scorer } from './types.js';

export interface CustomerExplanation {
  /** The customer's row of customer_scores. */
  readonly customer: Record<string, unknown>;
  /** Per scorer with stored results: its lines, in words. */
  readonly explanations: Record<string, string[]>;
  /** Per item output: the customer's rows, best first. */
  readonly items: Record<string, ItemRow[]>;
}

/** visibleColumns per registry and scorer: a registry does not change once made. */
const visibleCache = new WeakMap<ScoreRegistry, Map<Scorer, Set<string>>>();

/** The columns `scorer` may read: its own, those of its dependencies, and the customer's own (customer_id, country, ...). */
export function visibleColumns(registry: ScoreRegistry, scorer: Scorer): ReadonlySet<string> {
  const cache = visibleCache.get(registry) ?? new Map<Scorer, Set<string>>();
  visibleCache.set(registry, cache);
  const known = cache.get(scorer);
  if (known !== undefined) return known;
  const out = new Set<string>(CUSTOMER_COLUMNS);
  for (const name of [scorer.name, ...(scorer.dependsOn ?? [])]) {
    const s = registry.get(name);
    for (const c of s.columns) out.add(c.name);
    for (const o of s.items ?? []) for (const c of itemColumns(o)) out.add(c.name);
  }
  cache.set(scorer, out);
  return out;
}

/**
 * Every stored score of one customer, each scorer's explanation, and its items. `row`: the customer's row of
 * customer_scores when the caller has read it already; `overlay` replaces some of its values before the scorers
 * explain them (the API's rescored values, src/scores/rescore.ts).
 */
export async function explainCustomer(
  store: Store,
  customerId: string,
  registry: ScoreRegistry = DEFAULT_REGISTRY,
  options: { readonly row?: Record<string, unknown>; readonly overlay?: Readonly<Record<string, unknown>> } = {},
): Promise<CustomerExplanation> {
  const stored = options.row ?? (await customerScoresRow(store, registry, customerId));
  const row = stored === undefined ? undefined : { ...stored, ...options.overlay };
  if (!row) throw new KairosError('NOT_FOUND', `customer "${customerId}" not found`, { hint: 'ids are case-sensitive; list some with kairos sql "SELECT customer_id FROM customers LIMIT 5"' });
  if (row['run_id'] === null || row['run_id'] === undefined) {
    throw new KairosError('NOT_FOUND', `customer "${customerId}" has no scores yet`, { hint: 'run `kairos score` (customers created after the as-of date are not scored)' });
  }
  const state = await publishedResults(store, registry);
  const currencies = new Map(
    (await store.all<{ run_id: number; currency: string }>('SELECT run_id, currency FROM score_runs')).map((r) => [r.run_id, r.currency]),
  );
  const items: Record<string, ItemRow[]> = {};
  for (const scorer of registry.scorers) {
    const st = state.get(scorer.name);
    if (st === undefined) continue;
    for (const o of scorer.items ?? []) items[o.name] = await customerItems(store, o, customerId, st.runId);
  }
  return explainRow(registry, state, row, items, currencies);
}

/**
 * The customer's scores in words, from what was read already: `row` (customer_scores' row, rescored values
 * applied), the customer's `items` per output, the published runs `state` and their currencies. Reads nothing:
 * kairos serve explains from its serving snapshot (src/scores/lookup.ts) this way.
 */
export function explainRow(
  registry: ScoreRegistry,
  state: ReadonlyMap<string, StoredResults>,
  row: Record<string, unknown>,
  items: Readonly<Record<string, ItemRow[]>>,
  currencies: ReadonlyMap<number, string>,
): CustomerExplanation {
  const explanations: Record<string, string[]> = {};
  const shown: Record<string, ItemRow[]> = {};
  const keys = Object.keys(row);
  for (const scorer of registry.scorers) {
    const st = state.get(scorer.name);
    if (st === undefined) continue;
    const own: Record<string, ItemRow[]> = {};
    for (const o of scorer.items ?? []) own[o.name] = shown[o.name] = [...(items[o.name] ?? [])];
    const visible = visibleColumns(registry, scorer);
    // In the row's order, by assignment (Object.fromEntries of the filtered entries took some 20 us per scorer).
    const view: Record<string, unknown> = {};
    for (const k of keys) if (visible.has(k)) view[k] = row[k];
    explanations[scorer.name] = [...scorer.explain(view, { currency: currencies.get(st.runId) ?? 'EUR', asOf: st.asOf.slice(0, 10), items: own })];
  }
  return { customer: row, explanations, items: shown };
}
