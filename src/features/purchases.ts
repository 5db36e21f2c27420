// What counts as a purchase, defined once: an order with at least one sold line and a net value that is not negative.

/**
 * SQL of the purchases in an orders relation: one row per order (customer_id, order_id, placed_at = first line's
 * time, net = sum of line amounts) for orders with at least one line of positive quantity and a net value >= 0.
 * Orders made only of returns or cancellations (Online Retail's C invoices) are not purchases; they still lower
 * the customer's net spend (RFM monetary). Zero-value orders (free items) are purchases, as in the CDNOW data.
 */
export function purchasesSql(ordersRelation: string): string {
  return `SELECT customer_id, order_id, min(ordered_at) AS placed_at, sum(amount) AS net FROM ${ordersRelation}
    GROUP BY customer_id, order_id HAVING max(quantity) > 0 AND sum(amount) >= 0`;
}
