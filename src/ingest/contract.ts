// The data contract: the four entities Kairos reads, their columns, types, limits and natural keys (docs/data-model.md).
import { KairosError } from '../errors.js';
import { ENTITIES, type Entity } from '../store/migrations.js';

export { ENTITIES, type Entity };

/** How a column is parsed and checked. */
export type ColumnKind = 'id' | 'text' | 'timestamp' | 'number' | 'status' | 'event_type';

export interface ColumnSpec {
  readonly name: string;
  readonly kind: ColumnKind;
  readonly required: boolean;
  /** Other header names recognised without a mapping (compared case-insensitively). */
  readonly aliases?: readonly string[];
  /** Smallest and largest accepted value for numbers. */
  readonly min?: number;
  readonly max?: number;
  /** Zero is rejected (quantities). */
  readonly nonZero?: boolean;
  readonly description: string;
}

export interface EntitySpec {
  readonly entity: Entity;
  readonly columns: readonly ColumnSpec[];
  /** Columns whose values identify a row: a row equal on these to one already seen is a duplicate. */
  readonly key: readonly string[];
  /** true: the key is an id and a changed row updates the stored one; false: the key is the whole row. */
  readonly upsert: boolean;
}

/** Event types of the contract (the engagement scorer's defaults weigh them); events of other types are kept and counted. */
export const EVENT_TYPES = [
  'email_sent',
  'email_open',
  'email_click',
  'unsubscribe',
  'web_visit',
  'product_view',
  'add_to_cart',
  'review',
  'referral',
  'social_share',
  'complaint',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * Event types of promotions, read by the promotion scorer (docs/scores.md, "Promotion appetence"): a coupon redeemed
 * (campaign_id: the campaign it came with), a promotional campaign received (a mailer, a coupon book; campaign_id). Part
 * of the contract (not counted as other types by the ingest), yet apart from EVENT_TYPES: the engagement score does not
 * weigh them, and the learned models count them among the other events, as before they were declared.
 */
export const PROMOTION_EVENT_TYPES = ['coupon_redemption', 'campaign_received'] as const;

/** Order line statuses. Lines `cancelled` or `returned` (or with negative quantity) count negatively. */
export const ORDER_STATUSES = ['completed', 'cancelled', 'returned'] as const;

/**
 * Limits beyond which a value is absurd and the row is rejected; and the longest line of a text file, beyond which the
 * file is refused (DuckDB's own default max_line_size; `ingest.<entity>.maxLineBytes` changes it).
 */
export const LIMITS = {
  maxQuantity: 1_000_000,
  maxPrice: 10_000_000,
  earliest: '1970-01-01',
  maxLineBytes: 2 * 2 ** 20,
} as const;

const id = (name: string, required: boolean, description: string, aliases: string[] = []): ColumnSpec => ({
  name,
  kind: 'id',
  required,
  description,
  aliases,
});

export const SPECS: Readonly<Record<Entity, EntitySpec>> = {
  customers: {
    entity: 'customers',
    key: ['customer_id'],
    upsert: true,
    columns: [
      id('customer_id', true, 'customer identifier', ['customerid', 'customer', 'client_id', 'household_id']),
      { name: 'created_at', kind: 'timestamp', required: false, description: 'when the customer was created (default: first order)', aliases: ['signup_date', 'registered_at'] },
      { name: 'email', kind: 'text', required: false, description: 'e-mail address' },
      { name: 'country', kind: 'text', required: false, description: 'country' },
    ],
  },
  products: {
    entity: 'products',
    key: ['product_id'],
    upsert: true,
    columns: [
      id('product_id', true, 'product identifier (SKU)', ['stockcode', 'sku', 'item_id']),
      { name: 'name', kind: 'text', required: false, description: 'product name', aliases: ['description', 'product_name'] },
      { name: 'category', kind: 'text', required: false, description: "category path, levels separated by ' > '" },
      { name: 'price', kind: 'number', required: false, min: 0, max: LIMITS.maxPrice, description: 'list price' },
    ],
  },
  orders: {
    entity: 'orders',
    key: ['order_id', 'customer_id', 'ordered_at', 'product_id', 'quantity', 'unit_price', 'discount', 'status'],
    upsert: false,
    columns: [
      id('order_id', true, 'order identifier', ['invoiceno', 'invoice', 'basket_id']),
      id('customer_id', true, 'customer identifier', ['customerid', 'household_id']),
      { name: 'ordered_at', kind: 'timestamp', required: true, description: 'order time', aliases: ['invoicedate', 'order_date', 'date', 'transaction_timestamp'] },
      id('product_id', false, 'product identifier', ['stockcode', 'sku']),
      { name: 'quantity', kind: 'number', required: false, nonZero: true, min: -LIMITS.maxQuantity, max: LIMITS.maxQuantity, description: 'units; negative for a return (default 1)' },
      { name: 'unit_price', kind: 'number', required: false, min: 0, max: LIMITS.maxPrice, description: 'price of one unit before discount', aliases: ['unitprice', 'price'] },
      { name: 'amount', kind: 'number', required: false, min: -LIMITS.maxPrice * LIMITS.maxQuantity, max: LIMITS.maxPrice * LIMITS.maxQuantity, description: 'line total after discount, when unit_price is not given', aliases: ['sales_value'] },
      {
        name: 'discount',
        kind: 'number',
        required: false,
        min: -LIMITS.maxPrice * LIMITS.maxQuantity,
        max: LIMITS.maxPrice * LIMITS.maxQuantity,
        description: 'money off the line (default 0); a return line may mirror its sale with a negative discount',
      },
      { name: 'status', kind: 'status', required: false, description: 'completed | cancelled | returned (default completed; returned if quantity < 0)' },
      { name: 'product_name', kind: 'text', required: false, description: 'product name, used to create missing products' },
      { name: 'category', kind: 'text', required: false, description: 'product category, used to create missing products' },
      { name: 'country', kind: 'text', required: false, description: 'customer country, used to create missing customers' },
    ],
  },
  events: {
    entity: 'events',
    key: ['customer_id', 'occurred_at', 'type', 'product_id', 'campaign_id', 'value'],
    upsert: false,
    columns: [
      id('customer_id', true, 'customer identifier', ['household_id']),
      { name: 'occurred_at', kind: 'timestamp', required: true, description: 'event time', aliases: ['timestamp', 'date', 'event_time'] },
      {
        name: 'type',
        kind: 'event_type',
        required: true,
        description: `event type, stored in lower snake case: ${EVENT_TYPES.join(', ')}, or any other (kept and counted)`,
        aliases: ['event_type', 'event'],
      },
      id('product_id', false, 'product concerned (views, carts, reviews)'),
      id('campaign_id', false, 'campaign concerned (e-mails)'),
      { name: 'value', kind: 'number', required: false, min: -1e12, max: 1e12, description: 'a number carried by the event (review rating, ...)' },
    ],
  },
};

/** Resolves an entity name in one place. */
export function parseEntity(name: string): Entity {
  if ((ENTITIES as readonly string[]).includes(name)) return name as Entity;
  throw new KairosError('USAGE', `invalid entity "${name}" (expected one of ${ENTITIES.join(', ')})`);
}
