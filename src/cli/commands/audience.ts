// `kairos audience`: the customers to target, as CSV: for a product group from the stored category affinity (upsell or cross-sell), or by promotion appetence and other scores.
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
  group?: string;
  mode?: string;
  top: number;
  minProbability?: number;
  appetence?: string;
  excludeAppetence?: string;
  where: string[];
  averageDiscount?: string;
  out?: string;
}

/** Repeated option values, in order. */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** A comma-separated list, trimmed, without empty items. */
function list(text: string | undefined): string[] {
  return (text ?? '').split(',').map((x) => x.trim()).filter((x) => x.length > 0);
}

/** Writes a CSV to `out`, or says why it cannot. */
function writeCsv(out: string, text: string): string {
  const file = resolve(out);
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
  } catch (cause) {
    throw new KairosError('USAGE', `cannot write the audience to ${file}: ${(cause as Error).message}`, { cause });
  }
  return file;
}

export function registerAudience(program: Command, io: Io, global: () => GlobalOptions): void {
  program
    .command('audience')
    .description(
      'the customers to target for a campaign: most likely to buy in a product group (category affinity, upsell or cross-sell), or by promotion appetence combined with other scores',
    )
    .option('--group <name>', 'the product group, as in the category_affinity keys, e.g. "Home"')
    .option('--mode <mode>', 'with --group: upsell (everyone, by probability) or cross-sell (only customers with no purchase in the group)')
    .option('--top <n>', 'customers at most', positiveInteger, 5000)
    .option('--min-probability <p>', 'only customers with at least this probability of buying in the group', probability)
    .option('--appetence <labels>', 'promotion appetence labels to keep, comma-separated: promotion-driven, promotion-sensitive, indifferent, full-price')
    .option('--exclude-appetence <labels>', 'promotion appetence labels to leave out, comma-separated')
    .option('--where <condition>', 'a condition on a score column, COLUMN OP VALUE (OP: >= <= != = > <), e.g. clv_12m>=500 or engagement_label=cooling; repeat for more', collect, [])
    .option('--average-discount <d>', 'with an appetence audience: the margin this discount gives away on the expected spend, a share (0.15 or 15%) or money off each purchase (5EUR)')
    .option('--out <file>', 'write the CSV to this file (default: stdout)')
    .addHelpText(
      'after',
      '\nWith --group: columns customer_id, email, probability, bought_in_group_before, rank; the summary says the size, the mean probability and the expected buyers.' +
        '\nWith --appetence, --exclude-appetence or --where alone: columns customer_id, email, promo_appetence, promo_label, expected_spend_90d, expected_discount_90d, rank;' +
        ' the summary says the size, the expected spend of the next 90 days and, with --average-discount, the margin given away.' +
        '\nExamples: --appetence full-price --where clv_12m>=500 (high value at full price: do not discount);' +
        ' --appetence promotion-driven --where engagement_label=cooling --average-discount 0.15 (send the coupon).',
    )
    .action(async (flags: AudienceFlags) => {
      const g = global();
      if (flags.group === undefined) {
        if (flags.mode !== undefined || flags.minProbability !== undefined) throw new KairosError('USAGE', '--mode and --min-probability go with --group');
        if (flags.appetence === undefined && flags.excludeAppetence === undefined && flags.where.length === 0) {
          throw new KairosError('USAGE', 'say whom to target: --group NAME --mode upsell|cross-sell (category affinity), or --appetence / --exclude-appetence / --where (scores)');
        }
        return promotionAudience(io, g, flags);
      }
      if (flags.mode === undefined) throw new KairosError('USAGE', '--group needs --mode upsell or cross-sell');
      if (flags.appetence !== undefined || flags.excludeAppetence !== undefined || flags.where.length > 0 || flags.averageDiscount !== undefined) {
        throw new KairosError('USAGE', '--appetence, --exclude-appetence, --where and --average-discount make an audience of their own: leave out --group and --mode');
      }
      const group = flags.group;
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
            group,
            mode,
            top: flags.top,
            registry: DEFAULT_REGISTRY,
            ...(flags.minProbability !== undefined ? { minProbability: flags.minProbability } : {}),
          }),
        { readOnly: true, ...storeWait(io, g) },
      );
      printAudience(io, g, audience, audienceSummary(audience), audienceCsv(audience), flags.out);
    });
}

/**
 * Prints an audience: --json the record; with --out the CSV to the file and the summary and notes to stdout;
 * otherwise the CSV on stdout and the summary and notes on stderr, so that the rows can be piped.
 */
function printAudience(io: Io, g: GlobalOptions, audience: { readonly size: number; readonly notes: readonly string[] }, summary: string, csv: string, out: string | undefined): void {
  const file = out !== undefined ? writeCsv(out, csv) : undefined;
  if (g.json) return printJson(io, { ...audience, summary, ...(file ? { file, rows: undefined } : {}) });
  if (file) {
    io.out(summary);
    for (const n of audience.notes) io.out(`note: ${n}`);
    io.out(`wrote ${audience.size.toLocaleString('en')} customers to ${file}`);
    return;
  }
  io.out(csv.trimEnd());
  if (!g.quiet) {
    io.err(summary);
    for (const n of audience.notes) io.err(`note: ${n}`);
  }
}

/** `kairos audience` by promotion appetence and score conditions (no --group). */
async function promotionAudience(io: Io, g: GlobalOptions, flags: AudienceFlags): Promise<void> {
  const [{ withStore }, { registryFor }, { loadConfig }, p] = await Promise.all([
    import('../../store/db.js'),
    import('../../scores/registry.js'),
    import('../../config.js'),
    import('../../scores/promotion/audience.js'),
  ]);
  const config = loadConfig(g.config);
  const registry = registryFor(config);
  const where = flags.where.map((w) => p.parseScoreFilter(w, registry));
  const averageDiscount = flags.averageDiscount === undefined ? undefined : p.parseAverageDiscount(flags.averageDiscount, config.currency);
  const audience = await withStore(
    g.db,
    (store) =>
      p.buildPromotionAudience(store, {
        appetence: list(flags.appetence),
        excludeAppetence: list(flags.excludeAppetence),
        where,
        top: flags.top,
        currency: config.currency,
        registry,
        ...(averageDiscount !== undefined ? { averageDiscount } : {}),
      }),
    { readOnly: true, ...storeWait(io, g) },
  );
  printAudience(io, g, audience, p.promotionAudienceSummary(audience, config.currency), p.promotionAudienceCsv(audience), flags.out);
}
