// RFM scores in SQL: recency, frequency, monetary values, 1-to-bins scores with a stated tie rule, the cell and the named segment.
import { PROSPECT_SEGMENT, RFM_SEGMENTS, segmentSql } from './segments.js';
import { refusedOrdersSql } from '../../features/purchases.js';
import { formatMoney } from '../../util/format.js';
import type { Scorer, ScoreContext, ScorerResult } from '../types.js';

/**
 * A CTE `name` (v, rnk) giving, for each distinct value of `column` among the buyers, SQL RANK() of the rows holding
 * it, worst first (1 + the number of buyers with a smaller value), from a window over the distinct values only (a few
 * hundred days or counts, at most one per buyer for spend), looked up or joined back to the buyers. A RANK() window
 * over every buyer sorts all of them at once, in memory DuckDB could not spill at 10M customers.
 */
function rankSql(name: string, column: string): string {
  return `${name} AS (SELECT ${column} AS v, sum(count(*)) OVER (ORDER BY ${column}) - count(*) + 1 AS rnk FROM buyers GROUP BY ${column})`;
}

/**
 * Score of a value among n buyers, 1 (worst) to `bins` (best): 1 + floor(bins * (rank - 1) / n), with rank from
 * rankSql. Tie rule: equal values share the rank of the first of them, hence the same score (the lower bin they
 * reach). Many one-time buyers therefore all get F = 1, as they should.
 */
function binFromRankSql(rank: string, n: string, bins: number): string {
  return `(1 + floor(${bins} * (${rank} - 1) / ${n}))::INTEGER`;
}

/** Maps a score on 1..bins to the 1..5 scale the segment table uses. */
function toFive(score: string, bins: number): string {
  return bins === 5 ? score : `ceil(${score} * 5.0 / ${bins})::INTEGER`;
}

export const rfmScorer: Scorer = {
  name: 'rfm',
  // 1.1.0: the last purchase date is the last purchase line's day (it was the last purchase order's first line's).
  version: '1.1.0',
  description: 'Recency, frequency and monetary value with 1-5 scores and named segments (SQL).',
  columns: [
    { name: 'first_order_date', type: 'date', unit: 'none', description: 'date of the first purchase (an order with a sold line and a net value >= 0)' },
    { name: 'last_order_date', type: 'date', unit: 'none', description: 'date of the last purchase' },
    { name: 'recency_days', type: 'integer', unit: 'days', description: 'days from the last purchase to the as-of date' },
    { name: 'frequency', type: 'integer', unit: 'count', description: 'purchases: orders with a sold line and a net value >= 0' },
    { name: 'monetary', type: 'number', unit: 'currency', description: 'net spend: all order lines, returns and cancellations subtracted' },
    { name: 'r_score', type: 'integer', unit: 'score', description: 'recency score, 1 (longest ago) to 5 (most recent)' },
    { name: 'f_score', type: 'integer', unit: 'score', description: 'frequency score, 1 (fewest orders) to 5 (most)' },
    { name: 'm_score', type: 'integer', unit: 'score', description: 'monetary score, 1 (lowest spend) to 5 (highest)' },
    { name: 'rfm_cell', type: 'text', unit: 'none', description: 'the three scores side by side, e.g. "545"' },
    { name: 'rfm_segment', type: 'text', unit: 'none', description: `named segment (${RFM_SEGMENTS.map((s) => s.name).join(', ')}; ${PROSPECT_SEGMENT} for no purchase yet)` },
  ],

  async run(ctx: ScoreContext): Promise<ScorerResult> {
    const bins = ctx.config.rfm.bins;
    const table = '__score_rfm';
    const base = '__rfm_base';
    // One pass over the order lines, grouped by customer only: a line counts towards the purchase figures unless its
    // order is refused (the few orders with a return or cancellation line whose net or quantities make them no purchase,
    // found apart). Grouping by customer and order instead (4M orders at 1M customers) costs about 3x the CPU.
    // The last purchase day is the last purchase line's day, as in the purchase summary (lines of an order share a day).
    // The per-customer figures go to a temp table, which DuckDB spills to disk under its memory limit; a CTE read twice
    // would be materialised in memory it cannot spill (at 10M customers that failed under 1 GB).
    // Frequency is the customer's purchase lines less the lines that are not their order's first: counting distinct
    // order ids per customer instead hashed every (customer, order) text pair (1-1.5 CPU s of 4M lines). Orders of
    // several lines are found by a 64-bit hash of (customer, order), an aggregate of integers, and only their lines
    // are counted on the text (a hash shared by two orders only adds candidates: exact either way).
    await ctx.store.run(
      `CREATE OR REPLACE TEMP TABLE ${base} AS
       WITH refused AS (${refusedOrdersSql('asof_orders')}),
       lines AS NOT MATERIALIZED (
         SELECT o.customer_id, o.order_id, o.ordered_at, o.amount, r.order_id IS NULL AS purchase
         FROM asof_orders o LEFT JOIN refused r ON o.customer_id = r.customer_id AND o.order_id = r.order_id
       ),
       multi AS (SELECT hash(customer_id, order_id) AS h FROM lines WHERE purchase GROUP BY 1 HAVING count(*) > 1),
       extra AS (
         SELECT customer_id, count(*) - count(DISTINCT order_id) AS extra FROM lines
         WHERE purchase AND hash(customer_id, order_id) IN (SELECT h FROM multi) GROUP BY customer_id
       ),
       per_customer AS (
         SELECT customer_id,
           min(ordered_at) FILTER (WHERE purchase)::DATE AS first_order_date,
           max(ordered_at) FILTER (WHERE purchase)::DATE AS last_order_date,
           count(*) FILTER (WHERE purchase) AS purchase_lines,
           sum(amount) AS monetary
         FROM lines GROUP BY customer_id
       )
       SELECT c.customer_id, p.first_order_date, p.last_order_date,
         coalesce(p.purchase_lines - coalesce(e.extra, 0), 0)::INTEGER AS frequency, coalesce(round(p.monetary, 2), 0)::DOUBLE AS monetary
       FROM asof_customers c LEFT JOIN per_customer p USING (customer_id) LEFT JOIN extra e USING (customer_id)`,
    );
    await ctx.store.run(
      `CREATE OR REPLACE TEMP TABLE ${table} AS
       WITH buyers AS NOT MATERIALIZED (SELECT * FROM ${base} WHERE frequency > 0),
       n AS (SELECT count(*)::DOUBLE AS n FROM buyers),
       ${rankSql('r_rank', 'last_order_date')},
       ${rankSql('f_rank', 'frequency')},
       ${rankSql('m_rank', 'monetary')},
       ranks AS (
         SELECT (SELECT map(list(v), list(rnk)) FROM r_rank) AS r, (SELECT map(list(v), list(rnk)) FROM f_rank) AS f
       ),
       scored AS (
         SELECT b.*, date_diff('day', b.last_order_date, $1::TIMESTAMP::DATE)::INTEGER AS recency_days,
           ${binFromRankSql('ranks.r[b.last_order_date]', 'n.n', bins)} AS r_score,
           ${binFromRankSql('ranks.f[b.frequency]', 'n.n', bins)} AS f_score,
           ${binFromRankSql('m.rnk', 'n.n', bins)} AS m_score
         FROM buyers b JOIN m_rank m ON b.monetary = m.v CROSS JOIN n CROSS JOIN ranks
       )
       SELECT customer_id, first_order_date, last_order_date, recency_days, frequency, monetary, r_score, f_score, m_score,
         r_score::VARCHAR || f_score::VARCHAR || m_score::VARCHAR AS rfm_cell,
         ${segmentSql(toFive('r_score', bins), toFive('f_score', bins), toFive('m_score', bins))} AS rfm_segment
       FROM scored
       UNION ALL
       SELECT customer_id, NULL, NULL, NULL, 0, monetary, NULL, NULL, NULL, NULL, '${PROSPECT_SEGMENT}' FROM ${base} WHERE frequency = 0`,
      [ctx.asOf],
    );
    return { table, models: [], notes: [], temporaries: [base] };
  },

  explain(row, { currency }) {
    if (row['rfm_segment'] === PROSPECT_SEGMENT || row['frequency'] === 0) {
      return [`no purchase before the as-of date: segment ${PROSPECT_SEGMENT}`];
    }
    const seg = RFM_SEGMENTS.find((s) => s.name === row['rfm_segment']);
    return [
      `last purchase ${row['last_order_date']} (${row['recency_days']} days before the as-of date), first ${row['first_order_date']}`,
      `${row['frequency']} order(s), ${formatMoney(Number(row['monetary']), currency)} spent net of returns`,
      `RFM cell ${row['rfm_cell']} (R ${row['r_score']}, F ${row['f_score']}, M ${row['m_score']}; higher is better)`,
      `segment ${row['rfm_segment']}${seg ? `: ${seg.meaning}` : ''}`,
    ];
  },
};
