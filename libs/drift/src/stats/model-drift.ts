import type { DriftMethodResult } from './drift-result';
import {
  DriftInputError,
  type EmbeddingWindow,
  type Matrix,
  percentile,
  toMatrices,
} from './embedding-matrix';
import { decisionValues, fitLogisticRegression, type LogisticRegressionOptions } from './logistic-regression';
import { aucFromRanks, averageRanks } from './roc-auc';
import { SeededRandom } from './seeded-random';

/** Evidently's `EmbeddingsDriftMetric` bootstraps its default `model` method below this many reference rows. */
export const MODEL_BOOTSTRAP_BELOW_ROWS = 1000;

/** Options of the `model` method; the defaults are Evidently's `model()` and `EmbeddingsDriftMetric`. */
export interface ModelDriftOptions extends LogisticRegressionOptions {
  /** Seeds the train/test split and the bootstrap's relabelings. */
  seed: number;
  /** Without bootstrap, the windows drift when the held-out ROC AUC is above this. @defaultValue 0.55 */
  threshold?: number;
  /**
   * Compare the AUC with the `quantileProbability` percentile of AUCs under random relabelings
   * instead of the fixed threshold. @defaultValue true when the reference has fewer than 1,000 rows
   */
  bootstrap?: boolean;
  /** @defaultValue 0.95 */
  quantileProbability?: number;
  /** Relabelings in the bootstrap (Evidently's fixed 100). @defaultValue 100 */
  permutations?: number;
}

export interface ModelDriftResult extends DriftMethodResult {
  method: 'model';
  /** Whether `threshold` is the bootstrap percentile rather than the fixed one. */
  bootstrap: boolean;
  trainRows: number;
  testRows: number;
  /** L-BFGS iterations of the fit and whether it met its tolerance within the bound. */
  iterations: number;
  converged: boolean;
}

/**
 * Evidently's `model` method (its default for embeddings): a domain classifier. Reference rows
 * are labelled 0 and current rows 1 (Evidently labels them the other way round; the AUC is the
 * same), split 50/50 at random, a logistic regression is trained on one half and its ROC AUC is
 * measured on the other. An AUC near 0.5 means the classifier cannot tell the windows apart.
 *
 * What follows Evidently (`embedding_drift_methods.ModelDriftMethod`, `embeddings_drift.py`):
 * the 0.55 threshold; the 50/50 split; log loss with L2 α = 1e-4, no feature scaling, no PCA; the
 * bootstrap when the reference has fewer than 1,000 rows, drifting when the AUC is above the 95th
 * (linear-interpolation) percentile of 100 null AUCs, that percentile reported as the threshold.
 *
 * Where it differs:
 * - The split is stratified (each window halved; train gets ⌊n/2⌋ of each, the test half the rest)
 *   and seeded by `seed`, where Evidently shuffles the pooled rows with `random_state=42`.
 * - The fit is full-batch L-BFGS of the same objective `SGDClassifier(loss="log_loss",
 *   alpha=1e-4)` minimises with stochastic steps: the same model up to SGD's noise, and
 *   reproducible without a learning-rate schedule. The AUC is taken over decision values w·x + b
 *   (monotone in the probability, without float saturation ties).
 * - Bootstrap null: Evidently scores the test labels with uniform random numbers; here the test
 *   labels are randomly relabelled (permuted) against the classifier's own held-out scores. Both
 *   give the null distribution of the held-out AUC when the windows do not differ (the labels of
 *   held-out rows are then exchangeable given the scores); the permutation also keeps the scores'
 *   ties. Retraining the classifier on each of 100 relabelings of all rows has the same null
 *   distribution too, at 100 times the cost (about 13 s for 2 × 500 rows at 512 dimensions, where
 *   the permutations take milliseconds), so it is not done.
 */
export function modelDrift(
  reference: EmbeddingWindow,
  current: EmbeddingWindow,
  options: ModelDriftOptions,
): ModelDriftResult {
  const { reference: ref, current: cur } = toMatrices(reference, current, 2);
  return modelDriftOf(ref, cur, options);
}

export function modelDriftOf(ref: Matrix, cur: Matrix, options: ModelDriftOptions): ModelDriftResult {
  if (ref.rows < 2 || cur.rows < 2) throw new DriftInputError('the model method needs 2 rows in each window');
  const bootstrap = options.bootstrap ?? ref.rows < MODEL_BOOTSTRAP_BELOW_ROWS;
  const random = new SeededRandom(options.seed, 0);
  const { train, trainLabels, test, testLabels } = stratifiedHalves(ref, cur, random);
  const model = fitLogisticRegression(train, trainLabels, options);
  const ranks = averageRanks(decisionValues(model, test));
  const auc = aucFromRanks(ranks, testLabels);
  let threshold = options.threshold ?? 0.55;
  if (bootstrap) {
    const permutations = options.permutations ?? 100;
    const relabelled = testLabels.slice();
    const nullAucs = new Float64Array(permutations);
    for (let p = 0; p < permutations; p++) nullAucs[p] = aucFromRanks(ranks, random.shuffle(relabelled));
    threshold = percentile(nullAucs, 100 * (options.quantileProbability ?? 0.95));
  }
  return {
    method: 'model',
    value: auc,
    threshold,
    drifted: auc > threshold,
    bootstrap,
    trainRows: train.rows,
    testRows: test.rows,
    iterations: model.iterations,
    converged: model.converged,
  };
}

/** Each window shuffled and halved: ⌊n/2⌋ rows to train, the rest to test; labels 0 reference, 1 current. */
function stratifiedHalves(ref: Matrix, cur: Matrix, random: SeededRandom) {
  const cols = ref.cols;
  const refOrder = random.shuffle(Int32Array.from({ length: ref.rows }, (_, i) => i));
  const curOrder = random.shuffle(Int32Array.from({ length: cur.rows }, (_, i) => i));
  const refTrain = Math.floor(ref.rows / 2);
  const curTrain = Math.floor(cur.rows / 2);
  const trainRows = refTrain + curTrain;
  const testRows = ref.rows + cur.rows - trainRows;
  const train = { rows: trainRows, cols, data: new Float64Array(trainRows * cols) };
  const test = { rows: testRows, cols, data: new Float64Array(testRows * cols) };
  const trainLabels = new Uint8Array(trainRows);
  const testLabels = new Uint8Array(testRows);
  let trainAt = 0;
  let testAt = 0;
  for (const [m, order, inTrain, label] of [
    [ref, refOrder, refTrain, 0],
    [cur, curOrder, curTrain, 1],
  ] as const)
    for (let k = 0; k < order.length; k++) {
      const row = m.data.subarray(order[k]! * cols, (order[k]! + 1) * cols);
      if (k < inTrain) {
        train.data.set(row, trainAt * cols);
        trainLabels[trainAt++] = label;
      } else {
        test.data.set(row, testAt * cols);
        testLabels[testAt++] = label;
      }
    }
  return { train, trainLabels, test, testLabels };
}
