// The RFM segment table: every cell has exactly one segment, and SQL and TypeScript agree.
import { describe, expect, it } from 'vitest';
import { Store } from '../../store/db.js';
import { RFM_SEGMENTS, segmentOf, segmentSql } from './segments.js';

describe('RFM segments', () => {
  it('tile the 5 x 5 grid of (R, FM): every cell in exactly one rule', () => {
    for (let r = 1; r <= 5; r++) {
      for (let fm = 1; fm <= 5; fm++) {
        const hits = RFM_SEGMENTS.filter((s) => r >= s.r[0] && r <= s.r[1] && fm >= s.fm[0] && fm <= s.fm[1]);
        expect(hits.map((h) => h.name), `cell R${r} FM${fm}`).toHaveLength(1);
      }
    }
    expect(RFM_SEGMENTS).toHaveLength(11);
  });

  it('names the classic cells', () => {
    expect(segmentOf(5, 5, 5)).toBe('Champions');
    expect(segmentOf(5, 1, 1)).toBe('New');
    expect(segmentOf(1, 5, 5)).toBe("Can't lose them");
    expect(segmentOf(1, 1, 1)).toBe('Lost');
    expect(segmentOf(3, 3, 4)).toBe('Loyal'); // FM = round-half-up(3.5) = 4
  });

  it('the SQL CASE gives the same segment as segmentOf for all 125 cells', async () => {
    const store = await Store.open(':memory:');
    try {
      const rows = await store.all<{ r: number; f: number; m: number; seg: string }>(
        `SELECT r, f, m, ${segmentSql('r', 'f', 'm')} AS seg FROM range(1, 6) a(r), range(1, 6) b(f), range(1, 6) c(m)`,
      );
      expect(rows).toHaveLength(125);
      for (const row of rows) expect(row.seg).toBe(segmentOf(row.r, row.f, row.m));
    } finally {
      store.close();
    }
  });
});
