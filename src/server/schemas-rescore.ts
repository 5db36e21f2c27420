// The shapes of real-time rescoring in the API: what POST /customers/{id}/rescore answers, and what GET /customers/{id} and POST /ingest/orders say of it.
import { z } from 'zod';

export const NotRescored = z.array(
  z.object({ scorer: z.string(), columns: z.array(z.string()), reason: z.string() }).describe('scores left as the run published them, and why'),
);

/** How a customer's shown scores were rescored since the published run (null: as published). */
export const RescoredMark = z
  .object({
    rescored_at: z.string().describe('when (ISO instant)'),
    run_id: z.number().describe('the run whose fitted models were used; the next run replaces these values'),
    model: z.string().describe('the purchase model'),
    observed_to: z.string().describe("the customer's last observed day: the later of the run's and the customer's last purchase day"),
    columns: z.array(z.string()).describe('the columns of `customer` that hold rescored values'),
    not_rescored: NotRescored,
  })
  .nullable()
  .describe('set when the values come from a rescoring after a new order (provisional until the next run), null otherwise');

export const Rescoring = z.object({
  customer_id: z.string(),
  run_id: z.number().describe('the published run whose fitted models were used (no refit)'),
  model: z.string(),
  rescored_at: z.string(),
  observed_to: z.string(),
  summary: z.object({ x: z.number(), tx: z.number(), T: z.number(), m: z.number() }).describe('the purchase summary the model saw, in days: repeat purchase days, t_x, T, mean repeat spend'),
  scores: z.record(z.string(), z.union([z.number(), z.string(), z.null()])).describe('the rescored columns, their new values'),
  previous: z.record(z.string(), z.unknown()).describe('the same columns as the run published them'),
  not_rescored: NotRescored,
  ms: z.number().describe('time the rescoring took, milliseconds'),
});

export const IngestRescoring = z
  .object({
    customers: z.number().describe('customers of the batch rescored (those with a purchase)'),
    run_id: z.number().nullable(),
    ms: z.number(),
    note: z.string().nullable().describe('why nothing was rescored (no published run, no fitted model), or null'),
  })
  .describe('orders only: the batch customers rescored at once with the published run fitted models');
