// Public surface of the customer-base models: types, registry, each model as a value, grouping, persistence.
export * from './types.js';
export { TRANSACTION_MODELS, TRANSACTION_MODEL_NAMES, getTransactionModel, isTransactionModelName } from './registry.js';
export type { TransactionModelParams } from './registry.js';
export { groupTransactionSummary, ungroup, validateSpend, validateTransactionSummary } from './transaction-summary.js';
export type { GroupedTransactionSummary } from './transaction-summary.js';
export { FIT_DEFAULTS } from './mle.js';
export { FIT_FORMAT_VERSION, parseFit, serializeFit, storedFitResult } from './serialize.js';
export type { AnyStoredFit, StoredFit } from './serialize.js';
export { bgNbd } from './bg-nbd/index.js';
export { mbgNbd } from './mbg-nbd/index.js';
export { paretoNbd } from './pareto-nbd/index.js';
export * as gammaGamma from './gamma-gamma/index.js';
