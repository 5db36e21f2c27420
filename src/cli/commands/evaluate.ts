// `kairos evaluate`: backtest the predictive scores on a time split and write the report (HTML, or JSON with --json).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { KairosError } from '../../errors.js';
import { formatPair, holdoutLabel } from '../../backtest/format.js';
import type { EvaluationResult } from '../../evaluate/evaluate.js';
import { formatCount } from '../../util/format.js';
import { progressReporter, renderTable, storeWait, type GlobalOptions, type Io } from '../io.js';

interface EvaluateFlags {
  calibrationEnd?: string;
  asOf?: string;
  holdout?: string;
  horizon?: string;
  report?: string;
  dataset?: string;
  title?: string;
  save: boolean;
}

const VERDICT = { A: 'beats baseline', B: 'beats baseline', C: 'does NOT beat baseline', 'N/A': 'cannot be compared' } as const;

/** The plain-text summary printed without --json. */
export function printEvaluation(io: Io, result: EvaluationResult, reportFile: string | undefined): void {
  const { report, split } = result;
  io.out(
    `backtest of ${report.dataset}: ${formatCount(report.customers)} customers; calibration ${report.calibration.start} to ${report.calibration.end}, ` +
      `holdout ${report.holdout.start} to ${report.holdout.end} (${holdoutLabel(split.holdoutDays)})`,
  );
  const rows = report.scores.map((s) => {
    const head = s.metrics[0];
    const [m, b] = head ? formatPair(head.model, head.baseline) : ['n/a', 'n/a'];
    return { score: s.name, grade: s.grade.grade, metric: head?.metric ?? 'n/a', model: m, baseline: `${b} (${head?.baselineName ?? 'n/a'})`, verdict: VERDICT[s.grade.grade] };
  });
  io.out(renderTable(['grade', 'score', 'metric', 'model', 'baseline', 'verdict'], rows, 64));
  for (const part of Object.values(result.scorers)) for (const line of part.summary) io.out(line);
  if (reportFile) io.out(`report: ${reportFile}`);
}

export function registerEvaluate(program: Command, io: Io, global: () => GlobalOptions): void {
  program
    .command('evaluate')
    .description('backtest every predictive score: fit on data before the cut only, compare with what customers did in the holdout, grade against naive baselines')
    .option('--calibration-end <date>', 'last day of the calibration window, YYYY-MM-DD (the cut is the midnight after it)')
    .option('--as-of <date>', 'the cut itself, as in `kairos score --as-of`: data strictly before it is calibration')
    .option('--holdout <length>', 'holdout length, Nd or Nw, e.g. 180d or 39w (default: the rest of the data; 180d before its end when no cut is given)')
    .option('--horizon <length>', 'same as --holdout')
    .option('--report <file>', 'write the self-contained HTML report to this file')
    .option('--dataset <name>', 'data set name shown in the report (default: the store file name)')
    .option('--title <text>', 'report title')
    .option('--no-save', 'do not keep the report in the store (by default it is kept: the dashboard and GET /evaluations show it)')
    .addHelpText(
      'after',
      `
The backtest runs in a transaction that is rolled back; then the report (its JSON) is kept in the store's
evaluations table, for the dashboard and GET /evaluations (--no-save: the store is not changed at all).
--json prints the report as JSON. Custom scores (customScores in kairos.config.json) are graded on their own
objective, beside recency and the learned score, with a sentence on whether the grid is worth keeping.
Example:  kairos evaluate --calibration-end 1997-09-30 --holdout 39w --report cdnow.html`,
    )
    .action(async (flags: EvaluateFlags) => {
      const g = global();
      if (flags.holdout !== undefined && flags.horizon !== undefined && flags.holdout !== flags.horizon) {
        throw new KairosError('USAGE', `--holdout ${flags.holdout} and --horizon ${flags.horizon} disagree: give one`);
      }
      const holdout = flags.holdout ?? flags.horizon;
      // The length is checked before the store is opened: a bad --holdout is a usage error wherever --db points.
      if (holdout !== undefined) (await import('../../backtest/split.js')).parseHoldout(holdout);
      const config = loadConfig(g.config);
      // The report renderer (echarts) alone takes about a second to load: only when a report is asked for.
      const [{ withStore }, { evaluateStore }, { registryFor }] = await Promise.all([import('../../store/db.js'), import('../../evaluate/evaluate.js'), import('../../scores/registry.js')]);
      // Every custom score of the configuration is graded on its own objective (after the shipped scores).
      const registry = registryFor(config);
      const result = await withStore(
        g.db,
        (store) =>
          evaluateStore(store, {
            config,
            registry,
            ...(flags.calibrationEnd !== undefined ? { calibrationEnd: flags.calibrationEnd } : {}),
            ...(flags.asOf !== undefined ? { asOf: flags.asOf } : {}),
            ...(holdout !== undefined ? { holdout } : {}),
            ...(flags.dataset !== undefined ? { dataset: flags.dataset } : {}),
            ...(flags.title !== undefined ? { title: flags.title } : {}),
            onProgress: progressReporter(io, g),
          }),
        { readOnly: true, ...storeWait(io, g) },
      );
      if (flags.save) {
        const { saveEvaluation } = await import('../../evaluate/stored.js');
        const entry = await withStore(g.db, (store) => saveEvaluation(store, result.report), { mustExist: true, ...storeWait(io, g) });
        if (!g.quiet && !g.json) io.err(`report kept in the store as evaluation ${entry.id} (kairos serve shows it at /dashboard/evaluations/${entry.id})`);
      }
      let file: string | undefined;
      if (flags.report !== undefined) {
        file = resolve(flags.report);
        try {
          const { renderReportHtml } = await import('../../evaluate/report/html.js');
          mkdirSync(dirname(file), { recursive: true });
          writeFileSync(file, renderReportHtml(result.report));
        } catch (cause) {
          throw new KairosError('USAGE', `cannot write the report to ${file}: ${(cause as Error).message}`, { cause });
        }
      }
      if (g.json) io.out((await import('../../evaluate/report/json.js')).renderReportJson(result.report));
      else printEvaluation(io, result, file);
    });
}
