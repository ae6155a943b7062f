import type { Matrix } from './embedding-matrix';

// Math's functions as module constants: inside a vm context (jest's) each `Math.` in a hot loop is a
// slow global lookup, 4–20× slower here; outside it this costs nothing.
const { exp, log1p, max, abs, sqrt } = Math;

export interface LogisticRegressionOptions {
  /** L2 strength α of the objective below (sklearn `SGDClassifier`'s `alpha` default). @defaultValue 1e-4 */
  l2?: number;
  /** Bound on L-BFGS iterations, which bounds the cost. @defaultValue 100 */
  maxIterations?: number;
  /** Stop when the largest gradient component is below this (scipy L-BFGS-B's `pgtol`). @defaultValue 1e-5 */
  gradientTolerance?: number;
  /** Stop when an iteration lowers the objective by less than this, relatively (scipy's `ftol`). @defaultValue 2.2e-9 */
  objectiveTolerance?: number;
}

export interface LogisticRegressionModel {
  /** One weight per column. */
  weights: Float64Array;
  intercept: number;
  /** The objective at the solution. */
  objective: number;
  iterations: number;
  /** False when `maxIterations` ran out before a tolerance was met. */
  converged: boolean;
}

/** log(1 + eᵗ) without overflow. */
function softplus(t: number): number {
  return t > 0 ? t + log1p(exp(-t)) : log1p(exp(t));
}

function dot(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

/**
 * Objective and gradient of L2-regularised logistic regression, parameters θ = [w…, b]:
 * (1/n) Σ log(1 + exp(−y′ᵢ (w·xᵢ + b))) + (α/2)‖w‖², y′ = ±1 and the intercept unpenalised, which
 * is the objective sklearn's `SGDClassifier(loss="log_loss", penalty="l2", alpha=α)` minimises.
 */
function evaluate(
  x: Matrix,
  labels: Uint8Array,
  l2: number,
  theta: Float64Array,
  gradient: Float64Array,
): number {
  const d = x.cols;
  const n = x.rows;
  gradient.fill(0);
  let loss = 0;
  let interceptGradient = 0;
  for (let i = 0; i < n; i++) {
    const offset = i * d;
    let z = theta[d]!;
    for (let j = 0; j < d; j++) z += theta[j]! * x.data[offset + j]!;
    const positive = labels[i] === 1;
    loss += softplus(positive ? -z : z);
    const p = 1 / (1 + exp(-z));
    const residual = (p - (positive ? 1 : 0)) / n;
    interceptGradient += residual;
    for (let j = 0; j < d; j++) gradient[j]! += residual * x.data[offset + j]!;
  }
  let penalty = 0;
  for (let j = 0; j < d; j++) {
    penalty += theta[j]! * theta[j]!;
    gradient[j]! += l2 * theta[j]!;
  }
  gradient[d] = interceptGradient;
  return loss / n + 0.5 * l2 * penalty;
}

/**
 * Fits the objective of `evaluate` by L-BFGS (10 correction pairs, backtracking Armijo line search,
 * first step of unit length), from θ = 0. Full-batch and seed-free, so the fit depends only on the
 * rows and their order. `labels[i]` is 1 or 0 for row i.
 */
export function fitLogisticRegression(
  x: Matrix,
  labels: Uint8Array,
  options: LogisticRegressionOptions = {},
): LogisticRegressionModel {
  const l2 = options.l2 ?? 1e-4;
  const maxIterations = options.maxIterations ?? 100;
  const gradientTolerance = options.gradientTolerance ?? 1e-5;
  const objectiveTolerance = options.objectiveTolerance ?? 2.2e-9;
  const size = x.cols + 1;
  const memory = 10;
  const history: { s: Float64Array; y: Float64Array; rho: number }[] = [];
  let theta = new Float64Array(size);
  let gradient = new Float64Array(size);
  let objective = evaluate(x, labels, l2, theta, gradient);
  let nextTheta = new Float64Array(size);
  let nextGradient = new Float64Array(size);
  const direction = new Float64Array(size);
  const alphas = new Float64Array(memory);
  let iterations = 0;
  let converged = false;
  while (iterations < maxIterations) {
    let largest = 0;
    for (let k = 0; k < size; k++) largest = max(largest, abs(gradient[k]!));
    if (largest <= gradientTolerance) {
      converged = true;
      break;
    }
    iterations++;
    // Two-loop recursion: direction = −H·g with H the L-BFGS inverse-Hessian estimate.
    for (let k = 0; k < size; k++) direction[k] = -gradient[k]!;
    for (let h = history.length - 1; h >= 0; h--) {
      const { s, y, rho } = history[h]!;
      const a = rho * dot(s, direction);
      alphas[h] = a;
      for (let k = 0; k < size; k++) direction[k]! -= a * y[k]!;
    }
    const last = history[history.length - 1];
    const scale = last ? dot(last.s, last.y) / dot(last.y, last.y) : 1 / sqrt(dot(gradient, gradient));
    for (let k = 0; k < size; k++) direction[k]! *= scale;
    for (let h = 0; h < history.length; h++) {
      const { s, y, rho } = history[h]!;
      const b = rho * dot(y, direction);
      for (let k = 0; k < size; k++) direction[k]! += (alphas[h]! - b) * s[k]!;
    }
    let slope = dot(gradient, direction);
    if (!(slope < 0)) {
      // Not a descent direction (lost curvature information): restart from steepest descent.
      history.length = 0;
      const norm = sqrt(dot(gradient, gradient));
      for (let k = 0; k < size; k++) direction[k] = -gradient[k]! / norm;
      slope = dot(gradient, direction);
    }
    let step = 1;
    let nextObjective = Infinity;
    for (let halvings = 0; halvings < 40; halvings++) {
      for (let k = 0; k < size; k++) nextTheta[k] = theta[k]! + step * direction[k]!;
      nextObjective = evaluate(x, labels, l2, nextTheta, nextGradient);
      if (nextObjective <= objective + 1e-4 * step * slope) break;
      step /= 2;
    }
    if (!(nextObjective < objective)) {
      // No decrease along the direction at any tried step: as close as float64 gets.
      converged = true;
      break;
    }
    const s = new Float64Array(size);
    const y = new Float64Array(size);
    for (let k = 0; k < size; k++) {
      s[k] = nextTheta[k]! - theta[k]!;
      y[k] = nextGradient[k]! - gradient[k]!;
    }
    const curvature = dot(s, y);
    if (curvature > 1e-12 * sqrt(dot(s, s) * dot(y, y))) {
      history.push({ s, y, rho: 1 / curvature });
      if (history.length > memory) history.shift();
    }
    const decrease = objective - nextObjective;
    [theta, nextTheta] = [nextTheta, theta];
    [gradient, nextGradient] = [nextGradient, gradient];
    const previous = objective;
    objective = nextObjective;
    if (decrease <= objectiveTolerance * max(abs(previous), abs(objective), 1)) {
      converged = true;
      break;
    }
  }
  return { weights: theta.slice(0, x.cols), intercept: theta[x.cols]!, objective, iterations, converged };
}

/** Decision values w·x + b of every row (monotone in the predicted probability, so the same AUC). */
export function decisionValues(model: LogisticRegressionModel, x: Matrix): Float64Array {
  const out = new Float64Array(x.rows);
  for (let i = 0; i < x.rows; i++) {
    const offset = i * x.cols;
    let z = model.intercept;
    for (let j = 0; j < x.cols; j++) z += model.weights[j]! * x.data[offset + j]!;
    out[i] = z;
  }
  return out;
}
