// `kairos audience`: the customers to target for a product group, from the stored category affinity (upsell or cross-sell), as CSV.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { KairosError } from '../../errors.js';
import { printJson, storeWait, type GlobalOptions, type Io } from '../io.js';
import { positiveInteger } from '../options.js';

/** A probability option: a number in [0, 1]. */
function probability(text: string): number {
  const p = /^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!(p >= 0 && p <= 1)) throw new InvalidArgumentError('Expected a probability from 0 to 1, e.g. 0.2.');
  return p;
}

interface AudienceFlags {
  group: string;
  mode: string;
  top: number;
  minProbability?: number;
  out?: string;
}

export function registerAudience(program: Command, io: Io, global: () => GlobalOptions): void {
  program
    .command('audience')
    .description('the customers most likely to buy in a product group (category affinity), for a campaign: upsell, or cross-sell to those who never bought in it')
    .requiredOption('--group <name>', 'the product group, as in the category_affinity keys, e.g. "Home"')
    .requiredOption('--mode <mode>', 'upsell (everyone, by probability) or cross-sell (only customers with no purchase in the group)')
    .option('--top <n>', 'customers at most', positiveInteger, 5000)
    .option('--min-probability <p>', 'only customers with at least this probability of buying in the group', probability)
    .option('--out <file>', 'write the CSV to this file (default: stdout)')
    .addHelpText('after', '\nColumns: customer_id, email, probability, bought_in_group_before, rank. The summary line says the size, the mean probability and the expected buyers.')
    .action(async (flags: AudienceFlags) => {
      const g = global();
      const [{ withStore }, { DEFAULT_REGISTRY }, { AUDIENCE_MODES, audienceCsv, audienceSummary, buildAudience }] = await Promise.all([
        import('../../store/db.js'),
        import('../../scores/registry.js'),
        import('../../scores/affinity/audience.js'),
      ]);
      const mode = flags.mode as (typeof AUDIENCE_MODES)[number];
      if (!AUDIENCE_MODES.includes(mode)) throw new KairosError('USAGE', `invalid mode "${flags.mode}" (expected one of ${AUDIENCE_MODES.join(', ')})`);
      const audience = await withStore(
        g.db,
        (store) =>
          buildAudience(store, {
            group: flags.group,
            mode,
            top: flags.top,
            registry: DEFAULT_REGISTRY,
            ...(flags.minProbability !== undefined ? { minProbability: flags.minProbability } : {}),
          }),
        { readOnly: true, ...storeWait(io, g) },
      );
      const summary = audienceSummary(audience);
      let file: string | undefined;
      if (flags.out !== undefined) {
        file = resolve(flags.out);
        try {
          mkdirSync(dirname(file), { recursive: true });
          writeFileSync(file, audienceCsv(audience));
        } catch (cause) {
          throw new KairosError('USAGE', `cannot write the audience to ${file}: ${(cause as Error).message}`, { cause });
        }
      }
      if (g.json) return printJson(io, { ...audience, summary, ...(file ? { file, rows: undefined } : {}) });
      if (file) {
        io.out(summary);
        for (const n of audience.notes) io.out(`note: ${n}`);
        io.out(`wrote ${audience.size.toLocaleString('en')} customers to ${file}`);
        return;
      }
      // The rows on stdout; the summary and notes on stderr, so that the CSV can be piped.
      io.out(audienceCsv(audience).trimEnd());
      if (!g.quiet) {
        io.err(summary);
        for (const n of audience.notes) io.err(`note: ${n}`);
      }
    });
}
