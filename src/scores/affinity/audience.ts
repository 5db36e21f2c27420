// Audiences from the stored category affinity: the customers most likely to buy in a group (upsell), or only those who never bought in it (cross-sell).
import { KairosError } from '../../errors.js';
import { quoteIdentifier, type Store } from '../../store/db.js';
import type { ScoreRegistry } from '../registry.js';
import { itemsTable, storedResults } from '../results.js';
import { groupingLabel, nearestNames, UNCATEGORISED, writeProductGroups, type Grouping } from './groups.js';
import { AFFINITY_MODEL, AFFINITY_OUTPUT } from './index.js';

export const AUDIENCE_MODES = ['upsell', 'cross-sell'] as const;
export type AudienceMode = (typeof AUDIENCE_MODES)[number];

/** Defaults of `kairos audience`, in one place. */
export const AUDIENCE_DEFAULTS = { top: 5000 } as const;

export interface AudienceOptions {
  readonly group: string;
  readonly mode: AudienceMode;
  /** Customers at most (default AUDIENCE_DEFAULTS.top). */
  readonly top?: number;
  /** Only customers with at least this probability. */
  readonly minProbability?: number;
  readonly registry: ScoreRegistry;
}

/** One customer of an audience, best first. */
export interface AudienceRow {
  readonly customer_id: string;
  readonly email: string | null;
  readonly probability: number;
  readonly bought_in_group_before: boolean;
  readonly rank: number;
}

export interface Audience {
  readonly group: string;
  readonly mode: AudienceMode;
  /** The run the probabilities come from and its as-of ('YYYY-MM-DD HH:MM:SS'). */
  readonly runId: number;
  readonly asOf: string;
  readonly horizonDays: number;
  readonly rows: readonly AudienceRow[];
  readonly size: number;
  readonly meanProbability: number | null;
  /** Sum of the probabilities: buyers in the group expected from the audience within the horizon. */
  readonly expectedBuyers: number;
  readonly notes: readonly string[];
}

const GROUPS = '__audience_product_groups';

/**
 * The audience of a group from the published affinity run: its customers ranked by their probability of buying in
 * the group (ties by id); cross-sell keeps those with no purchase in the group before the run's as-of. An unknown
 * group is a USAGE error naming the nearest groups; a group with no buyers (or not among the scored groups) gives an
 * empty audience and a note saying why.
 */
export async function buildAudience(store: Store, o: AudienceOptions): Promise<Audience> {
  if (!AUDIENCE_MODES.includes(o.mode)) throw new KairosError('USAGE', `invalid mode "${o.mode}" (expected one of ${AUDIENCE_MODES.join(', ')})`);
  const top = o.top ?? AUDIENCE_DEFAULTS.top;
  if (!(Number.isInteger(top) && top >= 1)) throw new KairosError('USAGE', `--top must be a whole number of 1 or more, got ${top}`);
  const min = o.minProbability;
  if (min !== undefined && !(min >= 0 && min <= 1)) throw new KairosError('USAGE', `--min-probability must be in [0, 1], got ${min}`);
  const stored = (await storedResults(store, o.registry)).get('affinity');
  if (!stored) throw new KairosError('NOT_FOUND', 'no category affinity stored', { hint: 'set "affinity": { "enabled": true } in kairos.config.json and run kairos score' });
  const fit = await store.value<{ settings: Grouping & { horizonDays: number }; groups: { group: string; buyers: number }[] } | null>(
    'SELECT fit FROM model_fits WHERE run_id = $1 AND model = $2',
    [stored.runId, AFFINITY_MODEL],
  );
  const base = { group: o.group, mode: o.mode, runId: stored.runId, asOf: stored.asOf, horizonDays: fit?.settings.horizonDays ?? 0 };
  const none = (note: string): Audience => ({ ...base, rows: [], size: 0, meanProbability: null, expectedBuyers: 0, notes: [note] });
  if (!fit) {
    // Off by default (affinity.enabled): say so and how to turn it on, rather than only that nothing was scored.
    const enabled = await store.value<boolean | null>(`SELECT TRY_CAST(json_extract(config, '$.affinity.enabled') AS BOOLEAN) FROM score_runs WHERE run_id = $1`, [stored.runId]);
    if (enabled === false) {
      return none(`category affinity was off in run ${stored.runId} (affinity.enabled false): set "affinity": { "enabled": true } in kairos.config.json and run kairos score`);
    }
    return none(`the affinity run ${stored.runId} scored no group (see its notes in kairos runs): empty audience`);
  }
  const items = quoteIdentifier(itemsTable(AFFINITY_OUTPUT));
  const scored = fit.groups.map((g) => g.group);
  await writeProductGroups(store, GROUPS, fit.settings);
  try {
    if (!scored.includes(o.group)) {
      const known = (await store.all<{ grp: string }>(`SELECT DISTINCT grp FROM ${GROUPS} ORDER BY grp`)).map((r) => r.grp);
      if (!known.includes(o.group)) {
        const names = [...new Set([...scored, ...known])];
        throw new KairosError('USAGE', `no product group "${o.group}" (${groupingLabel(fit.settings)}); nearest: ${nearestNames(o.group, names).map((n) => `"${n}"`).join(', ') || 'none'}`, {
          hint: 'group names are matched exactly, as in the category_affinity keys',
        });
      }
      const buyers = await store.value<number>(
        `SELECT count(DISTINCT o.customer_id)::INTEGER FROM orders o LEFT JOIN ${GROUPS} g ON g.product_id = o.product_id
         WHERE o.ordered_at < $1::TIMESTAMP AND o.amount > 0 AND o.product_id IS NOT NULL AND coalesce(g.grp, $2) = $3`,
        [stored.asOf, UNCATEGORISED, o.group],
      );
      return none(
        buyers === 0
          ? `product group "${o.group}" has no buyers before ${stored.asOf.slice(0, 10)}: no affinity is learned for it, empty audience`
          : `product group "${o.group}" (${buyers} buyers) is not among the ${scored.length} most-bought groups scored: empty audience (raise affinity.maxGroups)`,
      );
    }
    const rows = await store.all<Omit<AudienceRow, 'rank'>>(
      `WITH bought AS (
         SELECT DISTINCT o.customer_id FROM orders o LEFT JOIN ${GROUPS} g ON g.product_id = o.product_id
         WHERE o.ordered_at < $1::TIMESTAMP AND o.amount > 0 AND o.product_id IS NOT NULL AND coalesce(g.grp, $2) = $3)
       SELECT i.customer_id, c.email, i.value AS probability, (b.customer_id IS NOT NULL) AS bought_in_group_before
       FROM ${items} i LEFT JOIN customers c ON c.customer_id = i.customer_id LEFT JOIN bought b ON b.customer_id = i.customer_id
       WHERE i.run_id = $4 AND i.key = $3 AND ($5 = 'upsell' OR b.customer_id IS NULL) AND i.value >= $6
       ORDER BY i.value DESC, i.customer_id LIMIT $7`,
      [stored.asOf, UNCATEGORISED, o.group, stored.runId, o.mode, min ?? 0, top],
    );
    const ranked = rows.map((r, k) => ({ ...r, email: r.email ?? null, rank: k + 1 }));
    const sum = ranked.reduce((a, r) => a + r.probability, 0);
    const notes = ranked.length === 0 ? [`no customer left for "${o.group}" (${o.mode}${min !== undefined ? `, probability >= ${min}` : ''}): empty audience`] : [];
    return { ...base, rows: ranked, size: ranked.length, meanProbability: ranked.length ? sum / ranked.length : null, expectedBuyers: sum, notes };
  } finally {
    await store.run(`DROP TABLE IF EXISTS ${GROUPS}`);
  }
}

/** A CSV field: quoted when it holds a comma, a quote or a line break. */
function csvField(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The audience as CSV text: customer_id, email, probability (6 decimals), bought_in_group_before, rank. */
export function audienceCsv(a: Audience): string {
  const header = 'customer_id,email,probability,bought_in_group_before,rank';
  return [header, ...a.rows.map((r) => [r.customer_id, r.email, Math.round(r.probability * 1e6) / 1e6, r.bought_in_group_before, r.rank].map(csvField).join(','))].join('\n') + '\n';
}

/** One line: size, mean probability, expected buyers. */
export function audienceSummary(a: Audience): string {
  const mean = a.meanProbability === null ? 'n/a' : `${(100 * a.meanProbability).toFixed(1)}%`;
  return `${a.mode} audience for "${a.group}": ${a.size.toLocaleString('en')} customers, mean probability ${mean} of buying in it within ${a.horizonDays} days, expected buyers ${a.expectedBuyers.toFixed(1)} (scores as of ${a.asOf.slice(0, 10)}, run ${a.runId})`;
}
