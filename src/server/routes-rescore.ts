// Real-time rescoring in the API: POST /customers/{id}/rescore, and the rescoring that follows POST /ingest/orders and shows in GET /customers/{id}.
import type { z } from 'zod';
import { KairosError } from '../errors.js';
import type { ScoreRegistry } from '../scores/registry.js';
import { computeRescoring, notRescored, RESCORED_COLUMNS, RESCORED_WINNERS, rescoreCustomers, rescoredScores, type Rescored, type StoredRescoring } from '../scores/rescore.js';
import type { RescoreJournal } from '../scores/rescore-journal.js';
import { publishedResults } from '../scores/results.js';
import type { Store } from '../store/db.js';
import type { RouteContext, RouteSpec } from './routes.js';
import type { ServingSnapshots } from './serving.js';
import { CustomerParams } from './schemas.js';
import { Rescoring, type IngestRescoring, type RescoredMark } from './schemas-rescore.js';

/** A customer's rescored values, by column, and the mark GET /customers/{id} shows (null when as published). */
export interface RescoredOverlay {
  readonly values: Record<string, unknown>;
  readonly mark: z.output<typeof RescoredMark>;
}

/**
 * The customer's rescored values over the published row, and the mark saying so: from `pending` (their newest
 * rescoring, still in the journal) when it is of the published run, otherwise read from rescored_scores.
 */
export async function rescoredOverlay(store: Store, registry: ScoreRegistry, customerId: string, pending?: Rescored): Promise<RescoredOverlay> {
  if (pending !== undefined && (await publishedResults(store, registry)).get('clv')?.runId === pending.runId) return overlayOf(registry, pending);
  const r = await rescoredScores(store, registry, customerId);
  return r === null ? { values: {}, mark: null } : overlayOfStored(registry, r);
}

/** The overlay of a rescoring read from rescored_scores. */
export function overlayOfStored(registry: ScoreRegistry, r: StoredRescoring): RescoredOverlay {
  const columns = Object.keys(r.values);
  return {
    values: r.values,
    mark: { rescored_at: r.rescoredAt, run_id: r.runId, model: r.model, observed_to: r.observedTo, columns, not_rescored: notRescored(registry, new Set(columns)) },
  };
}

/** The overlay of a rescoring just made, as rescoredOverlay reads it back from rescored_scores (tested equal). */
export function overlayOf(registry: ScoreRegistry, r: Rescored): RescoredOverlay {
  const values: Record<string, unknown> = {};
  for (const c of RESCORED_COLUMNS) values[c] = r.scores[c] ?? null;
  for (const w of RESCORED_WINNERS) if (r.scores[w] !== null && r.scores[w] !== undefined) values[w] = r.scores[w];
  return overlayOfStored(registry, { values, rescoredAt: r.rescoredAt, runId: r.runId, observedTo: r.observedTo, model: r.model });
}

/**
 * Rescores the customers of an ingested batch of orders, on the writer connection `store` (in the ingest's turn);
 * written through the journal when there is one (in the order of the API's rescorings). Never fails the ingest
 * (which has committed): a note says why not.
 */
export async function rescoreBatch(
  store: Store,
  registry: ScoreRegistry,
  batchId: number,
  serving?: ServingSnapshots,
  journal?: RescoreJournal,
): Promise<z.output<typeof IngestRescoring>> {
  const started = performance.now();
  try {
    const options = serving === undefined ? {} : { published: (id: string) => serving.published(id) };
    // Without a journal file, the journal commits on the writer connection, which this ingest holds: written here.
    const rescored = journal?.journaled
      ? await journal.save(await computeRescoring(store, registry, { batchId }, options))
      : await rescoreCustomers(store, registry, { batchId }, options);
    serving?.rescorings(rescored);
    return { customers: rescored.length, run_id: rescored[0]?.runId ?? null, ms: Math.round((performance.now() - started) * 10) / 10, note: null };
  } catch (err) {
    if (!(err instanceof KairosError) || err.code === 'INTERNAL' || err.code === 'STORE') throw err;
    return { customers: 0, run_id: null, ms: Math.round((performance.now() - started) * 10) / 10, note: err.message };
  }
}

export function rescoreRoutes(ctx: RouteContext): RouteSpec[] {
  const { registry } = ctx;
  return [
    {
      method: 'POST',
      path: '/customers/{id}/rescore',
      operationId: 'rescoreCustomer',
      summary: "rescore a customer from all their orders with the published run's fitted models (closed form, no refit)",
      description:
        'P(alive), churn risk, expected purchases, conversion, expected order value, 12-month value, next-order and decisive dates, and the rfm figures a purchase changes, ' +
        "with the published run's purchase and spend models; churn_risk, conversion_probability_30d and clv_12m too where the purchase model is the customer's winner. " +
        'Kept (and shown by GET /customers/{id}, marked `rescored`) until the next run replaces them; not_rescored lists what waits for the next run. POST /ingest/orders does the same for the customers of its batch.',
      scope: 'write',
      params: CustomerParams,
      bodyHint: "a new order goes to POST /ingest/orders, which rescores its batch's customers as it answers",
      response: Rescoring,
      handler: async ({ params, db, reads }) => {
        const { id } = params as z.output<typeof CustomerParams>;
        const started = performance.now();
        const serving = ctx.serving;
        // Computed on a read connection (many at once), made durable in groups by the journal (the rescorings that
        // arrive while one group is synced go in the next), or both on the writer's connection without a journal.
        const models = await serving?.rescoringModels();
        const options = {
          ...(serving === undefined ? {} : { published: (c: string) => serving.published(c), orders: (c: string) => serving.orders(c) }),
          ...(models === undefined ? {} : { models }),
        };
        const r = await (ctx.rescores === undefined
          ? db(async (store) => (await rescoreCustomers(store, registry, { customerId: id }, options))[0])
          : reads(async (store) => (await computeRescoring(store, registry, { customerId: id }, options))[0]));
        if (r === undefined) {
          const known = Number(await reads((store) => store.value('SELECT count(*) FROM customers WHERE customer_id = ?', [id])));
          if (known === 0) throw new KairosError('NOT_FOUND', `customer "${id}" not found`, { hint: 'ids are case-sensitive; GET /customers lists them' });
          throw new KairosError('INSUFFICIENT_DATA', `customer "${id}" has no purchase: the purchase models score buyers only`, { hint: 'a prospect gets purchase-model scores with a first order' });
        }
        // Durable (journal) before the answer; refused when the customer is being erased.
        if (ctx.rescores !== undefined && (await ctx.rescores.save([r])).length === 0) {
          throw new KairosError('NOT_FOUND', `customer "${id}" is being erased`, { hint: 'GET /customers/{id} says whether they still exist' });
        }
        serving?.rescorings([r]);
        return {
          customer_id: r.customerId,
          run_id: r.runId,
          model: r.model,
          rescored_at: r.rescoredAt,
          observed_to: r.observedTo,
          summary: r.summary,
          scores: r.scores,
          previous: r.previous,
          not_rescored: notRescored(registry, new Set(Object.keys(r.scores))),
          ms: Math.round((performance.now() - started) * 100) / 100,
        };
      },
    },
  ];
}
