// VARCHAR values kept as a few long strings and where each value ends in them: how a worker's columns of a million
// texts reach the server's thread (RemoteStore.exposeColumns), and a readColumns answer the worker, without a million
// strings to clone and collect there. Each part is one string of the part's values end to end, which V8 allocates
// outside the young generation once past 128 KB (a large object: 20,000 ids of 8 characters are 160 KB), so the
// scavenges of the server's thread do not copy it; a value is cut out of it only when DuckDB reads its row, and dies
// young. Sent as a million separate strings, they made a second of back-to-back scavenges on the server's thread at
// the end of a run's TreeSHAP step (1M customers, four text columns).

/** `rows` values of a column, end to end in `text`: value i is text[ends[i-1] ?? 0 .. ends[i]), or null where nulls[i]. */
export interface PackedPart {
  readonly rows: number;
  readonly text: string;
  readonly ends: Int32Array;
  readonly nulls: Uint8Array;
}

/** Values start..end of `values` as one part (null and '' both take no characters; nulls tells them apart). */
export function packTexts(values: readonly (string | null)[], start: number, end: number): PackedPart {
  const rows = Math.max(0, end - start);
  const ends = new Int32Array(rows);
  const nulls = new Uint8Array(rows);
  const pieces: string[] = new Array<string>(rows);
  let at = 0;
  for (let i = 0; i < rows; i++) {
    const v = values[start + i];
    if (v === null || v === undefined) {
      nulls[i] = 1;
      pieces[i] = '';
    } else {
      pieces[i] = v;
      at += v.length;
    }
    ends[i] = at;
  }
  return { rows, text: pieces.join(''), ends, nulls };
}

/** A column of `length` texts arriving as parts of `partRows` rows (the last may be shorter), read value by value. */
export class PackedTexts {
  private readonly parts: PackedPart[] = [];

  constructor(
    readonly length: number,
    readonly partRows: number,
  ) {}

  /** Puts the part holding rows offset..offset+part.rows-1 (offset a multiple of partRows). */
  add(offset: number, part: PackedPart): void {
    if (offset % this.partRows !== 0 || offset + part.rows > this.length) throw new RangeError(`part at row ${offset} (${part.rows} rows) does not fit ${this.length} rows in parts of ${this.partRows}`);
    this.parts[offset / this.partRows] = part;
  }

  /** Value i, or null; undefined where its part has not arrived. */
  value(i: number): string | null | undefined {
    const p = this.parts[Math.floor(i / this.partRows)];
    if (p === undefined) return undefined;
    const j = i % this.partRows;
    if (p.nulls[j] === 1) return null;
    return p.text.slice(j === 0 ? 0 : (p.ends[j - 1] as number), p.ends[j]);
  }

  /** Whether every part has arrived. */
  complete(): boolean {
    const count = Math.ceil(this.length / this.partRows);
    for (let k = 0; k < count; k++) if (this.parts[k] === undefined) return false;
    return true;
  }
}
