// Tests of the benchmark purchase log: determinism, the CSV, and BG/NBD + Gamma-Gamma moments against Fader-Hardie-Lee 2005.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KairosError } from '../errors.js';
import { expectClose } from '../testing/expect-close.js';
import { DEFAULT_PURCHASE_PARAMS } from './params.js';
import { simulatePurchaseLog, writePurchaseLogCsv } from './purchase-log.js';
import { bgnbdExpectedRepeatPurchases, gammaGammaMeanOrderValue } from './theory.js';

const root = mkdtempSync(join(tmpdir(), 'kairos-purchase-log-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('simulatePurchaseLog', () => {
  it('is deterministic for a seed', () => {
    const run = (seed: number): string => {
      const rows: string[] = [];
      simulatePurchaseLog({ customers: 300, seed, acquisitionDays: 365, horizonDays: 547 }, (id, day, amount) => rows.push(`${id} ${day} ${amount}`));
      return rows.join('\n');
    };
    expect(run(11)).toBe(run(11));
    expect(run(11)).not.toBe(run(12));
  });

  it('matches FHL 2005 eq. 9 repeat purchases and the Gamma-Gamma mean order value (seed 3, 100,000 customers)', () => {
    const A = 365;
    const H = 547;
    const count = new Map<string, number>();
    let amount = 0;
    let purchases = 0;
    let late = 0;
    const summary = simulatePurchaseLog({ customers: 100_000, seed: 3, acquisitionDays: A, horizonDays: H }, (id, day, value) => {
      count.set(id, (count.get(id) ?? 0) + 1);
      amount += value;
      purchases++;
      if (day < 0 || day >= H) late++;
    });
    expect(summary.purchases).toBe(purchases);
    expect(count.size).toBe(100_000);
    expect(late).toBe(0);
    // Mean repeat purchases: E[X(T)] of FHL eq. 9 averaged over T = H - U(0, A) (Simpson's rule, 200 panels).
    const n = 200;
    let integral = 0;
    for (let k = 0; k <= n; k++) {
      const w = k === 0 || k === n ? 1 : k % 2 === 1 ? 4 : 2;
      integral += w * bgnbdExpectedRepeatPurchases(DEFAULT_PURCHASE_PARAMS, H - (A * k) / n);
    }
    const expectedRepeat = integral / (3 * n);
    // sd of repeat purchases per customer ~ 4: SE ~ 0.013 on a mean ~ 2.
    expectClose((purchases - 100_000) / 100_000, expectedRepeat, { rtol: 0.03 }, 'mean repeat purchases');
    expectClose(amount / purchases, gammaGammaMeanOrderValue(DEFAULT_PURCHASE_PARAMS), { rtol: 0.03 }, 'mean order value');
  });

  it('rejects bad options', () => {
    expect(() => simulatePurchaseLog({ customers: 10, seed: 1, acquisitionDays: 365, horizonDays: 100 }, () => {})).toThrow(KairosError);
    expect(() => simulatePurchaseLog({ customers: 10, seed: 1, acquisitionDays: 365, horizonDays: 547, params: { alpha: -1 } }, () => {})).toThrow(/alpha/);
  });
});

describe('writePurchaseLogCsv', () => {
  it('writes customer_id,date,amount with ISO dates inside the horizon', () => {
    const path = join(root, 'log.csv');
    const result = writePurchaseLogCsv(path, { customers: 2000, seed: 5, start: '2024-01-01' });
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    expect(lines[0]).toBe('customer_id,date,amount');
    expect(lines.length - 1).toBe(result.purchases);
    for (const line of lines.slice(1)) {
      const [id, date, amount] = line.split(',');
      expect(id).toMatch(/^C\d{7}$/);
      expect(date! >= '2024-01-01' && date! <= '2025-06-30', date).toBe(true);
      expect(amount).toMatch(/^\d+\.\d{2}$/);
    }
    const again = join(root, 'again.csv');
    writePurchaseLogCsv(again, { customers: 2000, seed: 5, start: '2024-01-01' });
    expect(readFileSync(again).equals(readFileSync(path))).toBe(true);
  });
});
