/** The inference queue is full: the caller should retry later (HTTP 429 with Retry-After). */
export class InferenceOverloadedError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super('The inference queue is full; retry shortly');
    this.name = 'InferenceOverloadedError';
  }
}

/** A request's deadline passed before its batch ran; it was dropped, not computed. */
export class InferenceDeadlineError extends Error {
  constructor() {
    super('The request waited longer than its deadline for inference');
    this.name = 'InferenceDeadlineError';
  }
}
