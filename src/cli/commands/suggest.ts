// `kairos suggest-weights NAME`: the points a custom score's criteria would get if fitted on its objective, with the held-out ROC AUC before and after.
import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { KairosError } from '../../errors.js';
import type { WeightSuggestion } from '../../scores/custom/suggest.js';
import { formatCount } from '../../util/format.js';
import { printJson, progressReporter, renderTable, storeWait, type GlobalOptions, type Io } from '../io.js';

const f = (x: number | null): string => (x === null ? 'n/a' : x.toFixed(3));

/** The suggestion in words: the table of criteria, the AUC before and after, the notes. */
export function printSuggestion(io: Io, s: WeightSuggestion, written: { file: string; backup: string } | null): void {
  io.out(
    `${s.name}: fitted on ${s.objective} after ${s.cut}, on the customers who bought before it: ${formatCount(s.customers.fitted)} fitted ` +
      `(${formatCount(s.positives.fitted)} reached it), ${formatCount(s.customers.heldOut)} held out (${formatCount(s.positives.heldOut)})`,
  );
  io.out(`learner: ${s.learnerDetail}`);
  io.out(
    renderTable(
      ['#', 'criterion', 'points now', 'effect (log-odds)', 'proposed'],
      s.criteria.map((c) => ({ '#': c.number, criterion: c.label, 'points now': c.points, 'effect (log-odds)': c.weight.toFixed(3), proposed: c.proposed })),
      60,
    ),
  );
  const { before, after } = s.holdoutAuc;
  const change = before !== null && after !== null ? ` (${after - before >= 0 ? '+' : ''}${(after - before).toFixed(3)})` : '';
  io.out(`held-out ROC AUC of the points: ${f(before)} now, ${f(after)} with the proposed points${change}`);
  for (const n of s.notes) io.out(`note: ${n}`);
  if (written) io.out(`wrote the proposed points to ${written.file} (the previous file is kept as ${written.backup}); kairos score applies them`);
  else io.out(`the configuration is unchanged: add --write to write the proposed points into it (a backup is kept beside it)`);
}

export function registerSuggestWeights(program: Command, io: Io, global: () => GlobalOptions): void {
  program
    .command('suggest-weights')
    .description("fit a custom score's objective on its criteria and propose whole points (same criteria, same scale), with the held-out ROC AUC before and after")
    .argument('<name>', 'a custom score of kairos.config.json (customScores)')
    .option('--learner <name>', 'logistic (L2-regularised logistic regression) or gbdt (boosted stumps)', 'logistic')
    .option('--calibration-end <date>', "last day of the criteria's data, YYYY-MM-DD (default: the objective's window before the end of the data)")
    .option('--write', 'write the proposed points into the configuration file, keeping a backup beside it', false)
    .addHelpText(
      'after',
      `
The criteria are computed as of the cut as kairos score --as-of would, on the customers who bought before it; their
outcome is read over the objective's window after it. Two customers in three fit the points, the third is held out.
The store is never changed; the configuration only with --write.
Example:  kairos suggest-weights vip_potential --learner gbdt --json`,
    )
    .action(async (name: string, flags: { learner: string; calibrationEnd?: string; write: boolean }) => {
      const g = global();
      const config = loadConfig(g.config);
      const [{ withStore }, { registryFor }, s] = await Promise.all([import('../../store/db.js'), import('../../scores/registry.js'), import('../../scores/custom/suggest.js')]);
      if (!(s.LEARNERS as readonly string[]).includes(flags.learner)) throw new KairosError('USAGE', `invalid --learner "${flags.learner}" (expected one of ${s.LEARNERS.join(', ')})`);
      if (flags.calibrationEnd !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(flags.calibrationEnd.trim())) {
        throw new KairosError('USAGE', `--calibration-end "${flags.calibrationEnd}" is not an ISO date (expected YYYY-MM-DD)`);
      }
      const registry = registryFor(config);
      const suggestion = await withStore(
        g.db,
        (store) =>
          s.suggestWeights(store, config, registry, name, {
            learner: flags.learner as (typeof s.LEARNERS)[number],
            ...(flags.calibrationEnd !== undefined ? { calibrationEnd: flags.calibrationEnd.trim() } : {}),
            progress: progressReporter(io, g),
          }),
        { readOnly: true, mustExist: true, ...storeWait(io, g) },
      );
      const written = flags.write ? s.writeSuggestedPoints(g.config, suggestion) : null;
      if (g.json) return printJson(io, { ...suggestion, written });
      printSuggestion(io, suggestion, written);
    });
}
