import type {
  DerivedSpace,
  DerivedWrite,
  GroupMember,
  Membership,
  SpaceRepository,
  SqlClient,
} from '@tributary/db';
import type { Metrics } from '@tributary/observability';
import { itemPayload } from '@tributary/vector-store';
import type { StageTarget } from './kind-handler';

/** What a kind computes for one group from its members' stored vectors. */
export interface GroupDerivation {
  /** The derived vectors to write (upserted by key). */
  writes: DerivedWrite[];
  /** Keys whose derived vectors go (a deleted message's context, an emptied document's vector). */
  remove?: string[];
  /** Each write's point text and metadata (a context vector carries its message's), by key. */
  payloadOf(key: string): { text: string; metadata: unknown };
}

/** How a kind updates one group: what it reads, and what it derives from it. */
export interface GroupUpdate {
  kind: string;
  space: DerivedSpace;
  /** The group's members with vectors by the version that the derivation needs (in order). */
  read(tx: SqlClient, groupId: string, changed: Membership[]): Promise<GroupMember[]>;
  /** The derived vectors of the group now, from what `read` returned (perhaps nothing). */
  derive(groupId: string, members: GroupMember[], changed: Membership[]): GroupDerivation;
}

/**
 * The one way a kind updates the groups (conversations, documents) of one stream in one space
 * after some of their members changed (written, or deleted): per group, in a transaction holding
 * it, read the members' vectors by the version, derive, write the derived vectors to PostgreSQL and
 * publish their points to the space's index (and remove those that went) with the space's points'
 * versions taken in the same transaction. Groups go one at a time, in id order. Items without a
 * group are skipped (a kind's validation makes them rare: items stored before it).
 */
export async function updateGroups(
  deps: { spaces: SpaceRepository; metrics: Metrics },
  update: GroupUpdate,
  target: StageTarget,
  streamId: string,
  changed: Membership[],
): Promise<void> {
  const byGroup = new Map<string, Membership[]>();
  for (const item of changed) {
    if (item.groupId === null) continue;
    let group = byGroup.get(item.groupId);
    if (!group) byGroup.set(item.groupId, (group = []));
    group.push(item);
  }
  if (byGroup.size === 0) return;
  const ref = await deps.spaces.ensure(target.tenantId, target.version, update.space);
  await target.writer.ensureCollection(ref.storeKey, ref.dimensions);
  const context = target.background ? { background: true as const } : {};
  for (const groupId of [...byGroup.keys()].sort()) {
    const started = process.hrtime.bigint();
    const inGroup = byGroup.get(groupId)!;
    const count = await deps.spaces.inGroup(ref, streamId, groupId, async (tx) => {
      const members = await update.read(tx, groupId, inGroup);
      const derived = update.derive(groupId, members, inGroup);
      await deps.spaces.remove(tx, ref, streamId, derived.remove ?? [], (versions, keys) =>
        target.writer.delete(ref.storeKey, keys, { versions, ...context }).then(() => undefined),
      );
      await deps.spaces.write(tx, ref, streamId, derived.writes, (versions) =>
        target.writer.upsert(
          ref.storeKey,
          derived.writes.map((w) => ({
            id: w.key,
            vector: w.vector,
            payload: itemPayload({ streamId, ...derived.payloadOf(w.key), groupId, members: w.members }),
          })),
          { versions, ...context },
        ),
      );
      return derived.writes.length + (derived.remove?.length ?? 0);
    });
    deps.metrics.kindStateUpdates.inc({ kind: update.kind }, count);
    deps.metrics.kindUpdateDuration.observe(
      { kind: update.kind },
      Number(process.hrtime.bigint() - started) / 1e9,
    );
  }
}
