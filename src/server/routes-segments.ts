// Saved segments through the API, by the CLI's code (src/segments): list, create, show with sizes by run, customers page by page, export as a download, delete, a live count for a filter.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { KairosError } from '../errors.js';
import { customerPage } from '../segments/customer-page.js';
import { exportRows } from '../scores/export.js';
import { MAX_FILTER_LENGTH } from '../segments/filter.js';
import { compileSegmentFilter, countFilter, deleteSegment, filterColumns, getSegment, listSegments, saveSegment, segmentHistory } from '../segments/segments.js';
import { allows } from './keys.js';
import { Download, redact, type RouteContext, type RouteSpec } from './routes.js';

export const SegmentParams = z.object({ name: z.string().min(1).max(80).describe("the segment's name (URL-encoded)") });

const SegmentDefinition = z.object({ name: z.string(), filter: z.string(), description: z.string().nullable(), createdAt: z.string(), updatedAt: z.string() });
const Sizes = z.array(z.object({ runId: z.number(), asOf: z.string(), customers: z.number().nullable(), error: z.string().nullable() })).describe('its size at each run that counted it, oldest first');

export const SegmentBody = z.strictObject({
  name: z.string().min(1).max(80),
  filter: z.string().min(1).max(MAX_FILTER_LENGTH).describe('docs/segments.md: clv_12m > 200 and churn_risk > 0.6'),
  description: z.string().max(500).nullable().optional(),
  replace: z.boolean().default(false).describe('change the filter of an existing segment (otherwise an existing name is refused)'),
});

export const CountBody = z.strictObject({ filter: z.string().min(1).max(MAX_FILTER_LENGTH) });

export const PageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().min(1).max(2000).optional().describe('the `next` of the previous page'),
  sort: z.string().regex(/^-?[A-Za-z_][A-Za-z0-9_]{0,63}$/).optional().describe('a column of customer_scores, -column for descending'),
});

export const ExportQuery = z.strictObject({
  format: z.enum(['csv', 'ndjson', 'parquet']).default('csv'),
  columns: z
    .string()
    .regex(/^[A-Za-z0-9_]+(,[A-Za-z0-9_]+)*$/)
    .max(4000)
    .optional()
    .describe('comma-separated columns of customer_scores, in this order (default: all): a stable wide table for the CRM'),
});

const CONTENT_TYPES = { csv: 'text/csv; charset=utf-8', ndjson: 'application/x-ndjson', parquet: 'application/vnd.apache.parquet' } as const;

export function segmentRoutes(ctx: RouteContext): RouteSpec[] {
  const { registry } = ctx;
  const personalFields = ctx.config.personalFields;
  return [
    {
      method: 'GET',
      path: '/segments',
      operationId: 'listSegments',
      summary: 'every saved segment with its size now and at the last run (as kairos segment list)',
      scope: 'read',
      response: z.object({
        segments: z.array(SegmentDefinition.extend({ customers: z.number().nullable(), atLastRun: z.number().nullable(), error: z.string().nullable() })),
      }),
      handler: async ({ db }) =>
        db(async (store) => {
          const out = [];
          for (const s of await listSegments(store)) {
            const last = (await segmentHistory(store, s.name)).at(-1)?.customers ?? null;
            try {
              out.push({ ...s, customers: await countFilter(store, await compileSegmentFilter(store, s.filter)), atLastRun: last, error: null });
            } catch (err) {
              if (!(err instanceof KairosError) || err.code !== 'USAGE') throw err;
              out.push({ ...s, customers: null, atLastRun: last, error: err.message.split('\n')[0] ?? err.message });
            }
          }
          return { segments: out };
        }),
    },
    {
      method: 'POST',
      path: '/segments',
      operationId: 'createSegment',
      summary: 'save a segment (its filter checked against the scores now) and give its size (as kairos segment create)',
      scope: 'write',
      body: SegmentBody,
      status: 201,
      response: z.object({ segment: SegmentDefinition, customers: z.number() }),
      handler: async ({ body, db }) => {
        const b = body as z.output<typeof SegmentBody>;
        return db((store) => saveSegment(store, { name: b.name, filter: b.filter, description: b.description ?? null, replace: b.replace }));
      },
    },
    {
      method: 'POST',
      path: '/segments/count',
      operationId: 'countFilter',
      summary: 'a live count of the customers a filter selects now, without saving it (an error gives the position where the filter breaks)',
      scope: 'read',
      body: CountBody,
      response: z.object({ customers: z.number(), columns: z.array(z.string()).describe('the columns the filter reads') }),
      handler: async ({ body, db }) => {
        const { filter } = body as z.output<typeof CountBody>;
        return db(async (store) => {
          const compiled = await compileSegmentFilter(store, filter);
          return { customers: await countFilter(store, compiled), columns: [...compiled.columns] };
        });
      },
    },
    {
      method: 'GET',
      path: '/segments/columns',
      operationId: 'segmentColumns',
      summary: 'the columns a filter may use, with how they compare (as kairos segment columns)',
      scope: 'read',
      response: z.object({ columns: z.array(z.object({ name: z.string(), type: z.enum(['number', 'text', 'date', 'boolean']) })) }),
      handler: async ({ db }) => ({ columns: [...(await db((store) => filterColumns(store))).entries()].map(([name, type]) => ({ name, type })) }),
    },
    {
      method: 'GET',
      path: '/segments/{name}',
      operationId: 'getSegment',
      summary: "a segment's definition, its size now and its size at each run (segment_sizes)",
      scope: 'read',
      params: SegmentParams,
      response: SegmentDefinition.extend({ customers: z.number().nullable(), error: z.string().nullable(), sizes: Sizes }),
      handler: async ({ params, db }) => {
        const { name } = params as z.output<typeof SegmentParams>;
        return db(async (store) => {
          const s = await getSegment(store, name);
          const sizes = await segmentHistory(store, name);
          try {
            return { ...s, customers: await countFilter(store, await compileSegmentFilter(store, s.filter)), error: null, sizes };
          } catch (err) {
            if (!(err instanceof KairosError) || err.code !== 'USAGE') throw err;
            return { ...s, customers: null, error: err.message.split('\n')[0] ?? err.message, sizes };
          }
        });
      },
    },
    {
      method: 'GET',
      path: '/segments/{name}/customers',
      operationId: 'segmentCustomers',
      summary: "a segment's customers with their latest scores, a page at a time (cursor), sorted",
      scope: 'read',
      params: SegmentParams,
      query: PageQuery,
      response: z.object({ segment: z.string(), customers: z.array(z.record(z.string(), z.unknown())), next: z.string().nullable(), sort: z.string(), redacted: z.array(z.string()) }),
      handler: async ({ params, query, key, db }) => {
        const { name } = params as z.output<typeof SegmentParams>;
        const q = query as z.output<typeof PageQuery>;
        const page = await db((store) => customerPage(store, { limit: q.limit, segment: name, ...(q.sort === undefined ? {} : { sort: q.sort }), ...(q.cursor === undefined ? {} : { cursor: q.cursor }) }));
        const shown = page.rows.map((r) => redact(r, personalFields, key));
        return { segment: name, customers: shown.map((s) => s.row), next: page.next, sort: page.sort, redacted: [...new Set(shown.flatMap((s) => s.redacted))].sort() };
      },
    },
    {
      method: 'GET',
      path: '/segments/{name}/export',
      operationId: 'exportSegment',
      summary: "a segment's customers as a CSV, NDJSON or Parquet download, chosen columns (the code of kairos segment export)",
      description: 'Personal fields (email, personalFields of kairos.config.json) are exported to admin keys only: asking for one with another key is FORBIDDEN, and without columns they are left out.',
      scope: 'read',
      params: SegmentParams,
      query: ExportQuery,
      response: z.string(),
      responseContent: { 'text/csv': z.string(), 'application/x-ndjson': z.string(), 'application/vnd.apache.parquet': z.string().describe('binary') },
      handler: async ({ params, query, key, db }) => {
        const { name } = params as z.output<typeof SegmentParams>;
        const q = query as z.output<typeof ExportQuery>;
        const scratch = mkdtempSync(join(tmpdir(), 'kairos-api-export-'));
        const cleanup = (): void => rmSync(scratch, { recursive: true, force: true });
        const file = join(scratch, `export.${q.format}`);
        try {
          await db(async (store) => {
            await getSegment(store, name);
            const admin = key !== null && allows(key.scope, 'admin');
            const all = (await store.all<{ column_name: string }>('DESCRIBE customer_scores')).map((c) => c.column_name);
            const asked = q.columns?.split(',');
            // attributes may hold personal keys (personalFields names columns and attribute keys): whole, to admin keys only.
            const personal = (asked ?? []).filter((c) => personalFields.includes(c) || c === 'attributes');
            if (!admin && personal.length > 0) throw new KairosError('FORBIDDEN', `${personal.join(', ')}: personal fields are exported to admin keys only`);
            const columns = admin ? asked : (asked ?? all.filter((c) => !personalFields.includes(c) && c !== 'attributes'));
            return exportRows(store, { format: q.format === 'ndjson' ? 'json' : q.format, file, registry, savedSegment: name, ...(columns === undefined ? {} : { columns }) });
          });
        } catch (err) {
          cleanup();
          throw err;
        }
        const safe = name.replace(/[^\p{L}\p{N}_-]+/gu, '_');
        return new Download(file, CONTENT_TYPES[q.format], `segment_${safe}.${q.format}`, cleanup);
      },
    },
    {
      method: 'DELETE',
      path: '/segments/{name}',
      operationId: 'deleteSegment',
      summary: 'delete a saved segment (its sizes at past runs stay in the history)',
      scope: 'write',
      params: SegmentParams,
      response: z.object({ deleted: z.string() }),
      handler: async ({ params, db }) => {
        const { name } = params as z.output<typeof SegmentParams>;
        await db((store) => deleteSegment(store, name));
        return { deleted: name };
      },
    },
  ];
}
