// The one table of transaction models; model names are resolved here and nowhere else.
import { KairosError } from '../errors.js';
import { bgNbd } from './bg-nbd/index.js';
import { mbgNbd } from './mbg-nbd/index.js';
import { paretoNbd } from './pareto-nbd/index.js';
import type {
  BgNbdParams,
  MbgNbdParams,
  ModelParams,
  ParetoNbdParams,
  TransactionModel,
  TransactionModelName,
} from './types.js';

/** Parameters of each transaction model, by name. */
export interface TransactionModelParams {
  'bg-nbd': BgNbdParams;
  'pareto-nbd': ParetoNbdParams;
  'mbg-nbd': MbgNbdParams;
}

/** Every transaction model, by name (the contract suite iterates over this table). */
export const TRANSACTION_MODELS: { readonly [N in TransactionModelName]: TransactionModel<TransactionModelParams[N]> } =
  Object.freeze({ 'bg-nbd': bgNbd, 'pareto-nbd': paretoNbd, 'mbg-nbd': mbgNbd });

/** Model names in display order. */
export const TRANSACTION_MODEL_NAMES: readonly TransactionModelName[] = Object.freeze(['bg-nbd', 'pareto-nbd', 'mbg-nbd']);

/** True if name is a registered transaction model. */
export function isTransactionModelName(name: string): name is TransactionModelName {
  return (TRANSACTION_MODEL_NAMES as readonly string[]).includes(name);
}

/**
 * The model registered under name, typed by its parameters. Throws KairosError('USAGE'):
 * invalid model "bgnbd" (expected one of bg-nbd, pareto-nbd, mbg-nbd).
 */
export function getTransactionModel<N extends TransactionModelName>(name: N): TransactionModel<TransactionModelParams[N]>;
export function getTransactionModel(name: string): TransactionModel<ModelParams>;
export function getTransactionModel(name: string): TransactionModel<ModelParams> {
  if (!isTransactionModelName(name)) {
    throw new KairosError('USAGE', `invalid model "${name}" (expected one of ${TRANSACTION_MODEL_NAMES.join(', ')})`);
  }
  return TRANSACTION_MODELS[name] as unknown as TransactionModel<ModelParams>;
}
