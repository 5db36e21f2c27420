// Writes a synthetic orders file of N lines in the data contract's columns (for the ingest and RFM benchmarks).
import { createWriteStream, existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface MakeOrdersOptions {
  /** Distinct customer ids drawn from (default 200,000). */
  readonly customers?: number;
  /** Distinct product ids drawn from (default 5,000). */
  readonly products?: number;
  /** Give the first `customers` orders to customers 0, 1, 2, ... so that every customer has an order (default false). */
  readonly everyCustomer?: boolean;
  /**
   * Write quantity "abc" on every `badEvery`-th order line (default 0: none), so that ingest rejects the lines
   * 1 + badEvery, 1 + 2 badEvery, ... of the file (line 1 is the header): a check of reject line numbers at scale.
   */
  readonly badEvery?: number;
}

/**
 * Writes `lines` order lines to `path`: ~lines/2.5 orders over 2 years (2023-2024, UTC timestamps ending in Z),
 * 200k customers and 5k products by default, 2% returns, 10% of lines with a discount. Deterministic: the same
 * arguments give the same bytes on every machine.
 */
export async function makeOrdersCsv(path: string, lines: number, options: MakeOrdersOptions = {}): Promise<void> {
  const customers = options.customers ?? 200_000;
  const products = options.products ?? 5000;
  const badEvery = options.badEvery ?? 0;
  const out = createWriteStream(path);
  const write = (s: string): Promise<void> =>
    new Promise((resolve) => {
      if (out.write(s)) resolve();
      else out.once('drain', () => resolve());
    });
  await write('order_id,customer_id,ordered_at,product_id,quantity,unit_price,discount,status\n');
  let seed = 42;
  const rand = (): number => {
    // xorshift32: a fixed, dependency-free stream so the file is identical on every machine.
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 4294967296;
  };
  const start = Date.UTC(2023, 0, 1);
  let order = 0;
  let buf: string[] = [];
  let i = 0;
  while (i < lines) {
    order++;
    const drawn = Math.floor(rand() * customers);
    const customer = options.everyCustomer && order <= customers ? order - 1 : drawn;
    const when = new Date(start + Math.floor(rand() * 730 * 86_400_000)).toISOString().slice(0, 19) + 'Z';
    const n = 1 + Math.floor(rand() * 4);
    for (let k = 0; k < n && i < lines; k++, i++) {
      const product = Math.floor(rand() * products);
      const qty = rand() < 0.02 ? -1 : 1 + Math.floor(rand() * 3);
      const price = (1 + rand() * 99).toFixed(2);
      const discount = rand() < 0.1 ? '1.00' : '0';
      const bad = badEvery > 0 && (i + 1) % badEvery === 0;
      buf.push(`O${order},C${customer},${when},P${product},${bad ? 'abc' : qty},${price},${discount},${qty < 0 ? 'returned' : 'completed'}\n`);
    }
    if (buf.length >= 10_000) {
      await write(buf.join(''));
      buf = [];
    }
  }
  await write(buf.join(''));
  await new Promise<void>((resolve) => out.end(resolve));
}

/**
 * Path of the benchmark orders file under `dir`, generated once: `lines` lines over `customers` customers drawn at
 * random (`orders-LINES-cCUSTOMERS.csv`), with every customer ordering at least once (`...-all`), with a bad
 * quantity on every `badEvery`-th line (`...-badN`).
 */
export async function ordersFile(dir: string, lines: number, options: MakeOrdersOptions = {}): Promise<string> {
  const customers = options.customers ?? 200_000;
  const suffix = `${options.everyCustomer ? '-all' : ''}${options.badEvery ? `-bad${options.badEvery}` : ''}`;
  const path = resolve(dir, `orders-${lines}-c${customers}${suffix}.csv`);
  if (existsSync(path)) return path;
  mkdirSync(dirname(path), { recursive: true });
  // Written under a temporary name first, so an interrupted run never leaves a truncated file to be reused.
  await makeOrdersCsv(`${path}.part`, lines, options);
  renameSync(`${path}.part`, path);
  return path;
}

// `npx tsx bench/make-orders.ts [LINES] [CUSTOMERS] [all] [bad=N]`: writes bench/out/orders-LINES-cCUSTOMERS[-all][-badN].csv
// once (an existing file is reused) and prints its path.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const lines = Number(process.argv[2] ?? 10_000_000);
  const customers = Number(process.argv[3] ?? 200_000);
  const bad = process.argv.find((a) => a.startsWith('bad='));
  const started = Date.now();
  const path = await ordersFile('bench/out', lines, {
    customers,
    everyCustomer: process.argv.includes('all'),
    ...(bad ? { badEvery: Number(bad.slice(4)) } : {}),
  });
  console.log(`${path} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}
