// Tests of model-name resolution and of the versioned JSON persistence of fits.
import { describe, expect, it } from 'vitest';
import { KairosError } from '../errors.js';
import { bgNbd } from './bg-nbd/index.js';
import * as gammaGamma from './gamma-gamma/index.js';
import { TRANSACTION_MODEL_NAMES, getTransactionModel } from './registry.js';
import { loadLifetimesCdnow } from '../testing/reference-data.js';
import { FIT_FORMAT_VERSION, parseFit, serializeFit, storedFitResult } from './serialize.js';

describe('registry', () => {
  it('resolves every registered name and nothing else, with a usage error listing the names', () => {
    for (const name of TRANSACTION_MODEL_NAMES) expect(getTransactionModel(name).name).toBe(name);
    try {
      getTransactionModel('bgnbd');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(KairosError);
      expect((err as KairosError).code).toBe('USAGE');
      expect((err as KairosError).message).toBe('invalid model "bgnbd" (expected one of bg-nbd, pareto-nbd, mbg-nbd)');
    }
  });
});

describe('serializeFit / parseFit', () => {
  const ref = loadLifetimesCdnow();
  const fit = bgNbd.fit(ref.summary);
  const fittedAt = new Date('2025-01-02T03:04:05.000Z');

  it('writes { model, version, params, fittedAt, dataHash, diagnostics } and reads it back unchanged', () => {
    const json = serializeFit('bg-nbd', fit, { dataHash: 'sha256:abc', fittedAt });
    const raw = JSON.parse(json) as Record<string, unknown>;
    expect(Object.keys(raw)).toEqual(['model', 'version', 'params', 'fittedAt', 'dataHash', 'diagnostics']);
    expect(raw.version).toBe(FIT_FORMAT_VERSION);
    const back = parseFit(json);
    if (back.model !== 'bg-nbd') throw new Error(`expected bg-nbd, got ${back.model}`);
    expect(back.fittedAt).toBe('2025-01-02T03:04:05.000Z');
    expect(storedFitResult(back)).toEqual({ params: { ...fit.params }, diagnostics: { ...fit.diagnostics } });
    // Predictions from the restored parameters are identical.
    expect(Array.from(bgNbd.pAlive(back.params, ref.summary))).toEqual(Array.from(bgNbd.pAlive(fit.params, ref.summary)));
  });

  it('round-trips a Gamma-Gamma fit', () => {
    const gg = gammaGamma.fit(ref.spend);
    const back = parseFit(serializeFit('gamma-gamma', gg, { dataHash: 'h' }));
    expect(back.model).toBe('gamma-gamma');
    expect(back.params).toEqual({ ...gg.params });
  });

  it.each([
    ['not json', /not JSON/],
    [JSON.stringify({ model: 'bgnbd' }), /model must be one of/],
    [JSON.stringify({ model: 'bg-nbd', version: 2 }), /unsupported version 2/],
    [JSON.stringify({ model: 'bg-nbd', version: 1, params: { r: 1, alpha: 1, a: 1 } }), /parameter b must be/],
    [JSON.stringify({ model: 'bg-nbd', version: 1, params: { r: 1, alpha: 1, a: 1, b: -2 } }), /parameter b must be/],
    [JSON.stringify({ model: 'bg-nbd', version: 1, params: { r: 1, alpha: 1, a: 1, b: 1, s: 1 } }), /unknown parameter "s"/],
    [JSON.stringify({ model: 'bg-nbd', version: 1, params: { r: 1, alpha: 1, a: 1, b: 1 }, fittedAt: 'yesterday' }), /fittedAt/],
  ])('rejects invalid stored fits with a VALIDATION error (%#)', (json, message) => {
    expect(() => parseFit(json)).toThrow(message);
    try {
      parseFit(json);
    } catch (err) {
      expect((err as KairosError).code).toBe('VALIDATION');
    }
  });

  it('rejects diagnostics without a standard error per parameter', () => {
    const raw = JSON.parse(serializeFit('bg-nbd', fit, { dataHash: 'h' })) as { diagnostics: { standardErrors: Record<string, number> } };
    delete raw.diagnostics.standardErrors.b;
    expect(() => parseFit(raw)).toThrow(/standardErrors.b/);
  });
});
