// `kairos recommend CUSTOMER_ID`: one customer's stored recommendations, with product names, categories, scores and reasons.
import type { Command } from 'commander';
import type { CustomerRecommendations } from '../../scores/recommend/stored.js';
import { formatCount } from '../../util/format.js';
import { printJson, renderTable, storeWait, type GlobalOptions, type Io } from '../io.js';

/** The list in words: a line on where it comes from, then a table. */
export function printRecommendations(io: Io, r: CustomerRecommendations): void {
  if (r.products.length === 0) {
    io.out(
      `customer ${r.customerId}: no recommendations as of ${r.asOf} (run ${r.runId}): no product bought or viewed before that date, or none left once what was bought is left out`,
    );
    return;
  }
  io.out(`customer ${r.customerId}: ${formatCount(r.products.length)} products recommended by ${r.model ?? 'n/a'} as of ${r.asOf} (run ${r.runId})`);
  io.out(
    renderTable(
      ['rank', 'product_id', 'name', 'category', 'score', 'reason'],
      r.products.map((p) => ({ ...p, score: Number(p.score.toPrecision(3)) })),
      48,
    ),
  );
}

export function registerRecommend(program: Command, io: Io, global: () => GlobalOptions): void {
  program
    .command('recommend')
    .description("print one customer's recommended products (names, categories, scores, reasons) from the latest run")
    .argument('<customer_id>')
    .action(async (customerId: string) => {
      const g = global();
      const [{ withStore }, { customerRecommendations }, { DEFAULT_REGISTRY }] = await Promise.all([
        import('../../store/db.js'),
        import('../../scores/recommend/stored.js'),
        import('../../scores/registry.js'),
      ]);
      const result = await withStore(g.db, (store) => customerRecommendations(store, DEFAULT_REGISTRY, customerId), { readOnly: true, ...storeWait(io, g) });
      if (g.json) return printJson(io, result);
      printRecommendations(io, result);
    });
}
