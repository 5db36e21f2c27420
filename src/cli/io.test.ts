// The CLI's output helpers: tables for people (probabilities as percentages, many rows), writers that survive a closed pipe.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { pipeWriter, renderTable } from './io.js';

describe('renderTable', () => {
  it('renders 200,000 rows (column widths without spreading every row as arguments)', () => {
    const rows = Array.from({ length: 200_000 }, (_, i) => ({ n: i }));
    expect(renderTable(['n'], rows).split('\n')).toHaveLength(200_002);
  });
});

describe('pipeWriter', () => {
  it('drops the output quietly once the reader has gone (EPIPE), without an unhandled error', async () => {
    let writes = 0;
    const closed = new Writable({
      write(_chunk, _encoding, done) {
        writes++;
        done(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    const write = pipeWriter(closed as unknown as NodeJS.WriteStream);
    write('first');
    await new Promise((resolve) => setImmediate(resolve));
    write('second');
    write('third');
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toBe(1);
  });
});
