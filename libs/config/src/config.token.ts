/** Nest injection token for the frozen {@link Config}. */
export const CONFIG = Symbol('tributary.config');
