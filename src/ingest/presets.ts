// Column mappings for the real public data sets in ../shared/data, so they load with `--preset NAME`.
import { KairosError } from '../errors.js';
import type { Entity } from './contract.js';

/**
 * How one contract column is read: from a source column (`source`), or from a SQL expression over the
 * source columns (`sql`, written here in code, never from user input).
 */
export type ColumnSource = { readonly source: string } | { readonly sql: string };

export interface EntityPreset {
  readonly columns: Readonly<Record<string, ColumnSource>>;
  /** IANA time zone of naive timestamps in the files. */
  readonly timezone?: string;
  /** Product ids whose order lines are not products (postage, fees): rejected with that reason. */
  readonly excludeProducts?: readonly string[];
  /** Source columns kept in the `attributes` JSON (customers, products). */
  readonly attributes?: readonly string[];
  /**
   * An id column numbered within each file: `-k` is appended to its value, k the row's place in file order among the
   * file's rows (rejected ones included) of the same value. Rows otherwise identical are then distinct lines, with ids
   * that do not depend on the rest of the file (src/ingest/ingest.ts, numberRepeats).
   */
  readonly numbered?: string;
  /**
   * Source columns that select this mapping when a preset has several for one entity (files of different shapes, such
   * as the Complete Journey's coupon redemptions and campaigns): the first mapping whose columns the file has is used.
   */
  readonly requires?: readonly string[];
  /**
   * A small table read from a file beside the one ingested, as a map from `key` to `value` in the DuckDB variable
   * `variable` (read in the preset's SQL with getvariable): a lookup without a join, which would lose the file order.
   */
  readonly lookup?: { readonly variable: string; readonly file: string; readonly key: string; readonly value: string };
}

export interface Preset {
  readonly name: string;
  readonly description: string;
  /** One mapping per entity, or several told apart by their `requires` columns. */
  readonly entities: Partial<Readonly<Record<Entity, EntityPreset | readonly EntityPreset[]>>>;
}

export const PRESETS: readonly Preset[] = [
  {
    name: 'cdnow',
    description:
      'CDNOW cohort (cdnow_master.csv or cdnow_sample.csv): one row per purchase with customer_id, date, quantity, amount. ' +
      'Each row becomes one order line (order_id = customer-date-k, the k-th row of that customer and day in the file), product unknown.',
    entities: {
      orders: {
        columns: {
          order_id: { sql: `"customer_id" || '-' || "date"` },
          customer_id: { source: 'customer_id' },
          ordered_at: { source: 'date' },
          quantity: { source: 'quantity' },
          amount: { source: 'amount' },
        },
        // Same-day purchases of equal amount are distinct purchases in CDNOW (255 such rows): numbering keeps them apart.
        numbered: 'order_id',
      },
    },
  },
  {
    name: 'online-retail',
    description:
      'UCI Online Retail (online_retail.csv.gz): invoices starting with C are cancellations (netted against value), ' +
      'non-product codes (postage, fees, manual adjustments) are excluded, CustomerID written as a float is normalised.',
    entities: {
      orders: {
        columns: {
          order_id: { source: 'InvoiceNo' },
          customer_id: { source: 'CustomerID' },
          ordered_at: { source: 'InvoiceDate' },
          product_id: { source: 'StockCode' },
          product_name: { source: 'Description' },
          quantity: { source: 'Quantity' },
          unit_price: { source: 'UnitPrice' },
          country: { source: 'Country' },
          status: { sql: `CASE WHEN "InvoiceNo" LIKE 'C%' THEN 'cancelled' ELSE NULL END` },
        },
        timezone: 'Europe/London',
        excludeProducts: ['POST', 'DOT', 'M', 'm', 'C2', 'D', 'S', 'BANK CHARGES', 'AMAZONFEE', 'CRUK', 'B'],
      },
    },
  },
  {
    name: 'complete-journey',
    description:
      'dunnhumby The Complete Journey (transactions_sample.csv.gz, products.csv.gz, demographics.csv, coupon_redemptions.csv, campaigns.csv): households are customers, ' +
      'baskets are orders; discounts = retail + coupon + coupon match; coupon redemptions are events (type coupon_redemption), campaigns received too ' +
      '(type campaign_received, dated by the campaign start in campaign_descriptions.csv beside campaigns.csv); timestamps are America/New_York.',
    entities: {
      orders: {
        columns: {
          order_id: { source: 'basket_id' },
          customer_id: { source: 'household_id' },
          ordered_at: { source: 'transaction_timestamp' },
          product_id: { source: 'product_id' },
          quantity: { source: 'quantity' },
          amount: { source: 'sales_value' },
          discount: {
            sql: `(coalesce(TRY_CAST("retail_disc" AS DOUBLE), 0) + coalesce(TRY_CAST("coupon_disc" AS DOUBLE), 0) + coalesce(TRY_CAST("coupon_match_disc" AS DOUBLE), 0))::VARCHAR`,
          },
        },
        timezone: 'America/New_York',
      },
      products: {
        columns: {
          product_id: { source: 'product_id' },
          name: { sql: `concat_ws(' ', nullif("brand", ''), nullif("product_type", ''))` },
          category: { sql: `concat_ws(' > ', nullif("department", ''), nullif("product_category", ''), nullif("product_type", ''))` },
        },
        attributes: ['manufacturer_id', 'brand', 'package_size'],
      },
      customers: {
        columns: { customer_id: { source: 'household_id' } },
        attributes: ['age', 'income', 'home_ownership', 'marital_status', 'household_size', 'household_comp', 'kids_count'],
      },
      // coupon_redemptions.csv: a household redeemed a campaign's coupon that day (type coupon_redemption); campaigns.csv:
      // a household received a campaign (type campaign_received), dated by the campaign's start in
      // campaign_descriptions.csv beside it. Neither type weighs in engagement; both feed the promotion scorer.
      events: [
        {
          requires: ['redemption_date'],
          columns: {
            customer_id: { source: 'household_id' },
            occurred_at: { source: 'redemption_date' },
            type: { sql: `'coupon_redemption'` },
            campaign_id: { source: 'campaign_id' },
          },
          timezone: 'America/New_York',
        },
        {
          requires: ['campaign_id', 'household_id'],
          columns: {
            customer_id: { source: 'household_id' },
            occurred_at: { sql: `getvariable('__kairos_campaign_start')[trim("campaign_id"::VARCHAR)]` },
            type: { sql: `'campaign_received'` },
            campaign_id: { source: 'campaign_id' },
          },
          lookup: { variable: '__kairos_campaign_start', file: 'campaign_descriptions.csv', key: 'campaign_id', value: 'start_date' },
          timezone: 'America/New_York',
        },
      ],
    },
  },
];

/** Resolves a preset name in one place. */
export function findPreset(name: string): Preset {
  const preset = PRESETS.find((p) => p.name === name);
  if (!preset) {
    throw new KairosError('USAGE', `invalid preset "${name}" (expected one of ${PRESETS.map((p) => p.name).join(', ')})`);
  }
  return preset;
}

/** The preset's mappings for one entity (one, or several told apart by `requires`), or an error naming the entities it covers. */
export function presetFor(name: string, entity: Entity): readonly EntityPreset[] {
  const preset = findPreset(name);
  const ep = preset.entities[entity];
  if (!ep) {
    throw new KairosError('USAGE', `preset "${name}" has no mapping for ${entity} (it maps ${Object.keys(preset.entities).join(', ')})`);
  }
  return Array.isArray(ep) ? (ep as readonly EntityPreset[]) : [ep as EntityPreset];
}

/** The mapping of `mappings` for a file with these columns: the first whose `requires` columns it has (case-insensitively). */
export function choosePreset(mappings: readonly EntityPreset[], file: string, found: readonly string[]): EntityPreset {
  const lower = new Set(found.map((c) => c.toLowerCase()));
  const hit = mappings.find((m) => (m.requires ?? []).every((c) => lower.has(c.toLowerCase())));
  if (hit) return hit;
  const shapes = mappings.map((m) => (m.requires ?? []).join(' + ')).join('; or ');
  throw new KairosError('VALIDATION', `${file}: the preset maps files with the columns ${shapes} (columns found: ${found.join(', ') || 'none'})`);
}
