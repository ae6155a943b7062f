import type { Config } from '@tributary/config';

/**
 * What a request costs in rate-limit tokens, from its parsed (not yet validated) JSON body; a
 * route without one costs 1. Computed by the auth guard so the charge stays one Redis round trip.
 */
export type RequestCost = (body: unknown, config: Config) => number;

export const REQUEST_COST = 'tributary:request-cost';
