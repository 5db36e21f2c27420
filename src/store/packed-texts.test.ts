// Texts packed in parts (src/store/packed-texts.ts): every value comes back as it went, null and '' kept apart.
import { describe, expect, it } from 'vitest';
import { PackedTexts, packTexts } from './packed-texts.js';

describe('PackedTexts', () => {
  const values = ['a', null, '', 'naïve 🙂', 'x'.repeat(40), null, 'z'];

  it('packs values end to end in one string and reads each one back, null and the empty text told apart', () => {
    const part = packTexts(values, 0, values.length);
    expect(part.text).toBe(`anaïve 🙂${'x'.repeat(40)}z`);
    expect([...part.nulls]).toEqual([0, 1, 0, 0, 0, 1, 0]);
    const column = new PackedTexts(values.length, values.length);
    column.add(0, part);
    expect(Array.from({ length: values.length }, (_, i) => column.value(i))).toEqual(values);
  });

  it('puts parts at their rows in any order, says when a part is missing, and refuses one that does not fit', () => {
    const column = new PackedTexts(values.length, 3);
    column.add(6, packTexts(values, 6, 7));
    column.add(0, packTexts(values, 0, 3));
    expect(column.complete()).toBe(false);
    expect(column.value(4)).toBeUndefined();
    column.add(3, packTexts(values, 3, 6));
    expect(column.complete()).toBe(true);
    expect(Array.from({ length: values.length }, (_, i) => column.value(i))).toEqual(values);
    expect(() => column.add(2, packTexts(values, 2, 5))).toThrow(RangeError);
    expect(() => column.add(6, packTexts(values, 3, 6))).toThrow(RangeError);
  });
});
