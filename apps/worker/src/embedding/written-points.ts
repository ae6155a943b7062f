import type { WrittenItem } from '@tributary/db';
import { itemPayload, type VectorPoint } from '@tributary/vector-store';

/** A vector computed for a stored item, and when the API accepted the item where freshness is measured. */
export interface ComputedVector {
  streamId: string;
  itemId: string;
  vector: Float32Array;
  acceptedAt?: number;
}

/**
 * The points of the items a write wrote, from the vectors computed for them: each item's vector
 * and payload, and the accept times of those that carry one (freshness is measured from them).
 * Shared by the item embedder's own and dual writes and the backfill.
 */
export function writtenPoints(
  computed: readonly ComputedVector[],
): (written: WrittenItem[]) => { points: VectorPoint[]; acceptedAt: number[] } {
  const byItem = new Map(computed.map((c) => [`${c.streamId}\u0000${c.itemId}`, c]));
  return (written) => {
    const of = written.map((item) => byItem.get(`${item.streamId}\u0000${item.itemId}`)!);
    return {
      points: written.map((item, i) => ({
        id: item.itemId,
        vector: of[i]!.vector,
        payload: itemPayload(item),
      })),
      acceptedAt: of.flatMap((c) => (c.acceptedAt === undefined ? [] : [c.acceptedAt])),
    };
  };
}
