// Real-time rescoring in the API: POST /customers/{id}/rescore, and the rescoring that follows POST /ingest/orders and shows in GET /customers/{id}.
import type { z } from 'zod';
import { KairosError } from '../errors.js';
import type { ScoreRegistry } from '../scores/registry.js';
import { computeRescoring, notRescored, rescoreCustomers, rescoredScores, saveRescorings, type Rescored } from '../scores/rescore.js';
import { isOutOfMemory, type Store } from '../store/db.js';
import type { RouteContext, RouteSpec } from './routes.js';
import type { ServingSnapshots } from './serving.js';
import { CustomerParams } from './schemas.js';
import { Rescoring, type IngestRescoring, type RescoredMark } from './schemas-rescore.js';

/** The customer's rescored values over the published row, and the mark saying so (null when as published). */
export async function rescoredOverlay(store: Store, registry: ScoreRegistry, customerId: string): Promise<{ values: Record<string, unknown>; mark: z.output<typeof RescoredMark> }> {
  const r = await rescoredScores(store, registry, customerId);
  if (r === null) return { values: {}, mark: null };
  const columns = Object.keys(r.values);
  return {
    values: r.values,
    mark: { rescored_at: r.rescoredAt, run_id: r.runId, model: r.model, observed_to: r.observedTo, columns, not_rescored: notRescored(registry, new Set(columns)) },
  };
}

/** Rescores the customers of an ingested batch of orders; never fails the ingest (which has committed): a note says why not. */
export async function rescoreBatch(store: Store, registry: ScoreRegistry, batchId: number, serving?: ServingSnapshots): Promise<z.output<typeof IngestRescoring>> {
  const started = performance.now();
  try {
    const rescored = await rescoreCustomers(store, registry, { batchId }, { ...(serving === undefined ? {} : { published: (id: string) => serving.published(id) }) });
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
      response: Rescoring,
      handler: async ({ params, db, reads }) => {
        const { id } = params as z.output<typeof CustomerParams>;
        const started = performance.now();
        const serving = ctx.serving;
        // Computed on a read connection (many at once), written in groups (one transaction for the rescorings that
        // arrived meanwhile: RescoreWriter), or both on the writer's connection without a writer.
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
        await ctx.rescores?.save([r]);
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

/**
 * Writes the API's rescorings in groups: while one transaction commits, the rescorings that arrive wait, then go in
 * the next one together (a transaction per rescoring, on the one writer connection, capped the route at some 70 a
 * second at 1M customers). `save` resolves once the rows are committed, so the answer never precedes them.
 */
export class RescoreWriter {
  private queue: { rows: readonly Rescored[]; done: () => void; fail: (err: unknown) => void }[] = [];
  private flushing = false;

  constructor(private readonly db: <T>(fn: (store: Store) => Promise<T>) => Promise<T>) {}

  save(rows: readonly Rescored[]): Promise<void> {
    return new Promise((done, fail) => {
      this.queue.push({ rows, done, fail });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.queue.length > 0) {
      const group = this.queue;
      this.queue = [];
      try {
        await this.write(group.flatMap((g) => g.rows));
        for (const g of group) g.done();
      } catch (err) {
        for (const g of group) g.fail(err);
      }
    }
    this.flushing = false;
  }

  /**
   * One transaction; tried again twice, a quarter of a second apart, when DuckDB was out of memory: a scoring run in
   * the server can fill the memory limit for a while (it raises the limit and retries its own step), and the group's
   * rows are small.
   */
  private async write(rows: readonly Rescored[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.db((store) => saveRescorings(store, rows));
        return;
      } catch (err) {
        if (attempt >= 2 || !isOutOfMemory(err)) throw err;
        await new Promise((wait) => setTimeout(wait, 250));
      }
    }
  }
}
