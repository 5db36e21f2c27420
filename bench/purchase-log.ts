// Simulated BG/NBD + Gamma-Gamma purchase logs (customer_id,date,amount) for the benchmarks, made once per size and seed.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { writePurchaseLogCsv } from '../src/demo/purchase-log.js';

/**
 * The log of `customers` customers in `dir` (`purchases-N-seedS.csv`, the shape and true parameters of the reference's
 * end-to-end runs, ../shared/peers/README.md), generated on first use under a temporary name, then renamed.
 */
export function purchaseLog(dir: string, customers: number, seed: number): { csv: string; purchases: number } {
  const csv = resolve(dir, `purchases-${customers}-seed${seed}.csv`);
  const meta = `${csv}.json`;
  if (!existsSync(csv) || !existsSync(meta)) {
    mkdirSync(dir, { recursive: true });
    const started = performance.now();
    const s = writePurchaseLogCsv(`${csv}.part`, { customers, seed });
    renameSync(`${csv}.part`, csv);
    writeFileSync(meta, JSON.stringify({ customers, seed, purchases: s.purchases, bytes: s.bytes, params: s.params }));
    console.log(`generated ${csv}: ${s.purchases.toLocaleString('en')} purchases in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  return { csv, purchases: (JSON.parse(readFileSync(meta, 'utf8')) as { purchases: number }).purchases };
}
