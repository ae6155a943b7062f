import type { EffectiveSettings } from '@tributary/contracts';
import type { GroupMember, Membership, SpaceRepository } from '@tributary/db';
import type { Metrics } from '@tributary/observability';
import { affectedPositions, contextVector } from '@tributary/stream-kinds';
import { updateGroups } from '../group-update';
import type { KindHandler, StageStream, StageTarget } from '../kind-handler';

/**
 * Conversation streams: each message keeps its own vector (the collection's) and gets a context
 * vector in the `context` space over the last `contextWindow` messages of its conversation, itself
 * included: `normalize(Σ_{j<W} decay^j · e_{n-j})`. The order is the messages' `sequence`, then
 * id; only messages with a vector by the version count (one not embedded yet joins, and moves the
 * windows after it, when it is). A message written or deleted (late or not) changes exactly the
 * contexts of the messages from it to W−1 after it, so those are recomputed from the stored
 * vectors, reading the W−1 before them too; a deleted message's own context goes.
 */
export class ConversationHandler implements KindHandler {
  readonly kind = 'conversation';
  readonly derives = true;
  readonly space = 'context' as const;

  constructor(
    private readonly spaces: SpaceRepository,
    private readonly metrics: Metrics,
  ) {}

  afterChange(target: StageTarget, stream: StageStream, changed: Membership[]): Promise<void> {
    const { contextWindow: window, decay } = stream.settings as EffectiveSettings<'conversation'>;
    return updateGroups(
      { spaces: this.spaces, metrics: this.metrics },
      {
        kind: this.kind,
        space: this.space,
        read: (tx, changed) =>
          this.spaces.members(
            tx,
            target.tenantId,
            target.version.id,
            stream.id,
            [...changed].map(([groupId, inGroup]) => ({
              groupId,
              fromSequence: Math.min(...inGroup.map((c) => c.sequence ?? 0)),
            })),
            { before: window - 1, texts: true },
          ),
        derive: (groupId, members, inGroup) => {
          const writes = [...affectedMembers(members, inGroup, window)].map((at) => {
            const member = members[at]!;
            const from = Math.max(0, at - window + 1);
            return {
              key: member.id,
              groupId,
              vector: contextVector(
                members.slice(from, at + 1).map((m) => m.vector),
                decay,
              ),
              members: at + 1 - from,
              text: member.text,
              metadata: member.metadata,
            };
          });
          const present = new Set(members.map((m) => m.id));
          return {
            writes,
            // A changed message that is not among the members was deleted (or never embedded by
            // this version): no context of its own.
            remove: inGroup.filter((c) => !present.has(c.itemId)).map((c) => c.itemId),
          };
        },
      },
      target,
      stream.id,
      changed,
    );
  }
}

/**
 * Positions (in `members`, in conversation order) whose contexts include a changed message
 * (`affectedPositions`): a written one where it is now; a deleted one where it was, which is among
 * the members at its sequence or just after them (each such slot counted when several messages
 * share a sequence: a context or two more, recomputed to the same result). The members read before
 * the earliest changed sequence serve as context only.
 */
export function affectedMembers(
  members: readonly Pick<GroupMember, 'id' | 'sequence'>[],
  changed: readonly Pick<Membership, 'itemId' | 'sequence'>[],
  window: number,
): Set<number> {
  const positions = new Set<number>();
  const add = (position: number, change: 'insert' | 'delete') => {
    const { from, to } = affectedPositions(position, window, members.length, change);
    for (let at = from; at <= to; at += 1) positions.add(at);
  };
  const at = new Map(members.map((m, i) => [m.id, i]));
  for (const item of changed) {
    const present = at.get(item.itemId);
    if (present !== undefined) {
      add(present, 'insert');
      continue;
    }
    const sequence = item.sequence ?? 0;
    let slot = members.findIndex((m) => m.sequence >= sequence);
    if (slot < 0) slot = members.length;
    for (;;) {
      add(slot, 'delete');
      if (slot >= members.length || members[slot]!.sequence !== sequence) break;
      slot += 1;
    }
  }
  return positions;
}
