import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import {
  requestedStreamSettings,
  streamSettings,
  type CreateStream,
  type StreamView,
} from '@tributary/contracts';
import type { TenantPrincipal } from '../auth/authenticated-request';
import { EngineService } from '../embeddings/engine.service';
import { servingPointsVersion, StreamRepository, type StreamWithCollection } from '@tributary/db';
import { VectorStoreService } from '../collections/vector-store.service';
import { newWebhookSecret, signatureScheme } from './webhook-signature';

/** The vector store's name for a tenant's collection: tenant id, name and model, never chosen by a tenant. */
export function collectionStoreKey(tenantId: string, name: string, model: string): string {
  return `t-${tenantId}--${name}--${model.replace(/@/g, '-').replace(/[^a-z0-9-]/g, '_')}`;
}

export function streamView(stream: StreamWithCollection, searchable: number): StreamView {
  const accepted = Number(stream.acceptedCount);
  const embedded = Number(stream.embeddedCount);
  const failed = Number(stream.failedCount);
  return {
    id: stream.id,
    name: stream.name,
    kind: stream.kind,
    model: stream.model,
    collection: stream.collection.name,
    settings: streamSettings(stream.kind, stream.settings),
    counters: { accepted, embedded, searchable, failed, lag: Math.max(0, accepted - embedded - failed) },
    createdAt: stream.createdAt.toISOString(),
  };
}

@Injectable()
export class StreamsService {
  /** Per stream, the most items reported searchable so far (a lower bound while writes are applied). */
  private readonly searchableSeen = new Map<string, number>();

  constructor(
    private readonly streams: StreamRepository,
    private readonly engines: EngineService,
    private readonly vectors: VectorStoreService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async create(principal: TenantPrincipal, input: CreateStream) {
    const model = input.model ?? principal.tenant.defaultModel;
    const served = this.engines.servedModel(model);
    const collection = input.collection ?? input.name;
    const webhookSecret = newWebhookSecret();
    const stream = await this.streams.create(principal.tenant.id, {
      name: input.name,
      kind: input.kind,
      settings: requestedStreamSettings(input),
      model,
      collection,
      dimensions: served.dimensions,
      storeKey: collectionStoreKey(principal.tenant.id, collection, model),
      webhookSecret,
    });
    return {
      ...streamView(stream, 0),
      webhook: { url: `/v1/hooks/${stream.id}`, secret: webhookSecret, signature: this.signatureScheme },
    };
  }

  /**
   * A new webhook secret for the stream, shown once; the one it replaces stays valid for
   * `overlapSeconds` (default WEBHOOK_SECRET_OVERLAP_SECONDS) so senders can switch without a gap.
   */
  async rotateWebhookSecret(principal: TenantPrincipal, streamId: string, overlapSeconds?: number) {
    const secret = newWebhookSecret();
    const { previousUntil } = await this.streams.rotateWebhookSecret(
      principal.tenant.id,
      streamId,
      secret,
      overlapSeconds ?? this.config.WEBHOOK_SECRET_OVERLAP_SECONDS,
    );
    return {
      webhook: { url: `/v1/hooks/${streamId}`, secret, signature: this.signatureScheme },
      previousSecretValidUntil: previousUntil?.toISOString() ?? null,
    };
  }

  async list(principal: TenantPrincipal) {
    const streams = await this.streams.list(principal.tenant.id);
    return { data: streams.map((s) => streamView(s, this.searchable(s))) };
  }

  async get(principal: TenantPrincipal, streamId: string) {
    const stream = await this.streams.get(principal.tenant.id, streamId);
    return streamView(stream, this.searchable(stream));
  }

  /**
   * How many of the stream's embedded items search finds here. The counters are bumped after an
   * item's write took its collection version, and the collection is read with or after them, so
   * once this process's store reflects that version every item they count is searchable. Until
   * then, what was reported before (items only leave by deletion, hence the cap).
   */
  private searchable(stream: StreamWithCollection): number {
    const embedded = Number(stream.embeddedCount);
    const seen = this.searchableSeen.get(stream.id) ?? 0;
    const searchable = this.vectors.searchableAt(stream.collection.storeKey, servingPointsVersion(stream))
      ? embedded
      : Math.min(seen, embedded);
    if (searchable !== seen) {
      if (this.searchableSeen.size >= 100_000) this.searchableSeen.clear();
      this.searchableSeen.set(stream.id, searchable);
    }
    return searchable;
  }

  /** How to sign this stream's webhooks, with this deployment's tolerance. */
  private get signatureScheme(): string {
    return signatureScheme(this.config.WEBHOOK_TOLERANCE_SECONDS);
  }
}
