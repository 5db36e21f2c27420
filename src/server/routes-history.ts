// Evolution between runs through the API, by the CLI's code (src/history): transitions of a categorical score between two runs and who made one move, drift since the previous run.
import { z } from 'zod';
import { KairosError } from '../errors.js';
import { latestSummarisedRun, runSummaries } from '../history/summaries.js';
import { transitions } from '../history/transitions.js';
import type { RouteContext, RouteSpec } from './routes.js';

const Score = z.string().regex(/^[a-z0-9_]{1,64}$/).default('lifecycle_stage').describe('a categorical score (lifecycle_stage, rfm_segment, engagement_label, ...)');
const RunId = z.coerce.number().int().positive();

export const TransitionsQuery = z.strictObject({
  score: Score,
  to_run: RunId.optional().describe('the later run (default: the latest run that summarised the score)'),
  from_run: RunId.optional().describe("the earlier run (default: the score's previous run before to_run)"),
});

export const TransitionCustomersQuery = TransitionsQuery.extend({
  from: z.string().max(200).describe("the value in the earlier run ('' for none), e.g. active"),
  to: z.string().max(200).describe("the value in the later run ('' for none), e.g. at risk"),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
  cursor: z.string().min(1).max(256).optional().describe('the `next` of the previous page'),
});

const Counts = z.array(z.object({ from: z.string(), to: z.string(), customers: z.number() })).describe("customers scored in both runs, by (value before, value now), largest first; '' for no value");

export const DriftQuery = z.strictObject({ run: RunId.optional().describe('the run (default: the latest with summaries)') });

export function historyRoutes(_ctx: RouteContext): RouteSpec[] {
  return [
    {
      method: 'GET',
      path: '/transitions',
      operationId: 'transitions',
      summary: 'moves of a categorical score between two runs: customers per (value before, value now), as kairos transitions',
      scope: 'read',
      query: TransitionsQuery,
      response: z.object({ score: z.string(), runId: z.number(), previousRunId: z.number(), counts: Counts }),
      handler: async ({ query, db }) => {
        const q = query as z.output<typeof TransitionsQuery>;
        const t = await db((store) => transitions(store, q.score, { ...(q.to_run === undefined ? {} : { runId: q.to_run }), ...(q.from_run === undefined ? {} : { sinceRunId: q.from_run }) }));
        return { score: t.score, runId: t.runId, previousRunId: t.previousRunId, counts: t.counts };
      },
    },
    {
      method: 'GET',
      path: '/transitions/customers',
      operationId: 'transitionCustomers',
      summary: 'the customers who made one move (from a value to another) between two runs, by id, a page at a time',
      scope: 'read',
      query: TransitionCustomersQuery,
      response: z.object({ score: z.string(), runId: z.number(), previousRunId: z.number(), from: z.string(), to: z.string(), customers: z.array(z.string()), next: z.string().nullable() }),
      handler: async ({ query, db }) => {
        const q = query as z.output<typeof TransitionCustomersQuery>;
        const after = q.cursor === undefined ? undefined : Buffer.from(q.cursor, 'base64url').toString('utf8');
        if (after === '') throw new KairosError('VALIDATION', 'cursor: not a cursor of this API', { hint: 'pass the `next` of the previous page as it was given' });
        const t = await db((store) =>
          transitions(store, q.score, {
            ...(q.to_run === undefined ? {} : { runId: q.to_run }),
            ...(q.from_run === undefined ? {} : { sinceRunId: q.from_run }),
            from: q.from,
            to: q.to,
            limit: q.limit + 1,
            ...(after === undefined ? {} : { afterCustomer: after }),
          }),
        );
        const ids = t.customers ?? [];
        const page = ids.slice(0, q.limit);
        const last = page[page.length - 1];
        return {
          score: t.score,
          runId: t.runId,
          previousRunId: t.previousRunId,
          from: q.from,
          to: q.to,
          customers: page,
          next: ids.length > q.limit && last !== undefined ? Buffer.from(last, 'utf8').toString('base64url') : null,
        };
      },
    },
    {
      method: 'GET',
      path: '/drift',
      operationId: 'drift',
      summary: "each score's drift since its scorer's previous run (population stability index) and its summary, as kairos drift --json",
      scope: 'read',
      query: DriftQuery,
      response: z.object({ runId: z.number(), scores: z.array(z.object({ column: z.string(), table: z.string(), summary: z.record(z.string(), z.unknown()) })) }),
      handler: async ({ query, db }) => {
        const { run } = query as z.output<typeof DriftQuery>;
        return db(async (store) => {
          const runId = run ?? (await latestSummarisedRun(store));
          if (runId === null) throw new KairosError('NOT_FOUND', 'no run has summaries yet', { hint: 'run kairos score (POST /runs): each run summarises what it wrote' });
          const summaries = await runSummaries(store, runId);
          if (summaries.size === 0) throw new KairosError('NOT_FOUND', `run ${runId} has no summaries`, { hint: 'GET /runs lists the runs; runs before summaries existed have none' });
          return { runId, scores: [...summaries.entries()].map(([column, { table, summary }]) => ({ column, table, summary: summary as unknown as Record<string, unknown> })) };
        });
      },
    },
  ];
}
