// Accuracy of the engagement and ambassador scores against the demo's latent truth (truth.csv `engagement`, `ambassador`).
import { rocAuc, spearman } from '../backtest/metrics.js';
import { withRollback } from '../backtest/split.js';
import type { KairosConfig } from '../config.js';
import { KairosError } from '../errors.js';
import { createAsOfViews, parseAsOf } from '../features/as-of.js';
import { createActivityTable } from '../scores/engagement/activity.js';
import { quoteLiteral, type Store } from '../store/db.js';

/** How the engagement scorer's scores, computed as of the demo's data end, compare with the latent traits they estimate. */
export interface EngagementTruthComparison {
  /** Scores use the events strictly before this instant. */
  readonly asOf: string;
  readonly customers: number;
  readonly engagement: {
    /** Spearman rank correlation of engagement_score with the latent engagement, all customers. */
    spearman: number | null;
    /**
     * The same among the customers alive at the data end: the latent engagement is a fixed trait, but a customer who
     * dropped out engages less and less (docs/demo.md), which a score of current engagement follows.
     */
    spearmanAlive: number | null;
    aliveCustomers: number;
    /** Spearman of email_open_rate with the latent engagement, among the customers with an e-mail received. */
    openRateSpearman: number | null;
    mailedCustomers: number;
  };
  readonly ambassador: {
    /** ambassador_score as a score for the true 0/1 ambassador flag. */
    auc: number | null;
    /** Spearman of ambassador_score with the 0/1 flag (rank-biserial). */
    spearman: number | null;
    ambassadors: number;
    /** Of the customers labelled 'ambassador' (score >= ambassadorFrom), the share who are; of the true ambassadors, the share labelled. */
    labelPrecision: number | null;
    labelRecall: number | null;
  };
}

/**
 * Computes the engagement scorer's activity table as of `asOf` (the as-of views: the same numbers `kairos score
 * --as-of` stores) and compares it with truth.csv. Runs in a rolled-back transaction: the store is unchanged.
 */
export async function compareEngagementWithTruth(store: Store, truthCsv: string, options: { config: KairosConfig; asOf: string }): Promise<EngagementTruthComparison> {
  const asOf = parseAsOf(options.asOf);
  return withRollback(store, async () => {
    await createAsOfViews(store, asOf);
    await createActivityTable(store, '__truth_activity', asOf, options.config.engagement);
    await store.run(`CREATE OR REPLACE TEMP TABLE __truth_traits AS SELECT * FROM read_csv(${quoteLiteral(truthCsv)}, header = true, all_varchar = true)`);
    const { numbers } = await store.readColumns(
      `SELECT coalesce(a.engagement_score, 0)::DOUBLE AS score, coalesce(a.ambassador_score, 0)::DOUBLE AS ambassador_score,
         coalesce(a.email_open_rate, 'NaN'::DOUBLE) AS open_rate,
         t.engagement::DOUBLE AS engagement, t.ambassador::DOUBLE AS ambassador, t.alive_at_end::DOUBLE AS alive
       FROM __truth_activity a JOIN __truth_traits t USING (customer_id) ORDER BY a.customer_id`,
    );
    const col = (k: string): Float64Array => {
      const c = numbers[k];
      if (!c) throw new KairosError('INTERNAL', `engagement truth: no column ${k}`);
      return c;
    };
    const [score, amb, openRate, engagement, ambassador, alive] = ['score', 'ambassador_score', 'open_rate', 'engagement', 'ambassador', 'alive'].map(col) as [
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
    ];
    const n = score.length;
    if (n === 0) throw new KairosError('VALIDATION', `${truthCsv}: no customer of the store is in the truth file`);
    for (const [name, c] of [['engagement', engagement], ['ambassador', ambassador], ['alive_at_end', alive]] as const) {
      if (c.some((v) => !Number.isFinite(v))) throw new KairosError('VALIDATION', `${truthCsv}: column ${name} is missing or not a number`);
    }
    const where = (keep: (i: number) => boolean, xs: Float64Array): Float64Array => Float64Array.from(xs.filter((_, i) => keep(i)));
    const isAlive = (i: number): boolean => alive[i] === 1;
    const mailed = (i: number): boolean => Number.isFinite(openRate[i]);
    const threshold = options.config.engagement.ambassador.ambassadorFrom;
    let labelled = 0;
    let labelledTrue = 0;
    let ambassadors = 0;
    for (let i = 0; i < n; i++) {
      const flagged = (amb[i] as number) >= threshold;
      labelled += flagged ? 1 : 0;
      ambassadors += ambassador[i] as number;
      labelledTrue += flagged && ambassador[i] === 1 ? 1 : 0;
    }
    return {
      asOf,
      customers: n,
      engagement: {
        spearman: spearman(engagement, score),
        spearmanAlive: spearman(where(isAlive, engagement), where(isAlive, score)),
        aliveCustomers: alive.reduce((a, b) => a + b, 0),
        openRateSpearman: spearman(where(mailed, engagement), where(mailed, openRate)),
        mailedCustomers: openRate.filter((v) => Number.isFinite(v)).length,
      },
      ambassador: {
        auc: rocAuc(ambassador, amb),
        spearman: spearman(ambassador, amb),
        ambassadors,
        labelPrecision: labelled > 0 ? labelledTrue / labelled : null,
        labelRecall: ambassadors > 0 ? labelledTrue / ambassadors : null,
      },
    };
  });
}
