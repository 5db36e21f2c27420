// CSV for the demo files: RFC 4180 quoting, a buffered synchronous file writer, and a small reader used by the tests.
import { closeSync, openSync, writeSync } from 'node:fs';
import { KairosError } from '../errors.js';

const NEEDS_QUOTES = /[",\r\n]/;

/** A CSV field: quoted (with doubled quotes) when it holds a comma, quote or line break. */
export function csvField(value: string): string {
  return NEEDS_QUOTES.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/**
 * Appends text to a file through a byte buffer of `bufferBytes`, flushed with synchronous writes: memory stays flat
 * however many rows go through, and a synchronous generator needs no back-pressure handling.
 */
export class BufferedFileWriter {
  private fd: number;
  private readonly buffer: Buffer;
  private used = 0;
  private written = 0;
  /** Short texts are joined here first: one `Buffer.write` per ~16k characters is much cheaper than one per row. */
  private pending = '';

  constructor(readonly path: string, bufferBytes = 1 << 20) {
    this.buffer = Buffer.allocUnsafe(bufferBytes);
    try {
      this.fd = openSync(path, 'w');
    } catch (cause) {
      throw new KairosError('NOT_FOUND', `cannot open ${path} for writing`, { cause, hint: 'check that the folder exists and is writable' });
    }
  }

  /** Appends `text` (UTF-8). */
  write(text: string): void {
    this.pending += text;
    if (this.pending.length >= 16_384) this.drain();
  }

  /** Moves the pending text into the byte buffer. */
  private drain(): void {
    const text = this.pending;
    this.pending = '';
    // A UTF-16 code unit takes at most 3 UTF-8 bytes.
    if (this.used + 3 * text.length > this.buffer.length) {
      this.flush();
      if (3 * text.length > this.buffer.length) {
        this.written += writeSync(this.fd, text);
        return;
      }
    }
    this.used += this.buffer.write(text, this.used, 'utf8');
  }

  /** Writes out what is buffered. */
  flush(): void {
    if (this.pending !== '') this.drain();
    let offset = 0;
    while (offset < this.used) offset += writeSync(this.fd, this.buffer, offset, this.used - offset);
    this.written += this.used;
    this.used = 0;
  }

  /** Flushes and closes the file; returns the bytes written. */
  close(): number {
    this.flush();
    closeSync(this.fd);
    this.fd = -1;
    return this.written;
  }
}

/** Parses CSV text (RFC 4180: quoted fields, doubled quotes, CRLF or LF) into rows of fields. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else field += c;
      i++;
      continue;
    }
    if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
    i++;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}
