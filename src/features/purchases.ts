// What counts as a purchase, defined once: an order with at least one sold line and a net value that is not negative.

/**
 * SQL of the orders of a relation that are NOT purchases: orders made only of returns or cancellations (no line
 * of positive quantity) or with a negative net value (Online Retail's C invoices). Only orders holding a line with
 * quantity <= 0 or a negative amount can be refused, so only those few are aggregated: the bulk of the lines is
 * never grouped per order.
 */
export function refusedOrdersSql(ordersRelation: string): string {
  return `SELECT o.customer_id, o.order_id FROM ${ordersRelation} o
    SEMI JOIN (SELECT DISTINCT customer_id, order_id FROM ${ordersRelation} WHERE quantity <= 0 OR amount < 0) s
      ON o.customer_id = s.customer_id AND o.order_id = s.order_id
    GROUP BY o.customer_id, o.order_id HAVING NOT (max(o.quantity) > 0 AND sum(o.amount) >= 0)`;
}

/**
 * SQL of the purchases in an orders relation: one row per order (customer_id, order_id, placed_at = first line's
 * time, net = sum of line amounts) for orders with at least one line of positive quantity and a net value >= 0.
 * Orders made only of returns or cancellations are not purchases; they still lower the customer's net spend (RFM
 * monetary). Zero-value orders (free items) are purchases, as in the CDNOW data.
 */
export function purchasesSql(ordersRelation: string): string {
  return `SELECT customer_id, order_id, min(ordered_at) AS placed_at, sum(amount) AS net FROM ${ordersRelation}
    GROUP BY customer_id, order_id HAVING max(quantity) > 0 AND sum(amount) >= 0`;
}

/**
 * SQL of the purchase days: one row per customer and day (`day`, `amount` = net of the purchase lines that day), from
 * the lines of purchases (the orders purchasesSql keeps). A line's own date is its day: the lines of one order
 * normally share the order's time.
 */
export function purchaseDaysSql(ordersRelation: string): string {
  return `SELECT o.customer_id, o.ordered_at::DATE AS day, sum(o.amount) AS amount FROM ${ordersRelation} o
    ANTI JOIN (${refusedOrdersSql(ordersRelation)}) r ON o.customer_id = r.customer_id AND o.order_id = r.order_id
    GROUP BY o.customer_id, o.ordered_at::DATE`;
}
