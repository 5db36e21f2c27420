// Presets on the real data sets in ../shared/data: Online Retail's 541,909 rows reconcile, CDNOW loads whole.
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withStore } from '../store/db.js';
import { sharedData } from '../testing/shared-data.js';
import { ingest, type FileReport } from './ingest.js';

describe('presets on ../shared/data', () => {
  it('UCI Online Retail: 541,909 rows read reconcile to loaded + rejected (with reasons) + duplicates, 4,372 customers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kairos-or-'));
    await withStore(join(dir, 'k.duckdb'), async (store) => {
      const report = await ingest(store, { entity: 'orders', files: [sharedData('online_retail', 'online_retail.csv.gz')], preset: 'online-retail' });
      const r = report.files[0]!;
      expect(r.read).toBe(541_909);
      expect(r.read).toBe(r.loaded + r.rejected + r.duplicates);
      expect(await store.value('SELECT count(*) FROM orders')).toBe(r.loaded);
      expect(await store.value('SELECT count(*) FROM rejects')).toBe(r.rejected);
      // 135,080 rows have no CustomerID; the rest of the rejects are the excluded non-product codes and 2 negative prices.
      const reasons = Object.fromEntries(r.rejectReasons.map((x) => [x.reason, x.count]));
      expect(reasons['customer_id is empty']).toBe(135_080);
      expect(Object.keys(reasons).every((k) => /customer_id is empty|excluded by config|unit_price N is below 0/.test(k))).toBe(true);
      expect(await store.value('SELECT count(*) FROM customers')).toBe(4_372);
      // Cancellations (invoices starting with C) are stored as negative lines.
      expect(await store.value("SELECT count(*) FROM orders WHERE order_id LIKE 'C%' AND (amount >= 0 OR status <> 'cancelled')")).toBe(0);
      expect(Number(await store.value("SELECT count(*) FROM orders WHERE status = 'cancelled'"))).toBeGreaterThan(8_000);
    });
  });

  it('CDNOW master: 69,659 purchases, 23,570 customers, all first purchases in Q1 1997', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kairos-cd-'));
    await withStore(join(dir, 'k.duckdb'), async (store) => {
      const r = (await ingest(store, { entity: 'orders', files: [sharedData('cdnow', 'cdnow_master.csv')], preset: 'cdnow' })).files[0]!;
      expect(r).toMatchObject({ read: 69_659, loaded: 69_659, rejected: 0, duplicates: 0 });
      expect(await store.value('SELECT count(*) FROM customers')).toBe(23_570);
      expect(await store.value("SELECT max(created_at) < TIMESTAMP '1997-04-01' FROM customers")).toBe(true);
      // order_id is customer-date-k, k numbering the file's rows of that customer and day in file order: 67,591
      // customer-days, 2,068 second or later rows of a day. Customer 10533 bought three CDs apart on 1997-03-01 (lines
      // 32,426-32,428 of the file).
      expect(await store.value("SELECT count(*) FROM orders WHERE NOT regexp_matches(order_id, '^[0-9]+-[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]+$')")).toBe(0);
      expect(await store.value('SELECT count(DISTINCT order_id) FROM orders')).toBe(69_659);
      expect(await store.value("SELECT count(*) FROM orders WHERE ends_with(order_id, '-1')")).toBe(67_591);
      const day = await store.all<{ order_id: string; amount: number }>(
        "SELECT order_id, amount FROM orders WHERE customer_id = '10533' AND ordered_at = TIMESTAMP '1997-03-01' ORDER BY order_id",
      );
      expect(day).toEqual([
        { order_id: '10533-1997-03-01-1', amount: 15.36 },
        { order_id: '10533-1997-03-01-2', amount: 10.77 },
        { order_id: '10533-1997-03-01-3', amount: 9.97 },
      ]);
      const again = (await ingest(store, { entity: 'orders', files: [sharedData('cdnow', 'cdnow_master.csv')], preset: 'cdnow' })).files[0]!;
      expect(again).toMatchObject({ read: 69_659, loaded: 0, rejected: 0, duplicates: 69_659 });
    });
  });

  it('Complete Journey: products and transactions load with every row accounted for', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kairos-cj-'));
    await withStore(join(dir, 'k.duckdb'), async (store) => {
      const p = (await ingest(store, { entity: 'products', files: [sharedData('completejourney', 'products.csv.gz')], preset: 'complete-journey' })).files[0]!;
      expect(p.read).toBe(p.loaded + p.rejected + p.duplicates);
      const t = (await ingest(store, { entity: 'orders', files: [sharedData('completejourney', 'transactions_sample.csv.gz')], preset: 'complete-journey' })).files[0]!;
      expect(t.read).toBe(75_000);
      expect(t.read).toBe(t.loaded + t.rejected + t.duplicates);
      expect(Number(await store.value('SELECT count(DISTINCT customer_id) FROM orders'))).toBeGreaterThan(2_000);
      expect(await store.value("SELECT count(*) FROM products WHERE category LIKE '% > %'")).toBeGreaterThan(1000);
    });
  });

  it('Complete Journey events: coupon redemptions and campaigns received (dated by campaign_descriptions.csv) told apart by their columns', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kairos-cj-events-'));
    await withStore(join(dir, 'k.duckdb'), async (store) => {
      const report = await ingest(store, {
        entity: 'events',
        files: [sharedData('completejourney', 'campaigns.csv'), sharedData('completejourney', 'coupon_redemptions.csv')],
        preset: 'complete-journey',
      });
      const [campaigns, redemptions] = report.files as [FileReport, FileReport];
      expect(campaigns).toMatchObject({ read: 6_589, loaded: 6_589, rejected: 0, duplicates: 0 });
      expect(redemptions.read).toBe(2_102);
      expect(redemptions.read).toBe(redemptions.loaded + redemptions.rejected + redemptions.duplicates);
      // Both types are the contract's promotion types: not reported as types of the store's own.
      expect(report.unknownEventTypes).toEqual({});
      // Campaign 26 started on 2016-12-28 (campaign_descriptions.csv), midnight in New York.
      expect(await store.value("SELECT DISTINCT strftime(occurred_at, '%Y-%m-%d %H:%M') FROM events WHERE type = 'campaign_received' AND campaign_id = '26'")).toBe('2016-12-28 05:00');
      expect(await store.value("SELECT count(DISTINCT campaign_id) FROM events WHERE type = 'campaign_received'")).toBe(27);
    });
  });

  it('campaigns.csv: a campaign without a description is rejected (occurred_at is empty); without campaign_descriptions.csv the file is refused, naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kairos-cj-campaigns-'));
    writeFileSync(join(dir, 'campaigns.csv'), 'campaign_id,household_id\n1,h1\n99,h2\n');
    await withStore(join(dir, 'k.duckdb'), async (store) => {
      await expect(ingest(store, { entity: 'events', files: [join(dir, 'campaigns.csv')], preset: 'complete-journey' })).rejects.toThrow(
        /reads start_date from campaign_descriptions\.csv beside it, not found/,
      );
      expect(await store.value('SELECT count(*) FROM events')).toBe(0);
      copyFileSync(sharedData('completejourney', 'campaign_descriptions.csv'), join(dir, 'campaign_descriptions.csv'));
      const r = (await ingest(store, { entity: 'events', files: [join(dir, 'campaigns.csv')], preset: 'complete-journey', rejectsDir: dir })).files[0]!;
      expect(r).toMatchObject({ read: 2, loaded: 1, rejected: 1, duplicates: 0 });
      expect(await store.all('SELECT line, reason FROM rejects')).toEqual([{ line: 3, reason: 'occurred_at is empty' }]);
      await expect(ingest(store, { entity: 'events', files: [join(dir, 'campaign_descriptions.csv')], preset: 'complete-journey' })).rejects.toThrow(
        /the preset maps files with the columns redemption_date; or campaign_id \+ household_id/,
      );
    });
  });
});
