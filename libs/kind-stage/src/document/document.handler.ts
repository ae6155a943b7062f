import type { EffectiveSettings } from '@tributary/contracts';
import type { Membership, SpaceRepository } from '@tributary/db';
import type { Metrics } from '@tributary/observability';
import { attentionPool } from '@tributary/stream-kinds';
import { updateGroups } from '../group-update';
import type { KindHandler, StageStream, StageTarget } from '../kind-handler';

/**
 * Document streams: sentences arrive one by one (each keeps its own vector, the collection's); the
 * document's vector in the `documents` space is the attention pooling of all its stored sentence
 * vectors, `normalize(Σ_i softmax_i(e_i · m / τ) · e_i)` with `m = normalize(Σ_i e_i)`, recomputed
 * from PostgreSQL whenever sentences of it are written or deleted (the gist `m` moves with every
 * sentence, so every weight does). Arrival order does not change the result; a document whose
 * last sentence went has no vector.
 */
export class DocumentHandler implements KindHandler {
  readonly kind = 'document';
  readonly derives = true;
  readonly space = 'documents' as const;

  constructor(
    private readonly spaces: SpaceRepository,
    private readonly metrics: Metrics,
  ) {}

  afterChange(target: StageTarget, stream: StageStream, changed: Membership[]): Promise<void> {
    const { temperature } = stream.settings as EffectiveSettings<'document'>;
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
            [...changed.keys()].map((groupId) => ({ groupId })),
          ),
        derive: (groupId, members) =>
          members.length === 0
            ? { writes: [], remove: [groupId] }
            : {
                writes: [
                  {
                    key: groupId,
                    groupId,
                    vector: attentionPool(
                      members.map((m) => m.vector),
                      temperature,
                    ),
                    members: members.length,
                    text: '',
                    metadata: null,
                  },
                ],
              },
      },
      target,
      stream.id,
      changed,
    );
  }
}
