// The score registry: every scorer a run computes, in order. Add a scorer here and it is scored, stored, shown and exported.
import { clvScorer } from './clv.js';
import { rfmScorer } from './rfm.js';
import type { Scorer } from './types.js';

export const SCORERS: readonly Scorer[] = [rfmScorer, clvScorer];
