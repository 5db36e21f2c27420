// The API's shapes, in zod: the same objects validate each request and write /openapi.json (src/server/openapi.ts).
import { z } from 'zod';
import { HTTP_STATUSES, KairosError, type ErrorCode } from '../errors.js';
import { IngestRescoring, RescoredMark } from './schemas-rescore.js';

/** A customer id in a path: the store's ids are free text (case-sensitive), bounded here. */
export const CustomerParams = z.object({ id: z.string().min(1).max(256).describe('customer id (case-sensitive)') });

export const RunParams = z.object({ id: z.coerce.number().int().positive().describe('run id') });

export const HistoryQuery = z.strictObject({
  score: z
    .string()
    .regex(/^[a-z0-9_]{1,64}$/)
    .optional()
    .describe('one score only, e.g. churn_risk'),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000).describe('rows at most, newest runs first'),
});

export const RunsQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(1000).default(20).describe('most recent runs') });

export const ModelsQuery = z.strictObject({ run: z.coerce.number().int().positive().optional().describe('run id (default: the latest run with fitted models)') });

const Record_ = z.record(z.string(), z.unknown());

export const ErrorBody = z.object({
  error: z.object({
    code: z.enum(Object.keys(HTTP_STATUSES) as [ErrorCode, ...ErrorCode[]]),
    message: z.string(),
    hint: z.string().optional(),
    position: z.number().optional().describe('in a filter expression: the character (from 1) where it breaks'),
  }),
});

export const Health = z.object({ status: z.literal('ok'), version: z.string() });

const ItemRow = z.object({ rank: z.number(), key: z.string(), value: z.number().nullable(), reason: z.string().nullable() });

export const Customer = z.object({
  customer: Record_.describe("the customer's row of customer_scores: attributes, then every score"),
  explanations: z.record(z.string(), z.array(z.string())).describe('per scorer, its lines in words (as kairos show prints them)'),
  items: z.record(z.string(), z.array(ItemRow)).describe('per item output, the rows, best first'),
  redacted: z.array(z.string()).describe('personal fields left out for this key (only admin keys see them)'),
  rescored: RescoredMark,
});

export const History = z.object({
  customer_id: z.string(),
  history: z.array(
    z.object({
      run_id: z.number(),
      as_of: z.string(),
      score: z.string(),
      value: z.union([z.number(), z.string(), z.null(), Record_, z.array(z.unknown())]),
    }),
  ),
});

export const Recommendations = z.object({
  customerId: z.string(),
  runId: z.number(),
  asOf: z.string(),
  model: z.string().nullable(),
  products: z.array(
    z.object({ rank: z.number(), product_id: z.string(), name: z.string().nullable(), category: z.string(), score: z.number(), reason: z.string().nullable() }),
  ),
});

export const Affinities = z.object({ customerId: z.string(), runId: z.number(), asOf: z.string(), groups: z.array(ItemRow) });

const Run = z.object({
  run_id: z.number(),
  as_of: z.string(),
  status: z.string(),
  customers: z.number(),
  seconds: z.number().nullable(),
  data_fingerprint: z.string(),
});

export const Runs = z.object({ runs: z.array(Run) });

/** A job of the server's runner (a scoring run or an ingest, off the request path): src/server/jobs.ts. */
export const Job = z.object({
  jobId: z.number(),
  kind: z.enum(['score', 'ingest']),
  runId: z.number().nullable().describe("the scoring run's id (score jobs, once started)"),
  origin: z.string().describe('what started it: api, schedule, watch'),
  status: z.enum(['running', 'completed', 'failed']),
  stage: z.string().describe('the step in progress, e.g. "scoring clv" (the last one when finished)'),
  done: z.number().describe('steps done: scorers of a run, files of an ingest'),
  total: z.number(),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  elapsedSeconds: z.number(),
  error: z.object({ code: z.string(), message: z.string(), hint: z.string().optional() }).passthrough().nullable(),
  result: z.unknown().describe("the run's summary or the ingest's report, once completed"),
});

export const RunDetail = Run.extend({
  progress: Job.nullable().optional().describe('the job that ran it in this server (since it started): stage, done/total, elapsed; null when run elsewhere'),
  scorers: z.array(z.unknown()).describe('the scorers of the run, their versions, columns and times'),
  models: z.array(z.string()).describe('models fitted in the run (GET /models?run=ID)'),
  notes: z.array(z.string()).describe("the run's notes, as kairos score prints them (none for a run before schema 8 or not completed)"),
});

export const Models = z.object({ runId: z.number(), scorers: z.array(z.unknown()), fits: z.array(Record_) });

export const Erasure = z.object({
  erasureId: z.number(),
  erasedAt: z.string(),
  rowsDeleted: z.record(z.string(), z.number()),
  total: z.number(),
});

export const IngestParams = z.object({ entity: z.enum(['customers', 'products', 'orders', 'events']).describe('what the rows are (docs/data-model.md)') });

/** Rows as JSON: an array of objects, one per row, with the data contract's columns (or mapped ones). */
export const IngestRows = z.array(z.record(z.string(), z.unknown())).min(1).describe('one object per row');
/** Rows as NDJSON: one JSON object per line. */
export const IngestLines = z.string().min(1).describe('one JSON object per line (application/x-ndjson)');
export const IngestBody = z.union([IngestRows, IngestLines]);

/** Rejected rows shown in an answer at most (all are in the rejects table and file). */
export const REJECTS_SHOWN = 1000;

export const IngestResult = z.object({
  entity: z.string(),
  batchId: z.number(),
  read: z.number(),
  loaded: z.number(),
  updated: z.number(),
  rejected: z.number(),
  duplicates: z.number(),
  customersCreated: z.number(),
  productsCreated: z.number(),
  rejectReasons: z.array(z.object({ reason: z.string(), count: z.number() })),
  rejects: z.array(z.object({ line: z.number().nullable(), reason: z.string(), raw: z.string().nullable() })).describe(`the rejected rows, by line (at most ${REJECTS_SHOWN})`),
  unknownEventTypes: z.record(z.string(), z.number()),
  rescored: IngestRescoring.optional(),
});

/** Parses a request part with its schema; the first broken fact becomes a VALIDATION error that names where. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue && issue.path.length > 0 ? `${where}.${issue.path.join('.')}` : where;
  throw new KairosError('VALIDATION', `${path}: ${issue?.message ?? 'invalid'}`, { details: { issues: result.error.issues.length } });
}

export const EvaluationParams = z.object({ id: z.coerce.number().int().positive().describe('evaluation id') });

export const EvaluationsQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(1000).default(100).describe('most recent evaluations') });

const EvaluationEntry = z.object({
  id: z.number().int(),
  createdAt: z.string(),
  dataset: z.string(),
  title: z.string(),
  calibrationEnd: z.string(),
  holdout: z.object({ start: z.string(), end: z.string() }),
  customers: z.number(),
  grades: z.array(z.object({ score: z.string(), grade: z.enum(['A', 'B', 'C', 'N/A']) })),
});

export const Evaluations = z.object({ evaluations: z.array(EvaluationEntry) });

export const Evaluation = z.object({
  evaluation: EvaluationEntry,
  report: Record_.describe('the report as `kairos evaluate --json` prints it (EvaluationReport: windows, each score with metrics, grade and charts)'),
});
