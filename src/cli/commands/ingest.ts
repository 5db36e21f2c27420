// `kairos ingest ENTITY FILE...`: load files into the store and account for every row.
import type { Command } from 'commander';
import { loadConfig, type IngestSettings } from '../../config.js';
import { KairosError } from '../../errors.js';
import { parseEntity } from '../../ingest/contract.js';
import type { IngestReport } from '../../ingest/ingest.js';
import { formatCount } from '../../util/format.js';
import { printJson, progressReporter, renderTable, storeWait, type GlobalOptions, type Io } from '../io.js';

interface IngestFlags {
  preset?: string;
  map: string[];
  excludeProducts?: string;
  timezone?: string;
  dateFormat?: string;
  delimiter?: string;
  encoding?: string;
  rejectsDir?: string;
}

/** Parses repeated `--map our=theirs` flags. */
export function parseMappings(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const i = v.indexOf('=');
    if (i <= 0 || i === v.length - 1) throw new KairosError('USAGE', `--map expects our=theirs (e.g. customer_id=CustomerID), got "${v}"`);
    out[v.slice(0, i).trim()] = v.slice(i + 1).trim();
  }
  return out;
}

export function printIngestReport(io: Io, report: IngestReport): void {
  const rows = report.files.map((f) => ({
    file: f.file.split('/').pop(),
    read: formatCount(f.read),
    loaded: formatCount(f.loaded),
    rejected: formatCount(f.rejected),
    duplicates: formatCount(f.duplicates),
  }));
  io.out(renderTable(['file', 'read', 'loaded', 'rejected', 'duplicates'], rows));
  const t = report.totals;
  io.out(`read ${formatCount(t.read)} = loaded ${formatCount(t.loaded)} + rejected ${formatCount(t.rejected)} + duplicates ${formatCount(t.duplicates)}`);
  for (const f of report.files) {
    if (f.customersCreated || f.productsCreated) {
      io.out(`${f.file.split('/').pop()}: ${formatCount(f.customersCreated)} new customers, ${formatCount(f.productsCreated)} new products from these ${report.entity}`);
    }
    const unknown = Object.entries(f.unknownEventTypes);
    if (unknown.length > 0) {
      const n = unknown.reduce((a, [, k]) => a + k, 0);
      const shown = unknown.slice(0, 10).map(([type, k]) => `${type} ${formatCount(k)}`).join(', ');
      io.out(
        `${f.file.split('/').pop()}: ${formatCount(n)} events of ${unknown.length} type(s) outside the data contract, kept as they are: ${shown}` +
          `${unknown.length > 10 ? `, … ${unknown.length - 10} more` : ''} (the engagement score weighs them only if engagement.weights names them)`,
      );
    }
    if (f.rejected > 0) {
      io.out(`rejects of ${f.file.split('/').pop()} (file, line and reason in ${f.rejectsFile}):`);
      for (const r of f.rejectReasons.slice(0, 10)) io.out(`  ${formatCount(r.count).padStart(9)}  ${r.reason}`);
      if (f.rejectReasons.length > 10) io.out(`  … ${f.rejectReasons.length - 10} more kinds of reason`);
    }
  }
}

export function registerIngest(program: Command, io: Io, global: () => GlobalOptions): void {
  program
    .command('ingest')
    .description('load customers, products, orders or events from CSV (.gz), Parquet or NDJSON files')
    .argument('<entity>', 'customers | products | orders | events')
    .argument('<files...>', 'files to load (all in one transaction)')
    .option('--preset <name>', 'column mapping of a known data set: cdnow, online-retail, complete-journey')
    .option('--map <our=theirs>', 'map a contract column to a file column (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--exclude-products <ids>', 'comma-separated product ids that are not products (postage, fees)')
    .option('--timezone <zone>', 'IANA zone of timestamps written without an offset (default: config timezone, UTC)')
    .option('--date-format <fmt>', 'strptime format of non-ISO dates, e.g. "%d/%m/%Y %H:%M"')
    .option('--delimiter <char>', 'CSV delimiter (default: detected)')
    .option('--encoding <name>', 'utf-8 (default), latin-1 or utf-16')
    .option('--rejects-dir <dir>', 'where rejects files go (default: kairos-rejects beside the store)')
    .action(async (entityName: string, files: string[], flags: IngestFlags) => {
      const g = global();
      const entity = parseEntity(entityName);
      const config = loadConfig(g.config);
      const fromConfig: IngestSettings = config.ingest[entity] ?? {};
      const settings: IngestSettings = { ...fromConfig, map: { ...fromConfig.map, ...parseMappings(flags.map) } };
      if (flags.excludeProducts !== undefined) settings.excludeProducts = flags.excludeProducts.split(',').map((s) => s.trim()).filter(Boolean);
      if (flags.timezone !== undefined) settings.timezone = flags.timezone;
      if (flags.dateFormat !== undefined) settings.dateFormat = flags.dateFormat;
      if (flags.delimiter !== undefined) settings.delimiter = flags.delimiter;
      if (flags.encoding !== undefined) settings.encoding = flags.encoding;
      const [{ withStore }, { ingest }] = await Promise.all([import('../../store/db.js'), import('../../ingest/ingest.js')]);
      const report = await withStore(g.db, (store) =>
        ingest(store, {
          entity,
          files,
          ...(flags.preset !== undefined ? { preset: flags.preset } : {}),
          settings,
          timezone: config.timezone,
          ...(flags.rejectsDir !== undefined ? { rejectsDir: flags.rejectsDir } : {}),
          onProgress: progressReporter(io, g),
        }),
        storeWait(io, g),
      );
      if (g.json) printJson(io, report);
      else printIngestReport(io, report);
    });
}
