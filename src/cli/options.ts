// Parsers of option values for commander: one place that says what a numeric option expects (a usage error, exit 2).
import { InvalidArgumentError } from 'commander';

/**
 * A parser of whole numbers from `min` (default 1) to `max`, digits only: "abc", "-1", "2.5", "1e3" and "" are
 * refused with what is expected, which commander reports as a usage error naming the option.
 */
export function wholeNumber(min = 1, max = Number.MAX_SAFE_INTEGER): (text: string) => number {
  // The message is made when needed: toLocaleString's first call loads the locale data (~35 ms at every start-up).
  const expected = (): string =>
    max === Number.MAX_SAFE_INTEGER
      ? `Expected a whole number of ${min} or more.`
      : `Expected a whole number from ${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')}.`;
  return (text) => {
    const n = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(expected());
    return n;
  };
}

/** 1, 2, 3, ...: counts, limits and ids. */
export const positiveInteger = wholeNumber(1);
