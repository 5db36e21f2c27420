// Writes a synthetic orders file of N lines in the data contract's columns (for the ingest benchmark).
import { createWriteStream } from 'node:fs';

/** Writes `lines` order lines to `path`: ~lines/2.5 orders over 2 years, 200k customers, 5k products. Deterministic. */
export async function makeOrdersCsv(path: string, lines: number): Promise<void> {
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
    const customer = Math.floor(rand() * 200_000);
    const when = new Date(start + Math.floor(rand() * 730 * 86_400_000)).toISOString().slice(0, 19) + 'Z';
    const n = 1 + Math.floor(rand() * 4);
    for (let k = 0; k < n && i < lines; k++, i++) {
      const product = Math.floor(rand() * 5000);
      const qty = rand() < 0.02 ? -1 : 1 + Math.floor(rand() * 3);
      const price = (1 + rand() * 99).toFixed(2);
      const discount = rand() < 0.1 ? '1.00' : '0';
      buf.push(`O${order},C${customer},${when},P${product},${qty},${price},${discount},${qty < 0 ? 'returned' : 'completed'}\n`);
    }
    if (buf.length >= 10_000) {
      await write(buf.join(''));
      buf = [];
    }
  }
  await write(buf.join(''));
  await new Promise<void>((resolve) => out.end(resolve));
}
