import { Injectable, Logger } from '@nestjs/common';
import {
  NotFoundError,
  UnavailableError,
  ValidationError,
  type SearchRequest,
  type SearchSpace,
} from '@tributary/contracts';
import {
  CollectionRepository,
  RolloutRepository,
  SpaceRepository,
  spaceStoreKey,
  type DerivedSpace,
} from '@tributary/db';
import {
  fromPayload,
  groupFromPayload,
  metadataFilter,
  VectorStoreError,
  type SearchHit,
} from '@tributary/vector-store';
import { KindStage } from '@tributary/kind-stage';
import type { TenantPrincipal } from '../auth/authenticated-request';
import { EmbeddingsService } from '../embeddings/embeddings.service';
import { EngineService } from '../embeddings/engine.service';
import { MetricsService } from '../metrics/metrics.service';
import { RolloutComparator } from '../rollouts/rollout-comparator.service';
import { rolloutView } from '../rollouts/rollout.view';
import { routeSearch, type SearchRoute } from '../rollouts/search-routing';
import { VectorStoreService } from './vector-store.service';

/**
 * A tenant's collections: listing, similarity search and deleting points. The tenant names a
 * collection; the store is addressed only by the key kept with it, so one tenant can never reach
 * another's vectors.
 */
@Injectable()
export class CollectionsService {
  private readonly logger = new Logger('Collections');

  constructor(
    private readonly collections: CollectionRepository,
    private readonly vectors: VectorStoreService,
    private readonly engines: EngineService,
    private readonly embeddings: EmbeddingsService,
    private readonly metrics: MetricsService,
    private readonly rollouts: RolloutRepository,
    private readonly comparator: RolloutComparator,
    private readonly spaces: SpaceRepository,
    private readonly stage: KindStage,
  ) {}

  async list(principal: TenantPrincipal) {
    const [collections, active] = await Promise.all([
      this.collections.list(principal.tenant.id),
      this.rollouts.activeByCollection(principal.tenant.id),
    ]);
    const data = await Promise.all(
      collections.map(async (c) => {
        const rollout = active.get(c.id);
        return {
          name: c.name,
          model: c.model,
          servingModel: c.model,
          dimensions: c.dimensions,
          points: (await this.vectors.store.info(c.storeKey))?.count ?? 0,
          rollout: rollout ? rolloutView(rollout) : null,
          createdAt: c.createdAt.toISOString(),
        };
      }),
    );
    return { data };
  }

  /**
   * Searches the collection in the version the route picks (the serving one, or a canary's
   * candidate for its share of searches; `routeKey` makes the pick sticky) and says which answered.
   * In shadow mode the candidate runs the same search after the answer is ready; both answers are
   * compared and recorded, and the caller gets the serving version's.
   */
  async search(principal: TenantPrincipal, name: string, request: SearchRequest, routeKey?: string) {
    const collection = await this.collections.byName(principal.tenant.id, name);
    const space = request.space ?? 'items';
    if (space !== 'items') await this.checkSpace(principal.tenant.id, collection.id, name, space);
    const route = routeSearch(
      collection,
      routeKey,
      Math.random,
      typeof request.query === 'string' ? undefined : request.query.length,
    );
    const started = process.hrtime.bigint();
    const hits = await this.searchVersion(principal.tenant.id, name, inSpace(route.answer, space), request);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    this.metrics.searchesByVersion.inc({ model: route.answer.model, route: route.route });
    if (route.shadow) this.shadow(principal.tenant.id, name, inSpace(route.shadow, space), request, hits, ms);
    return { model: route.answer.model, data: hits.map((h) => searchHit(h, space)) };
  }

  /** A derived space is searched only in a collection a stream of its kind feeds (422 otherwise). */
  private async checkSpace(tenantId: string, collectionId: string, name: string, space: DerivedSpace) {
    const kind = this.stage.kindOf(space);
    const kinds = await this.spaces.collectionKinds(tenantId, collectionId);
    if (!kinds.includes(kind)) {
      const message =
        `Collection ${name} has no ${kind} stream, so it has no \`${space}\` space ` +
        `(its streams are ${kinds.join(', ') || 'none'}); search \`items\` instead`;
      throw new ValidationError(message, [{ path: 'space', message }]);
    }
  }

  /** The candidate's search of a shadow rollout, off the request's path; a failure is only logged. */
  private shadow(
    tenantId: string,
    name: string,
    candidate: NonNullable<SearchRoute['shadow']>,
    request: SearchRequest,
    served: SearchHit[],
    servedMs: number,
  ): void {
    const started = process.hrtime.bigint();
    void this.searchVersion(tenantId, name, candidate, request)
      .then(async (hits) => {
        this.metrics.searchesByVersion.inc({ model: candidate.model, route: 'shadow' });
        await this.comparator.recordShadow(
          candidate.rolloutId,
          { ids: served.map((h) => h.id), ms: servedMs },
          { ids: hits.map((h) => h.id), ms: Number(process.hrtime.bigint() - started) / 1e6 },
        );
      })
      .catch((err: Error) =>
        this.logger.warn(`shadow search of rollout ${candidate.rolloutId}: ${err.message}`),
      );
  }

  /** One search in one version's index: the query embedded by its model, or a vector of its dimensions. */
  private async searchVersion(
    tenantId: string,
    name: string,
    version: SearchRoute['answer'],
    request: SearchRequest,
  ): Promise<SearchHit[]> {
    let vector: Float32Array;
    if (typeof request.query === 'string') {
      vector = await this.embedQuery(tenantId, version.model, request.query);
    } else {
      if (request.query.length !== version.dimensions) {
        throw new ValidationError(
          `Collection ${name} holds ${version.dimensions}-dimensional vectors; the query has ${request.query.length}`,
          [{ path: 'query', message: `must have ${version.dimensions} numbers` }],
        );
      }
      vector = Float32Array.from(request.query);
    }
    const store = this.vectors.store;
    const started = process.hrtime.bigint();
    try {
      const hits = await store.search(version.storeKey, {
        vector,
        k: request.k,
        ...(request.filter ? { filter: metadataFilter(request.filter) } : {}),
      });
      this.metrics.searchDuration.observe(
        { store: store.kind },
        Number(process.hrtime.bigint() - started) / 1e9,
      );
      return hits;
    } catch (err) {
      // Nothing indexed yet (the store creates a collection with its first point): no hits. One
      // call rather than asking first: the embedded store answers from its thread.
      if (err instanceof VectorStoreError && err.code === 'unknown_collection') return [];
      throw searchRefusal(err);
    }
  }

  /** A text query embedded with the collection's model, through the one embed path (cache included). */
  private async embedQuery(tenantId: string, model: string, text: string): Promise<Float32Array> {
    this.engines.servedModel(model, `Model ${model} of this collection`);
    const { vectors } = await this.embeddings.embed(tenantId, model, 'query', [text]);
    return vectors[0]!;
  }

  /** Deletes one item's point (and marks the stored item deleted); 404 when the collection has no such item. */
  async deleteItem(principal: TenantPrincipal, name: string, itemId: string): Promise<void> {
    const collection = await this.collections.byName(principal.tenant.id, name);
    // The point goes with the item's row, in its transaction (and, through the index log, in
    // version order with the workers' upserts); a store that never held the collection has no point.
    const deleted = await this.collections.deleteFromCollection(
      principal.tenant.id,
      collection.id,
      itemId,
      // From every live version: the serving one, a rollout's candidate, a retained previous one.
      async (versions, storeKeys) => {
        for (const storeKey of storeKeys) {
          await this.vectors.writer.delete(storeKey, [itemId], { versions }).catch((err: unknown) => {
            if (!(err instanceof VectorStoreError && err.code === 'unknown_collection')) throw err;
          });
        }
      },
    );
    if (deleted.length === 0) throw new NotFoundError('Item', itemId);
    // What the stream's kind derived from it (a conversation's contexts, a document's vector) is
    // recomputed from the vectors left, in every live version, before the answer.
    const items = deleted.map((d) => ({ streamId: d.streamId, itemId }));
    if (!(await this.stage.derivesFrom(principal.tenant.id, items))) return;
    for (const version of await this.collections.liveVersions(principal.tenant.id, collection.id)) {
      await this.stage.afterChange(
        {
          tenantId: principal.tenant.id,
          version: { id: version.id, storeKey: version.storeKey, dimensions: version.dimensions },
          writer: this.vectors.writer,
        },
        items,
      );
    }
  }
}

/** A version as searched in one of its spaces (a derived space has its own index). */
function inSpace<V extends { storeKey: string }>(version: V, space: SearchSpace): V {
  return space === 'items' ? version : { ...version, storeKey: spaceStoreKey(version.storeKey, space) };
}

/** A hit as the caller gets it: the item's text and metadata, and what a derived space adds. */
function searchHit(hit: SearchHit, space: SearchSpace) {
  const { groupId, members } = groupFromPayload(hit.payload);
  const base = { id: hit.id, score: hit.score, ...fromPayload(hit.payload) };
  if (space === 'context') return { ...base, conversationId: groupId, messages: members };
  if (space === 'documents') return { ...base, sentences: members };
  return base;
}

/**
 * What a vector store's refusal means to the caller: the request's own fault is a 422 with the
 * store's message (it names the query's problem, nothing internal), a store shutting down a 503.
 * Anything else stays an internal error.
 */
function searchRefusal(err: unknown): unknown {
  if (!(err instanceof VectorStoreError)) return err;
  switch (err.code) {
    case 'invalid_argument':
    case 'dimension_mismatch':
      return new ValidationError(err.message, [{ path: 'query', message: err.message }]);
    case 'closed':
      return new UnavailableError('Search is unavailable while the service restarts; retry shortly', 1);
    case 'unknown_collection': // answered with no hits by the caller
    default:
      return err;
  }
}
