// `kairos segment create|list|show|export|delete|columns`: saved segments, a name and a filter over customer_scores, for campaigns to select on.
import type { Command } from 'commander';
import { KairosError } from '../../errors.js';
import { formatCount } from '../../util/format.js';
import { printJson, renderTable, storeWait, type GlobalOptions, type Io } from '../io.js';
import { EXPORT_FORMATS, exportScores, STDOUT, type ExportFormat } from './query.js';

const FILTER_HELP = `
Filters: comparisons (= != <> < <= > >=), in (...), not in (...), between ... and ..., is [not] null, joined by
and / or / not and parentheses, over any column of customer_scores (kairos segment columns lists them). Text in
quotes: 'At risk' or "Can't lose them" ('' inside single quotes stands for one); dates as ISO text.
Example: kairos segment create win-back --filter "clv_12m > 200 and churn_risk > 0.6 and rfm_segment in ('At risk', \\"Can't lose them\\")"`;

export function registerSegment(program: Command, io: Io, global: () => GlobalOptions): void {
  const segment = program.command('segment').description('saved segments: a name and a filter over the scores, counted at every run, exported for campaigns').addHelpText('after', FILTER_HELP);
  const load = () => Promise.all([import('../../store/db.js'), import('../../segments/segments.js')]);

  segment
    .command('create')
    .description('save a segment (the filter is checked against the scores now) and print its size')
    .argument('<name>')
    .requiredOption('--filter <expr>', 'the condition customers must meet')
    .option('--description <text>', 'what the segment is for')
    .option('--replace', 'change the filter of an existing segment')
    .addHelpText('after', FILTER_HELP)
    .action(async (name: string, flags: { filter: string; description?: string; replace?: boolean }) => {
      const g = global();
      const [{ withStore }, { saveSegment }] = await load();
      const result = await withStore(g.db, (store) => saveSegment(store, { name, filter: flags.filter, description: flags.description ?? null, replace: flags.replace === true }), {
        mustExist: true,
        ...storeWait(io, g),
      });
      if (g.json) return printJson(io, result);
      io.out(`segment "${result.segment.name}" ${flags.replace ? 'saved' : 'created'}: ${formatCount(result.customers)} customers now`);
    });

  segment
    .command('list')
    .description('every saved segment with its size now and at the last run')
    .action(async () => {
      const g = global();
      const [{ withStore }, { listSegments, compileSegmentFilter, countFilter, segmentHistory }] = await load();
      const rows = await withStore(
        g.db,
        async (store) => {
          const out: { name: string; customers: number | null; at_last_run: number | null; filter: string; error?: string }[] = [];
          for (const s of await listSegments(store)) {
            const history = await segmentHistory(store, s.name);
            const last = history.at(-1)?.customers ?? null;
            try {
              out.push({ name: s.name, customers: await countFilter(store, await compileSegmentFilter(store, s.filter)), at_last_run: last, filter: s.filter });
            } catch (err) {
              if (!(err instanceof KairosError) || err.code !== 'USAGE') throw err;
              out.push({ name: s.name, customers: null, at_last_run: last, filter: s.filter, error: err.message.split('\n')[0] ?? err.message });
            }
          }
          return out;
        },
        { mustExist: true, readOnly: true, ...storeWait(io, g) },
      );
      if (g.json) return printJson(io, rows);
      if (rows.length === 0) return io.out('no saved segment: create one with kairos segment create NAME --filter EXPR');
      io.out(renderTable(['name', 'customers', 'at_last_run', 'filter'], rows.map((r) => ({ ...r, customers: r.customers ?? `error: ${r.error ?? ''}` })), 70));
    });

  segment
    .command('show')
    .description("a segment's filter, its size now and at every run, and its first customers")
    .argument('<name>')
    .option('--limit <n>', 'customers shown', '10')
    .action(async (name: string, flags: { limit: string }) => {
      const g = global();
      const limit = Number(flags.limit);
      if (!(Number.isInteger(limit) && limit >= 0 && limit <= 1000)) throw new KairosError('USAGE', `--limit must be a whole number from 0 to 1,000, got ${flags.limit}`);
      const [{ withStore }, { getSegment, compileSegmentFilter, countFilter, segmentHistory, SEGMENT_SOURCE }] = await load();
      const result = await withStore(
        g.db,
        async (store) => {
          const s = await getSegment(store, name);
          const compiled = await compileSegmentFilter(store, s.filter);
          const customers = await countFilter(store, compiled);
          const sample = await store.all<{ customer_id: string }>(`SELECT customer_id FROM ${SEGMENT_SOURCE} WHERE ${compiled.sql} ORDER BY customer_id LIMIT ?`, [...compiled.params, limit]);
          return { ...s, customers, history: await segmentHistory(store, name), sample: sample.map((r) => r.customer_id) };
        },
        { mustExist: true, readOnly: true, ...storeWait(io, g) },
      );
      if (g.json) return printJson(io, result);
      io.out(`segment "${result.name}": ${formatCount(result.customers)} customers now${result.description ? ` (${result.description})` : ''}`);
      io.out(`filter: ${result.filter}`);
      if (result.history.length > 0) {
        io.out('size at each run:');
        io.out(renderTable(['runId', 'asOf', 'customers'], result.history.map((h) => ({ runId: h.runId, asOf: h.asOf, customers: h.customers ?? `error: ${h.error ?? ''}` }))));
      } else io.out('no run has counted it yet: the next kairos score will');
      if (result.sample.length > 0) io.out(`first customers: ${result.sample.join(', ')}`);
    });

  segment
    .command('export')
    .description("write a segment's customers (chosen columns of customer_scores) to CSV, NDJSON or Parquet for a CRM")
    .argument('<name>')
    .option('--format <fmt>', `one of ${EXPORT_FORMATS.join(', ')} (json: one object per line)`, 'csv')
    .option('--out <file>', 'output file, or - for stdout (CSV and JSON only)')
    .option('--columns <names>', 'comma-separated columns (default: all; with --crm, a CRM set), in this order')
    .option('--crm', 'a CRM-friendly wide table: one row per customer, flat columns only (attributes.KEY gives attribute_key), ISO timestamps')
    .addHelpText(
      'after',
      `
Example: kairos segment export win-back --crm --columns customer_id,email,attributes.phone,clv_12m,churn_risk,recommendations_1 --out win-back.csv`,
    )
    .action(async (name: string, flags: { format: string; out?: string; columns?: string; crm?: boolean }) => {
      const g = global();
      const format = flags.format as ExportFormat;
      const toStdout = flags.out === STDOUT || (flags.out === undefined && !io.outIsTty && format !== 'parquet');
      const safe = name.replace(/[^\p{L}\p{N}_-]+/gu, '_');
      const result = await exportScores(g.db, {
        format,
        out: toStdout ? STDOUT : (flags.out ?? `segment_${safe}.${format === 'json' ? 'ndjson' : format}`),
        write: io.out,
        wait: storeWait(io, g),
        savedSegment: name,
        ...(flags.crm ? { crm: true } : {}),
        ...(flags.columns ? { columns: flags.columns.split(',').map((c) => c.trim()) } : {}),
      });
      const summary = `wrote ${formatCount(result.rows)} customers of segment "${name}" x ${result.columns.length} columns to ${toStdout ? 'stdout' : result.file}`;
      if (toStdout) {
        if (!g.quiet && !g.json) io.err(summary);
      } else if (g.json) printJson(io, result);
      else io.out(summary);
    });

  segment
    .command('delete')
    .description('delete a saved segment (its sizes at past runs stay in the history)')
    .argument('<name>')
    .action(async (name: string) => {
      const g = global();
      const [{ withStore }, { deleteSegment }] = await load();
      await withStore(g.db, (store) => deleteSegment(store, name), { mustExist: true, ...storeWait(io, g) });
      if (g.json) return printJson(io, { deleted: name });
      io.out(`segment "${name}" deleted`);
    });

  segment
    .command('columns')
    .description('the columns a filter may use, with how they compare (number, text, date, boolean)')
    .action(async () => {
      const g = global();
      const [{ withStore }, { filterColumns }] = await load();
      const columns = await withStore(g.db, (store) => filterColumns(store), { mustExist: true, readOnly: true, ...storeWait(io, g) });
      const rows = [...columns.entries()].map(([name, type]) => ({ name, type }));
      if (g.json) return printJson(io, rows);
      io.out(renderTable(['name', 'type'], rows));
    });
}
