// Named RFM segments: one rule table on the recency score R and the mean of frequency and monetary scores FM.

/** A segment covers a rectangle of (R, FM) cells on the 1-5 scale. The 11 rules tile all 25 cells exactly once. */
export interface SegmentRule {
  readonly name: string;
  readonly r: readonly [number, number];
  readonly fm: readonly [number, number];
  readonly meaning: string;
}

/** The segments, most valuable first. FM = round-half-up((F + M) / 2). Documented in docs/scores.md. */
export const RFM_SEGMENTS: readonly SegmentRule[] = [
  { name: 'Champions', r: [4, 5], fm: [4, 5], meaning: 'bought recently, buy often and spend the most' },
  { name: 'Loyal', r: [3, 3], fm: [4, 5], meaning: 'buy often and spend well, a little less recently' },
  { name: 'Potential loyalists', r: [4, 5], fm: [2, 3], meaning: 'recent customers with average frequency and spend' },
  { name: 'New', r: [5, 5], fm: [1, 1], meaning: 'bought very recently, for the first time or little so far' },
  { name: 'Promising', r: [4, 4], fm: [1, 1], meaning: 'recent buyers who have not spent much yet' },
  { name: 'Need attention', r: [3, 3], fm: [3, 3], meaning: 'average recency, frequency and spend' },
  { name: 'About to sleep', r: [3, 3], fm: [1, 2], meaning: 'below average recency and spend: will be lost without action' },
  { name: "Can't lose them", r: [1, 2], fm: [5, 5], meaning: 'used to buy the most, long ago' },
  { name: 'At risk', r: [1, 2], fm: [3, 4], meaning: 'spent well and often, long ago' },
  { name: 'Hibernating', r: [2, 2], fm: [1, 2], meaning: 'low spend, low frequency, last purchase long ago' },
  { name: 'Lost', r: [1, 1], fm: [1, 2], meaning: 'lowest recency, frequency and spend' },
];

/** Label of customers with no purchase before the as-of date (outside the 11 RFM segments). */
export const PROSPECT_SEGMENT = 'Prospect';

/** The segment of a cell (scores on the 1-5 scale). */
export function segmentOf(r: number, f: number, m: number): string {
  const fm = Math.floor((f + m + 1) / 2);
  const rule = RFM_SEGMENTS.find((s) => r >= s.r[0] && r <= s.r[1] && fm >= s.fm[0] && fm <= s.fm[1]);
  if (!rule) throw new Error(`no RFM segment for R ${r}, F ${f}, M ${m}`);
  return rule.name;
}

/** The same rule table as one SQL CASE over integer columns r, f, m (scores on the 1-5 scale). */
export function segmentSql(r: string, f: string, m: string): string {
  const fm = `((${f} + ${m} + 1) // 2)`;
  const branches = RFM_SEGMENTS.map(
    (s) => `WHEN ${r} BETWEEN ${s.r[0]} AND ${s.r[1]} AND ${fm} BETWEEN ${s.fm[0]} AND ${s.fm[1]} THEN '${s.name.replaceAll("'", "''")}'`,
  );
  return `CASE ${branches.join(' ')} END`;
}
