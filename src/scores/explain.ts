// One customer's scores in words: each scorer explains its own stored results, seeing only its columns, its dependencies' and the customer's.
import { KairosError } from '../errors.js';
import type { Store } from '../store/db.js';
import { CUSTOMER_COLUMNS } from '../store/migrations.js';
import { itemColumns, DEFAULT_REGISTRY, type ScoreRegistry } from './registry.js';
import { customerItems, customerScoresRow, publishedResults } from './results.js';
import type { ItemRow, Scorer } from './types.js';

export interface CustomerExplanation {
  /** The customer's row of customer_scores. */
  readonly customer: Record<string, unknown>;
  /** Per scorer with stored results: its lines, in words. */
  readonly explanations: Record<string, string[]>;
  /** Per item output: the customer's rows, best first. */
  readonly items: Record<string, ItemRow[]>;
}

/** The columns `scorer` may read: its own, those of its dependencies, and the customer's own (customer_id, country, ...). */
export function visibleColumns(registry: ScoreRegistry, scorer: Scorer): Set<string> {
  const out = new Set<string>(CUSTOMER_COLUMNS);
  for (const name of [scorer.name, ...(scorer.dependsOn ?? [])]) {
    const s = registry.get(name);
    for (const c of s.columns) out.add(c.name);
    for (const o of s.items ?? []) for (const c of itemColumns(o)) out.add(c.name);
  }
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
  const explanations: Record<string, string[]> = {};
  const items: Record<string, ItemRow[]> = {};
  for (const scorer of registry.scorers) {
    const st = state.get(scorer.name);
    if (st === undefined) continue;
    const own: Record<string, ItemRow[]> = {};
    for (const o of scorer.items ?? []) own[o.name] = items[o.name] = await customerItems(store, o, customerId, st.runId);
    const visible = visibleColumns(registry, scorer);
    const view = Object.fromEntries(Object.entries(row).filter(([k]) => visible.has(k)));
    explanations[scorer.name] = [...scorer.explain(view, { currency: currencies.get(st.runId) ?? 'EUR', asOf: st.asOf.slice(0, 10), items: own })];
  }
  return { customer: row, explanations, items };
}
