// Maximum-likelihood fitting shared by all models: log-parameter space, L2 penalty, L-BFGS, Newton polish, standard errors.
import { KairosError } from '../errors.js';
import { numericalHessian, solveSpd, standardErrorsFromHessian } from '../math/hessian.js';
import { minimizeLbfgs } from '../math/lbfgs.js';
import type { FitDiagnostics, FitOptions, FitResult, ModelName, ModelParams } from './types.js';

/** Defaults of the fit hyper-parameters, in one place. */
export const FIT_DEFAULTS = Object.freeze({ penalty: 0, maxIterations: 500, tolerance: 1e-8 });

/** Data larger than twice this many rows is first fitted on a subsample of about this size (a warm start). */
export const WARM_START_ROWS = 20_000;

/** |ln θ| beyond this means a parameter ran off to 0 or ∞ (e^30 ≈ 1e13): the model is not identified on the data. */
const LOG_PARAM_LIMIT = 30;
/** Outside this range the objective reports +∞, which the line search treats as "step too long". */
const LOG_PARAM_WALL = 45;

/** What a model supplies to be fitted. */
export interface LikelihoodSpec {
  readonly model: ModelName;
  readonly paramNames: readonly string[];
  /** Σ_i w_i ln L_i at natural parameters; writes ∂/∂param (natural scale) into grad. May be non-finite. */
  readonly logLik: (params: Float64Array, grad: Float64Array) => number;
  readonly totalWeight: number;
  /** Data-driven starting values (natural scale), overridden by options.initial. */
  readonly initial: Float64Array;
  /**
   * Optional subsample of the data (same model): for large data the optimum of its mean log-likelihood is found
   * first and used as a warm start, with its Hessian, for Newton steps on the full data (fewer full passes).
   */
  readonly warmStart?: { readonly logLik: LikelihoodSpec['logLik']; readonly totalWeight: number };
  /**
   * Optional analytic Hessian (ℓ and its gradient too, in one pass): Newton steps with it replace the central-difference
   * Hessian (2·k gradient passes) for the polish and the standard errors, and the chord steps of the warm start.
   */
  readonly logLikHessian?: LogLikHessian;
}

function resolveOptions(model: string, paramNames: readonly string[], options: FitOptions): {
  penalty: number;
  maxIterations: number;
  tolerance: number;
  initial: Partial<Record<string, number>>;
} {
  const penalty = options.penalty ?? FIT_DEFAULTS.penalty;
  const maxIterations = options.maxIterations ?? FIT_DEFAULTS.maxIterations;
  const tolerance = options.tolerance ?? FIT_DEFAULTS.tolerance;
  if (!(penalty >= 0) || !Number.isFinite(penalty)) {
    throw new KairosError('VALIDATION', `${model}: penalty must be a finite number >= 0 (got ${penalty})`);
  }
  if (!Number.isInteger(maxIterations) || maxIterations < 1) {
    throw new KairosError('VALIDATION', `${model}: maxIterations must be a positive integer (got ${maxIterations})`);
  }
  if (!(tolerance > 0) || !Number.isFinite(tolerance)) {
    throw new KairosError('VALIDATION', `${model}: tolerance must be a finite number > 0 (got ${tolerance})`);
  }
  const initial = (options.initial ?? {}) as Partial<Record<string, number>>;
  for (const [name, v] of Object.entries(initial)) {
    if (v === undefined) continue;
    if (!paramNames.includes(name)) {
      throw new KairosError('VALIDATION', `${model}: unknown initial parameter "${name}" (expected ${paramNames.join(', ')})`);
    }
    if (!(v > 0) || !Number.isFinite(v)) {
      throw new KairosError('VALIDATION', `${model}: initial ${name} must be a finite number > 0 (got ${v})`);
    }
  }
  return { penalty, maxIterations, tolerance, initial };
}

function infNorm(v: Float64Array): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i] as number));
  return m;
}

/** F(θ) = −ℓ(e^θ)/W + penalty·Σθ² and its gradient; +∞ outside |θ| ≤ LOG_PARAM_WALL or where ℓ is not finite. */
function makeObjective(
  logLik: LikelihoodSpec['logLik'],
  W: number,
  k: number,
  penalty: number,
): (theta: Float64Array, grad: Float64Array) => number {
  const natural = new Float64Array(k);
  const gNat = new Float64Array(k);
  return (theta, grad) => {
    for (let i = 0; i < k; i++) {
      const t = theta[i] as number;
      if (!(Math.abs(t) <= LOG_PARAM_WALL)) {
        grad.fill(NaN);
        return Infinity;
      }
      natural[i] = Math.exp(t);
    }
    const ll = logLik(natural, gNat);
    if (!Number.isFinite(ll)) {
      grad.fill(NaN);
      return Infinity;
    }
    let f = -ll / W;
    for (let i = 0; i < k; i++) {
      const t = theta[i] as number;
      f += penalty * t * t;
      grad[i] = (-(gNat[i] as number) * (natural[i] as number)) / W + 2 * penalty * t;
    }
    for (let i = 0; i < k; i++) {
      if (!Number.isFinite(grad[i] as number)) return Infinity;
    }
    return f;
  };
}

/** ℓ, ∇ℓ and ∇²ℓ at natural parameters: writes ∂/∂param into grad and ∂²/∂param_i∂param_j (row-major) into hess. */
export type LogLikHessian = (params: Float64Array, grad: Float64Array, hess: Float64Array) => number;

/** A point of the objective with its analytic Hessian: θ, F(θ), ∇F, ∇²F (row-major) and the log-likelihood ℓ there. */
interface SecondOrderPoint {
  readonly theta: Float64Array;
  readonly f: number;
  readonly grad: Float64Array;
  readonly hess: Float64Array;
  readonly logLik: number;
}

/**
 * F(θ) = −ℓ(e^θ)/W + penalty·Σθ² with its gradient and Hessian in log-parameter space, from ℓ's natural-scale ones:
 * ∂F/∂θ_i = −g_i p_i/W + 2·penalty·θ_i, ∂²F/∂θ_i∂θ_j = −(H_ij p_i p_j + δ_ij g_i p_i)/W + 2·penalty·δ_ij (p = e^θ).
 * f is +∞ outside |θ| ≤ LOG_PARAM_WALL or where ℓ, ∇ℓ or ∇²ℓ is not finite.
 */
function makeSecondOrder(logLikHessian: LogLikHessian, W: number, k: number, penalty: number): (theta: Float64Array) => SecondOrderPoint {
  const natural = new Float64Array(k);
  const gNat = new Float64Array(k);
  const hNat = new Float64Array(k * k);
  return (theta) => {
    const grad = new Float64Array(k).fill(NaN);
    const hess = new Float64Array(k * k).fill(NaN);
    const invalid = { theta: Float64Array.from(theta), f: Infinity, grad, hess, logLik: NaN };
    for (let i = 0; i < k; i++) {
      const t = theta[i] as number;
      if (!(Math.abs(t) <= LOG_PARAM_WALL)) return invalid;
      natural[i] = Math.exp(t);
    }
    const ll = logLikHessian(natural, gNat, hNat);
    if (!Number.isFinite(ll)) return invalid;
    let f = -ll / W;
    for (let i = 0; i < k; i++) {
      const t = theta[i] as number;
      const pi = natural[i] as number;
      f += penalty * t * t;
      grad[i] = (-(gNat[i] as number) * pi) / W + 2 * penalty * t;
      for (let j = 0; j < k; j++) {
        hess[i * k + j] = (-(hNat[i * k + j] as number) * pi * (natural[j] as number)) / W;
      }
      hess[i * k + i] = (hess[i * k + i] as number) + (-(gNat[i] as number) * pi) / W + 2 * penalty;
    }
    for (let i = 0; i < k * k; i++) {
      if (!Number.isFinite(hess[i] as number) || (i < k && !Number.isFinite(grad[i] as number))) return invalid;
    }
    return { theta: Float64Array.from(theta), f, grad, hess, logLik: ll };
  };
}

/**
 * Newton's method with the analytic Hessian: θ ← θ − (∇²F)⁻¹∇F while ∇²F is positive definite, the step moves no
 * parameter by more than an e-fold, F does not rise above rounding noise and ‖∇F‖_∞ falls; stops once ‖∇F‖_∞ ≤
 * target or after maxSteps. Quadratic convergence: from a subsample's optimum a few full-data passes suffice.
 */
function newtonSteps(
  evaluate: (theta: Float64Array) => SecondOrderPoint,
  start: SecondOrderPoint,
  target: number,
  fNoise: number,
  maxSteps: number,
): { point: SecondOrderPoint; steps: number; evaluations: number } {
  const k = start.theta.length;
  let point = start;
  let norm = infNorm(start.grad);
  let steps = 0;
  let evaluations = 0;
  while (steps < maxSteps && norm > target) {
    const delta = solveSpd(point.hess, point.grad);
    if (delta === null || !(infNorm(delta) <= 1)) break;
    const trial = new Float64Array(k);
    for (let i = 0; i < k; i++) trial[i] = (point.theta[i] as number) - (delta[i] as number);
    const next = evaluate(trial);
    evaluations++;
    const nextNorm = infNorm(next.grad);
    if (!Number.isFinite(next.f) || next.f > point.f + fNoise || !(nextNorm < norm)) break;
    point = next;
    norm = nextNorm;
    steps++;
  }
  return { point, steps, evaluations };
}

/**
 * Chord-Newton steps with a fixed Hessian `hess` (of F in log-parameter space) from `start`, while a step moves no
 * parameter by more than an e-fold, F does not rise above rounding noise and ‖∇F‖_∞ falls; stops once ‖∇F‖_∞ ≤
 * target or after maxSteps. `rejected`: a last trial was evaluated and refused.
 */
function chordSteps(
  objective: (theta: Float64Array, grad: Float64Array) => number,
  hess: Float64Array,
  start: { theta: Float64Array; f: number; grad: Float64Array; gradNorm: number },
  target: number,
  fNoise: number,
  maxSteps: number,
): { theta: Float64Array; f: number; grad: Float64Array; gradNorm: number; steps: number; rejected: boolean } {
  const k = start.theta.length;
  let { theta, f, grad, gradNorm } = start;
  let steps = 0;
  let rejected = false;
  while (steps < maxSteps && gradNorm > target) {
    const delta = solveSpd(hess, grad);
    if (delta === null || infNorm(delta) > 1) break;
    const trial = new Float64Array(k);
    for (let i = 0; i < k; i++) trial[i] = (theta[i] as number) - (delta[i] as number);
    const gTrial = new Float64Array(k);
    const fTrial = objective(trial, gTrial);
    const nTrial = infNorm(gTrial);
    if (!Number.isFinite(fTrial) || fTrial > f + fNoise || !(nTrial < gradNorm)) {
      rejected = true;
      break;
    }
    theta = trial;
    f = fTrial;
    grad = gTrial;
    gradNorm = nTrial;
    steps++;
  }
  return { theta, f, grad, gradNorm, steps, rejected };
}

/**
 * Maximises Σ w ln L over θ = ln(params) by minimising F(θ) = −ℓ(e^θ)/W + penalty·Σθ² (W = Σ w, so the
 * tolerance does not depend on the number of customers) with L-BFGS and the analytic gradient, then takes up to
 * three Newton steps to land on the optimum to rounding precision. The Newton Hessian is the model's analytic one
 * (spec.logLikHessian) when it has one, else central differences of the gradient. With a warmStart subsample (large
 * data) the subsample is fitted first; from its optimum, Newton steps on the full data (with the analytic Hessian, or
 * chord steps with the subsample's numerical one) replace most full-data L-BFGS iterations; L-BFGS on the full data
 * still runs if they do not reach the tolerance.
 * Standard errors: SE(θ_k) = sqrt([(W·H)^{-1}]_kk) on the log scale, e^{θ_k}·SE(θ_k) on the natural scale (delta
 * method), with H the Hessian of the objective actually minimised (penalty included).
 * Throws KairosError('CONVERGENCE') carrying the diagnostics when the optimum is not reached or not identified.
 */
export function fitByMaximumLikelihood<P extends ModelParams>(spec: LikelihoodSpec, options: FitOptions<P> = {}): FitResult<P> {
  const { model, paramNames, totalWeight: W } = spec;
  const k = paramNames.length;
  const opt = resolveOptions(model, paramNames, options as FitOptions);
  const theta0 = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    const name = paramNames[i] as string;
    theta0[i] = Math.log(opt.initial[name] ?? (spec.initial[i] as number));
  }

  const objective = makeObjective(spec.logLik, W, k, opt.penalty);
  const gradientOnly = (theta: Float64Array, out: Float64Array): void => {
    objective(theta, out);
  };
  const second = spec.logLikHessian === undefined ? null : makeSecondOrder(spec.logLikHessian, W, k, opt.penalty);

  let theta: Float64Array = theta0;
  let f = NaN;
  let grad: Float64Array = new Float64Array(k);
  let gradNorm = Infinity;
  let iterations = 0;
  let evaluations = 0;
  let message = 'gradient norm below tolerance';
  let done = false;
  let fNoise = 0;
  /** The last point evaluated with the analytic Hessian, while it is the current θ. */
  let current: SecondOrderPoint | null = null;

  // Stage 1 (large data): optimum of the subsample (the mean objective's optimum and curvature barely depend on n).
  let warmOptimum: { x: Float64Array; iterations: number } | null = null;
  let warmObjective: ReturnType<typeof makeObjective> | null = null;
  if (spec.warmStart !== undefined) {
    warmObjective = makeObjective(spec.warmStart.logLik, spec.warmStart.totalWeight, k, opt.penalty);
    const wf0 = warmObjective(theta0, new Float64Array(k));
    if (Number.isFinite(wf0)) {
      const wr = minimizeLbfgs(warmObjective, theta0, {
        gradientTolerance: 1e-6,
        maxIterations: opt.maxIterations,
        fNoise: 1e-13 * Math.max(1, Math.abs(wf0)),
      });
      warmOptimum = { x: wr.x, iterations: wr.iterations };
    }
  }

  // Stage 2 with the analytic Hessian: Newton steps on the full data from the subsample's optimum.
  if (second !== null && warmOptimum !== null) {
    const start = second(warmOptimum.x);
    evaluations++;
    if (Number.isFinite(start.f)) {
      fNoise = 1e-13 * Math.max(1, Math.abs(start.f));
      const run = newtonSteps(second, start, 1e-3 * opt.tolerance, fNoise, 10);
      current = run.point;
      evaluations += run.evaluations;
      iterations += warmOptimum.iterations + run.steps;
      theta = current.theta;
      f = current.f;
      grad = current.grad;
      gradNorm = infNorm(grad);
      done = gradNorm <= opt.tolerance;
      if (done) message = 'gradient norm below tolerance (subsample warm start, Newton steps)';
    }
  }

  if (current === null) {
    const g0 = new Float64Array(k);
    const f0 = objective(theta0, g0);
    evaluations++;
    if (!Number.isFinite(f0)) {
      throw new KairosError('CONVERGENCE', `${model}: the log-likelihood is not finite at the starting values`, {
        details: { initial: Object.fromEntries(paramNames.map((n, i) => [n, Math.exp(theta0[i] as number)])) },
        hint: 'pass other initial values (options.initial) or check the data',
      });
    }
    // Rounding noise of a mean of many log-likelihood terms: a few hundred ulps of |F|.
    fNoise = 1e-13 * Math.max(1, Math.abs(f0));
    theta = theta0;
    f = f0;
    grad = g0;
    gradNorm = infNorm(g0);
    done = gradNorm <= opt.tolerance;

    if (!done && second === null && warmOptimum !== null && warmObjective !== null) {
      // Stage 2 without an analytic Hessian: chord-Newton steps on the full data with the subsample's numerical
      // Hessian, while they keep decreasing F.
      const warm = warmObjective;
      const hw = numericalHessian((t, out) => void warm(t, out), warmOptimum.x);
      const gStart = new Float64Array(k);
      const fStart = objective(warmOptimum.x, gStart);
      evaluations++;
      if (Number.isFinite(fStart) && fStart <= f + fNoise) {
        theta = warmOptimum.x;
        f = fStart;
        grad = gStart;
        gradNorm = infNorm(gStart);
        iterations += warmOptimum.iterations;
        const run = chordSteps(objective, hw, { theta, f, grad, gradNorm }, opt.tolerance, fNoise, 10);
        ({ theta, f, grad, gradNorm } = run);
        iterations += run.steps;
        evaluations += run.steps + (run.rejected ? 1 : 0);
        done = gradNorm <= opt.tolerance;
        if (done) message = 'gradient norm below tolerance (subsample warm start, Newton steps)';
      }
    }
  }
  if (!done) {
    const run = minimizeLbfgs(objective, theta, {
      gradientTolerance: opt.tolerance,
      maxIterations: opt.maxIterations,
      fNoise,
    });
    theta = run.x;
    f = run.f;
    grad = run.gradient;
    gradNorm = run.gradNorm;
    message = run.message;
    iterations += run.iterations;
    evaluations += run.evaluations;
    current = null;
  }

  let hessian: Float64Array;
  let logLik: number;
  if (second !== null) {
    // Newton polish with the analytic Hessian; the Hessian at the final point gives the standard errors.
    if (current === null) {
      current = second(theta);
      evaluations++;
    }
    if (Number.isFinite(current.f)) {
      const run = newtonSteps(second, current, 1e-3 * opt.tolerance, fNoise, 3);
      evaluations += run.evaluations;
      const nFinal = infNorm(run.point.grad);
      if (gradNorm > opt.tolerance && nFinal <= opt.tolerance) message = 'gradient norm below tolerance after Newton refinement';
      current = run.point;
      theta = current.theta;
      grad = current.grad;
      gradNorm = nFinal;
    }
    hessian = current.hess;
    logLik = current.logLik;
  } else {
    const optimum = theta;
    hessian = numericalHessian(gradientOnly, theta);
    evaluations += 2 * k;
    // Newton polish (chord method: the Hessian is kept): each accepted step roughly squares the gradient norm.
    const before = gradNorm;
    const run = chordSteps(objective, hessian, { theta, f, grad, gradNorm }, 1e-3 * opt.tolerance, fNoise, 3);
    ({ theta, f, grad, gradNorm } = run);
    evaluations += run.steps + (run.rejected ? 1 : 0);
    if (before > opt.tolerance && gradNorm <= opt.tolerance) message = 'gradient norm below tolerance after Newton refinement';
    let moved = 0;
    for (let i = 0; i < k; i++) moved = Math.max(moved, Math.abs((theta[i] as number) - (optimum[i] as number)));
    if (moved > 1e-4) {
      // The polish moved noticeably: take the Hessian for the standard errors at the final point.
      hessian = numericalHessian(gradientOnly, theta);
      evaluations += 2 * k;
    }
    logLik = spec.logLik(Float64Array.from(theta, Math.exp), new Float64Array(k));
    evaluations++;
  }

  const params: Record<string, number> = {};
  for (let i = 0; i < k; i++) params[paramNames[i] as string] = Math.exp(theta[i] as number);
  const scaled = hessian.map((v) => v * W);
  const seLog = standardErrorsFromHessian(scaled, k);
  const standardErrors: Record<string, number> = {};
  for (let i = 0; i < k; i++) {
    const name = paramNames[i] as string;
    standardErrors[name] = seLog === null ? 0 : (params[name] as number) * (seLog[i] as number);
  }

  let converged = gradNorm <= opt.tolerance;
  const problems: string[] = [];
  if (!converged) problems.push(`gradient norm ${gradNorm.toExponential(2)} above tolerance ${opt.tolerance} (${message})`);
  if (seLog === null) {
    converged = false;
    problems.push('the Hessian is not positive definite at the estimate, so a parameter is not identified');
  }
  for (let i = 0; i < k; i++) {
    if (Math.abs(theta[i] as number) > LOG_PARAM_LIMIT) {
      converged = false;
      problems.push(`${paramNames[i]} ran off to ${Math.exp(theta[i] as number).toExponential(2)}`);
    }
  }
  if (!Number.isFinite(logLik)) {
    converged = false;
    problems.push('the log-likelihood is not finite at the estimate');
  }
  const diagnostics: FitDiagnostics = {
    logLik,
    converged,
    iterations,
    gradNorm,
    standardErrors,
    message: converged ? `${message}; ${evaluations} evaluations` : problems.join('; '),
    nObs: W,
    penalty: opt.penalty,
  };
  if (!converged) {
    const estimate = paramNames.map((n) => `${n} ${(params[n] as number).toPrecision(4)}`).join(', ');
    throw new KairosError('CONVERGENCE', `${model}: fit did not converge at ${estimate}: ${diagnostics.message}`, {
      details: { diagnostics, params },
      hint:
        (opt.penalty === 0
          ? 'try a small penalty (options.penalty = 1e-4 to 1e-3), more iterations, other initial values, or more data'
          : 'try a larger penalty, more iterations, other initial values, or more data') +
        '; two parameters growing together (e.g. r and alpha, or a and b) mean the data cannot identify that heterogeneity',
    });
  }
  return {
    params: Object.freeze(params) as unknown as P,
    diagnostics: Object.freeze({ ...diagnostics, standardErrors: Object.freeze(standardErrors) }) as unknown as FitDiagnostics<P>,
  };
}
