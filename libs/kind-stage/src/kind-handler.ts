import type { EffectiveSettings } from '@tributary/contracts';
import type { DerivedSpace, Membership, SpaceVersion } from '@tributary/db';
import type { VectorWriter } from '@tributary/vector-store';

/** A stream as the stage sees it: its kind and its settings with defaults filled in. */
export interface StageStream {
  id: string;
  kind: string;
  settings: EffectiveSettings;
}

/** Where a stage call writes: the version whose item vectors changed, and how. */
export interface StageTarget {
  tenantId: string;
  version: SpaceVersion;
  writer: VectorWriter;
  /** A backfill's writes: nobody waits to search them (the index log applies live ones first). */
  background?: boolean;
}

/**
 * What one stream kind does once items' vectors by a version changed: derive its own state from
 * the stored vectors (never re-embedding) and index it. `changed` are the items written (their
 * vectors and points are in place) or deleted (gone from every version). `text` does nothing. A
 * handler is idempotent: a retried job calls it again with the same items, and the result is what
 * the stored vectors say.
 */
export interface KindHandler {
  readonly kind: string;
  /** Whether it derives any state (a delete of an item then asks it too). */
  readonly derives: boolean;
  /** The search space its derived vectors are indexed in, if any. */
  readonly space?: DerivedSpace;
  afterChange(target: StageTarget, stream: StageStream, changed: Membership[]): Promise<void>;
}
