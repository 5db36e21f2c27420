// GET /customers: customers with their latest scores, selected by score ranges, RFM segment, a filter expression or a saved segment, sorted, a page at a time with an opaque cursor.
import { z } from 'zod';
import { customerPage } from '../segments/customer-page.js';
import { MAX_FILTER_LENGTH } from '../segments/filter.js';
import { redact, type RouteContext, type RouteSpec } from './routes.js';

/** The scores a CRM selects on most, each with a `_min` and a `_max` parameter (any other column: `filter=`). */
export const RANGE_COLUMNS = [
  'clv_12m',
  'churn_risk',
  'p_alive',
  'expected_purchases_90d',
  'conversion_probability_30d',
  'engagement_score',
  'ambassador_score',
  'monetary',
  'frequency',
  'recency_days',
] as const;

const bound = (column: string, side: 'min' | 'max'): z.ZodType => z.coerce.number().finite().optional().describe(`${column} ${side === 'min' ? '>=' : '<='} this value`);

/** A query value given once or repeated (?rfm_segment=A&rfm_segment=B). */
const oneOrMore = z.union([z.string().min(1).max(200), z.array(z.string().min(1).max(200)).max(50)]);

export const CustomerListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100).describe('customers per page (1-1000)'),
  cursor: z.string().min(1).max(2000).optional().describe('the `next` of the previous page (opaque; it belongs to its sort)'),
  after: z.string().min(1).max(256).optional().describe('(older clients) the last customer_id of the previous page, with the default sort only'),
  sort: z
    .string()
    .regex(/^-?[A-Za-z_][A-Za-z0-9_]{0,63}$/)
    .optional()
    .describe('a number, text, date or boolean column of customer_scores; -column for descending; ties by customer_id; empty values last (default customer_id)'),
  filter: z.string().min(1).max(MAX_FILTER_LENGTH).optional().describe("a filter of the saved segments' language, e.g. clv_12m > 200 and churn_risk > 0.6 (docs/segments.md)"),
  segment: z.string().min(1).max(80).optional().describe("a saved segment's name: its customers only"),
  rfm_segment: oneOrMore.optional().describe('RFM segment(s), e.g. At risk (repeat the parameter for several)'),
  lifecycle_stage: oneOrMore.optional().describe('lifecycle stage(s), e.g. at risk'),
  ...Object.fromEntries(RANGE_COLUMNS.flatMap((c) => [[`${c}_min`, bound(c, 'min')], [`${c}_max`, bound(c, 'max')]])),
});

export const CustomerListPage = z.object({
  customers: z.array(z.record(z.string(), z.unknown())),
  next: z.string().nullable().describe('pass as `cursor` for the next page; null on the last'),
  sort: z.string(),
  redacted: z.array(z.string()),
});

export function customerListRoutes(ctx: RouteContext): RouteSpec[] {
  const personalFields = ctx.config.personalFields;
  return [
    {
      method: 'GET',
      path: '/customers',
      operationId: 'listCustomers',
      summary: 'customers with their latest scores, filtered (score ranges, RFM segment, filter expression, saved segment), sorted, a page at a time',
      description:
        'Every condition is compiled by the saved segments filter compiler over the columns of customer_scores, values bound; they all apply (and). ' +
        'Pages follow a cursor (keyset): they neither skip nor repeat customers while the published scores stay the same.',
      scope: 'read',
      query: CustomerListQuery,
      response: CustomerListPage,
      handler: async ({ query, key, db }) => {
        const q = query as Record<string, unknown> & { limit: number; cursor?: string; after?: string; sort?: string; filter?: string; segment?: string };
        const ranges: Record<string, { min?: number; max?: number }> = {};
        for (const c of RANGE_COLUMNS) {
          const min = q[`${c}_min`] as number | undefined;
          const max = q[`${c}_max`] as number | undefined;
          if (min !== undefined || max !== undefined) ranges[c] = { ...(min === undefined ? {} : { min }), ...(max === undefined ? {} : { max }) };
        }
        const values: Record<string, string[]> = {};
        for (const c of ['rfm_segment', 'lifecycle_stage']) {
          const v = q[c] as string | string[] | undefined;
          if (v !== undefined) values[c] = Array.isArray(v) ? v : [v];
        }
        // `after` (a customer id) is the cursor of the default sort that older clients send.
        const cursor = q.cursor ?? (q.after === undefined || (q.sort !== undefined && q.sort !== 'customer_id') ? undefined : Buffer.from(JSON.stringify({ s: 'customer_id', v: q.after, id: q.after })).toString('base64url'));
        const page = await db((store) =>
          customerPage(store, {
            limit: q.limit,
            ranges,
            values,
            ...(q.filter === undefined ? {} : { filter: q.filter }),
            ...(q.segment === undefined ? {} : { segment: q.segment }),
            ...(q.sort === undefined ? {} : { sort: q.sort }),
            ...(cursor === undefined ? {} : { cursor }),
          }),
        );
        const shown = page.rows.map((r) => redact(r, personalFields, key));
        return { customers: shown.map((s) => s.row), next: page.next, sort: page.sort, redacted: [...new Set(shown.flatMap((s) => s.redacted))].sort() };
      },
    },
  ];
}
