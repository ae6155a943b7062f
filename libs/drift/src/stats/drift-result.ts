/** The embedding-drift methods, named as in Evidently (`evidently.metrics.data_drift.embedding_drift_methods`). */
export type DriftMethodName = 'model' | 'ratio' | 'distance' | 'mmd';

/** What every method answers: its statistic, the threshold it was compared with, and the verdict. */
export interface DriftMethodResult {
  method: DriftMethodName;
  /** The method's statistic (ROC AUC, share of drifted components, distance, MMD²). */
  value: number;
  /** `value` above this is drift (for a bootstrapped method: the percentile it computed). */
  threshold: number;
  drifted: boolean;
  /** Permutation p-value, for the methods that compute one (`mmd`). */
  pValue?: number;
}
