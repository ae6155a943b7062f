import { Injectable } from '@nestjs/common';
import { NotFoundError, UnavailableError, ValidationError, type SearchRequest } from '@tributary/contracts';
import { CollectionRepository } from '@tributary/db';
import { fromPayload, metadataFilter, VectorStoreError } from '@tributary/vector-store';
import type { TenantPrincipal } from '../auth/authenticated-request';
import { EmbeddingsService } from '../embeddings/embeddings.service';
import { EngineService } from '../embeddings/engine.service';
import { MetricsService } from '../metrics/metrics.service';
import { VectorStoreService } from './vector-store.service';

/**
 * A tenant's collections: listing, similarity search and deleting points. The tenant names a
 * collection; the store is addressed only by the key kept with it, so one tenant can never reach
 * another's vectors.
 */
@Injectable()
export class CollectionsService {
  constructor(
    private readonly collections: CollectionRepository,
    private readonly vectors: VectorStoreService,
    private readonly engines: EngineService,
    private readonly embeddings: EmbeddingsService,
    private readonly metrics: MetricsService,
  ) {}

  async list(principal: TenantPrincipal) {
    const collections = await this.collections.list(principal.tenant.id);
    const data = await Promise.all(
      collections.map(async (c) => ({
        name: c.name,
        model: c.model,
        dimensions: c.dimensions,
        points: (await this.vectors.store.info(c.storeKey))?.count ?? 0,
        createdAt: c.createdAt.toISOString(),
      })),
    );
    return { data };
  }

  async search(principal: TenantPrincipal, name: string, request: SearchRequest) {
    const collection = await this.collections.byName(principal.tenant.id, name);
    let vector: Float32Array;
    if (typeof request.query === 'string') {
      vector = await this.embedQuery(principal.tenant.id, collection.model, request.query);
    } else {
      if (request.query.length !== collection.dimensions) {
        throw new ValidationError(
          `Collection ${name} holds ${collection.dimensions}-dimensional vectors; the query has ${request.query.length}`,
          [{ path: 'query', message: `must have ${collection.dimensions} numbers` }],
        );
      }
      vector = Float32Array.from(request.query);
    }
    const store = this.vectors.store;
    const started = process.hrtime.bigint();
    let hits;
    try {
      hits = await store.search(collection.storeKey, {
        vector,
        k: request.k,
        ...(request.filter ? { filter: metadataFilter(request.filter) } : {}),
      });
    } catch (err) {
      // Nothing indexed yet (the store creates a collection with its first point): no hits. One
      // call rather than asking first: the embedded store answers from its thread.
      if (err instanceof VectorStoreError && err.code === 'unknown_collection') return { data: [] };
      throw searchRefusal(err);
    }
    this.metrics.searchDuration.observe(
      { store: store.kind },
      Number(process.hrtime.bigint() - started) / 1e9,
    );
    return { data: hits.map((h) => ({ id: h.id, score: h.score, ...fromPayload(h.payload) })) };
  }

  /** A text query embedded with the collection's model, through the one embed path (cache included). */
  private async embedQuery(tenantId: string, model: string, text: string): Promise<Float32Array> {
    if (!this.engines.engine.model(model))
      throw new ValidationError(`Model ${model} of this collection is not served here`, []);
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
      (versions) =>
        this.vectors.writer.delete(collection.storeKey, [itemId], { versions }).catch((err: unknown) => {
          if (!(err instanceof VectorStoreError && err.code === 'unknown_collection')) throw err;
        }),
    );
    if (deleted.length === 0) throw new NotFoundError('Item', itemId);
  }
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
