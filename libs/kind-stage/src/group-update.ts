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

/** A derived vector to write, with what its point shows (a context vector: its message's text and metadata). */
export type DerivedPoint = DerivedWrite & { text: string; metadata: unknown };

/** What a kind computes for one group from its members' stored vectors. */
export interface GroupDerivation {
  /** The derived vectors to write (upserted by key). */
  writes: DerivedPoint[];
  /** Keys whose derived vectors go (a deleted message's context, an emptied document's vector). */
  remove?: string[];
}

/** How a kind updates groups: what it reads of them, and what it derives from each. */
export interface GroupUpdate {
  kind: string;
  space: DerivedSpace;
  /** The groups' members with vectors by the version that the derivation needs (each in order). */
  read(tx: SqlClient, changed: Map<string, Membership[]>): Promise<Map<string, GroupMember[]>>;
  /** A group's derived vectors now, from what `read` returned of it (perhaps nothing). */
  derive(groupId: string, members: GroupMember[], changed: Membership[]): GroupDerivation;
}

/**
 * The one way a kind updates the groups (conversations, documents) of one stream in one space
 * after some of their members changed (written, or deleted): in one transaction holding those
 * groups, read their members' vectors by the version (one query), derive each, write the derived
 * vectors to PostgreSQL and publish their points to the space's index (and remove those that went)
 * with the space's points' versions taken in the same transaction: a handful of statements and
 * one index log entry per stage call, however many groups it touches. Items without a group are
 * skipped (a kind's validation makes them rare: items stored before it).
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
  const started = process.hrtime.bigint();
  const ref = await deps.spaces.ensure(target.tenantId, target.version, update.space);
  await target.writer.ensureCollection(ref.storeKey, ref.dimensions);
  const context = target.background ? { background: true as const } : {};
  const count = await deps.spaces.inGroups(ref, streamId, [...byGroup.keys()], async (tx) => {
    const members = await update.read(tx, byGroup);
    const writes: DerivedPoint[] = [];
    const remove: string[] = [];
    for (const [groupId, inGroup] of byGroup) {
      const derived = update.derive(groupId, members.get(groupId) ?? [], inGroup);
      writes.push(...derived.writes);
      remove.push(...(derived.remove ?? []));
    }
    await deps.spaces.remove(tx, ref, streamId, remove, (versions, keys) =>
      target.writer.delete(ref.storeKey, keys, { versions, ...context }).then(() => undefined),
    );
    await deps.spaces.write(tx, ref, streamId, writes, (versions) =>
      target.writer.upsert(
        ref.storeKey,
        writes.map((w) => ({
          id: w.key,
          vector: w.vector,
          payload: itemPayload({
            streamId,
            text: w.text,
            metadata: w.metadata,
            groupId: w.groupId,
            members: w.members,
          }),
        })),
        { versions, ...context },
      ),
    );
    return writes.length + remove.length;
  });
  deps.metrics.kindStateUpdates.inc({ kind: update.kind }, count);
  deps.metrics.kindUpdateDuration.observe(
    { kind: update.kind },
    Number(process.hrtime.bigint() - started) / 1e9,
  );
}
