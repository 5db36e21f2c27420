// The API's routes of jobs off the request path: start a scoring run, the job in progress, ingests of big bodies and of server files.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { KairosError } from '../errors.js';
import type { RouteContext, RouteSpec } from './routes.js';
import type { Runner } from './runner.js';
import { IngestBody, IngestLines, IngestParams, IngestRows, Job } from './schemas.js';

export const StartRunBody = z.strictObject({
  asOf: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2})?Z?)?$/)
    .optional()
    .describe('ISO date: data before it is used (default: the day after the last order), as kairos score --as-of'),
  scorers: z
    .array(z.string().regex(/^[a-z0-9_-]{1,64}$/))
    .min(1)
    .max(64)
    .optional()
    .describe("a subset of the registered scorers (default: all), as kairos score --scorer; a scorer's dependencies must be stored for the same as-of or listed too"),
});

export const IngestFileBody = z.strictObject({
  path: z.string().min(1).max(4096).describe('absolute path of a file (CSV, Parquet, NDJSON) on the server'),
});

const JobParams = z.object({ id: z.coerce.number().int().positive().describe('job id') });
const Current = z.object({ job: Job.nullable().describe('the job in progress, or null') });
const Jobs = z.object({ jobs: z.array(Job).describe('the job in progress, then the last 50 ended, newest first (since the server started)') });

function requireRunner(ctx: RouteContext): Runner {
  if (!ctx.runner) throw new KairosError('INTERNAL', 'this server has no runner');
  return ctx.runner;
}

/** The routes of the runner (mounted by apiRoutes). */
export function runRoutes(ctx: RouteContext): RouteSpec[] {
  return [
    {
      method: 'POST',
      path: '/runs',
      operationId: 'startRun',
      summary: 'start a scoring run off the request path (202): reads keep being answered from the last published run meanwhile',
      description:
        'One job at a time: 503 BUSY while a run or an ingest job is in progress (GET /runs/current), and across processes the run lock beside the store. ' +
        'Answers once the run has its id; errors found before (a bad as-of, an unknown scorer, a partial run mixing dates) are answered as errors. ' +
        'Follow it with GET /runs/{id} (its progress) or GET /runs/current.',
      scope: 'write',
      body: StartRunBody,
      response: Job,
      status: 202,
      handler: async ({ body }) => {
        const { asOf, scorers } = body as z.output<typeof StartRunBody>;
        return requireRunner(ctx).start({ kind: 'score', ...(asOf === undefined ? {} : { asOf }), ...(scorers === undefined ? {} : { scorers }) }, 'api');
      },
    },
    {
      method: 'GET',
      path: '/runs/current',
      operationId: 'currentJob',
      summary: 'the job in progress in this server (a scoring run or an ingest): stage, done/total, started, elapsed; null when idle',
      scope: 'read',
      response: Current,
      handler: async () => ({ job: requireRunner(ctx).active() }),
    },
    {
      method: 'GET',
      path: '/jobs',
      operationId: 'listJobs',
      summary: "the server's jobs since it started: the one in progress, then the last ones ended",
      scope: 'read',
      response: Jobs,
      handler: async () => ({ jobs: requireRunner(ctx).jobs() }),
    },
    {
      method: 'GET',
      path: '/jobs/{id}',
      operationId: 'getJob',
      summary: 'one job: status, stage, progress, and its result (run summary or ingest report) or error',
      scope: 'read',
      params: JobParams,
      response: Job,
      handler: async ({ params }) => {
        const { id } = params as z.output<typeof JobParams>;
        const job = requireRunner(ctx).job(id);
        if (!job) throw new KairosError('NOT_FOUND', `no job ${id} in this server`, { hint: 'GET /jobs lists them (since the server started)' });
        return job;
      },
    },
    {
      method: 'POST',
      path: '/ingest/{entity}/jobs',
      operationId: 'ingestJob',
      summary: 'load rows as POST /ingest/{entity} does, off the request path (202): for big bodies; the report is the job result',
      description: 'The body is written to a file on the server and ingested by the runner (GET /jobs/{id} for the report). 503 BUSY while another job runs.',
      scope: 'write',
      params: IngestParams,
      body: IngestBody,
      bodyContent: { 'application/json': IngestRows, 'application/x-ndjson': IngestLines },
      response: Job,
      status: 202,
      handler: async ({ params, body, requestId }) => {
        const runner = requireRunner(ctx);
        const { entity } = params as z.output<typeof IngestParams>;
        const rows = body as z.output<typeof IngestBody>;
        runner.checkIdle('cannot start an ingest');
        const scratch = mkdtempSync(join(tmpdir(), 'kairos-api-ingest-'));
        const file = join(scratch, `api-${entity}-${requestId}.ndjson`);
        try {
          writeFileSync(file, typeof rows === 'string' ? rows : `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
          const job = await runner.start({ kind: 'ingest', entity, files: [file] }, 'api');
          void runner.idle().finally(() => rmSync(scratch, { recursive: true, force: true }));
          return job;
        } catch (err) {
          rmSync(scratch, { recursive: true, force: true });
          throw err;
        }
      },
    },
    {
      method: 'POST',
      path: '/ingest/{entity}/files',
      operationId: 'ingestFile',
      summary: 'load a file on the server (CSV, Parquet, NDJSON) off the request path (202), as kairos ingest does; admin keys only',
      scope: 'admin',
      params: IngestParams,
      body: IngestFileBody,
      response: Job,
      status: 202,
      handler: async ({ params, body }) => {
        const { entity } = params as z.output<typeof IngestParams>;
        const { path } = body as z.output<typeof IngestFileBody>;
        if (!isAbsolute(path)) throw new KairosError('VALIDATION', `body.path: "${path}" is not an absolute path`, { hint: 'give the full path of the file on the server' });
        let isFile = false;
        try {
          isFile = statSync(path).isFile();
        } catch {
          isFile = false;
        }
        if (!isFile) throw new KairosError('NOT_FOUND', `no file ${path} on the server`);
        return requireRunner(ctx).start({ kind: 'ingest', entity, files: [path] }, 'api');
      },
    },
  ];
}
