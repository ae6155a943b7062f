import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ConflictError, NotFoundError } from '@tributary/contracts';
import type { Collection, CollectionVersion, Stream } from '../generated/prisma/client';
import { PrismaService } from '../prisma.service';
import { SecretBox } from '../secret-box';
import { webhookSecretContext } from '../stored-secrets';
import { isUniqueViolation } from '../unique-violation';
import { CollectionRepository } from './collection.repository';

/**
 * A stream with its collection and the collection's live versions (serving, a rollout's candidate,
 * a promotion's retained previous): ingest writes to each, and the serving one's points' version
 * is what `searchable` compares with.
 */
export type StreamWithCollection = Stream & { collection: Collection & { versions: CollectionVersion[] } };

/** Prisma's include of a stream's collection with its live versions. */
const withCollection = {
  collection: { include: { versions: { where: { retiredAt: null }, orderBy: { createdAt: 'asc' } } } },
} as const;

/** The serving version's points' version of a stream's collection (0 before it has one). */
export function servingPointsVersion(stream: StreamWithCollection): bigint {
  return stream.collection.versions.find((v) => v.storeKey === stream.collection.storeKey)?.version ?? 0n;
}

/**
 * Streams, always scoped to one tenant: another tenant's id is simply not found (the webhook's
 * lookup, which has no tenant yet, is the one exception and says so). Webhook secrets go in and
 * come out in plain text here and are stored encrypted ({@link SecretBox}, bound to the stream's
 * id); nothing else reads or writes those columns.
 */
@Injectable()
export class StreamRepository {
  constructor(
    private readonly prisma: PrismaService,
    private readonly secrets: SecretBox,
    private readonly collections: CollectionRepository,
  ) {}

  /**
   * Creates a stream and, when missing, its collection, in one transaction. A collection that
   * exists with another model is a conflict (its vectors would not be comparable).
   */
  async create(
    tenantId: string,
    input: {
      name: string;
      kind: Stream['kind'];
      /** The settings the creator set (default none; the defaults are filled in when read). */
      settings?: Record<string, string | number>;
      model: string;
      collection: string;
      dimensions: number;
      storeKey: string;
      webhookSecret: string;
    },
  ): Promise<StreamWithCollection> {
    try {
      return await this.prisma.$transaction(async (tx) => {
        const collection = await this.collections.findOrCreate(tx, tenantId, {
          name: input.collection,
          model: input.model,
          dimensions: input.dimensions,
          storeKey: input.storeKey,
        });
        const id = randomUUID();
        const stream = await tx.stream.create({
          data: {
            id,
            tenantId,
            name: input.name,
            kind: input.kind,
            settings: input.settings ?? {},
            model: input.model,
            collectionId: collection.id,
            webhookSecret: this.secrets.encrypt(input.webhookSecret, webhookSecretContext(id)),
          },
        });
        return { ...stream, collection };
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`A stream named "${input.name}" already exists`);
      throw err;
    }
  }

  /**
   * The tenant's streams with their collections. The collection is read with the stream or after
   * it (Prisma's include), so its version covers every write the stream's counters count: what
   * `searchable` in a stream's status relies on (the same holds for {@link get}).
   */
  list(tenantId: string): Promise<StreamWithCollection[]> {
    return this.prisma.stream.findMany({
      where: { tenantId },
      include: withCollection,
      orderBy: { createdAt: 'asc' },
    });
  }

  async get(tenantId: string, streamId: string): Promise<StreamWithCollection> {
    const stream = await this.prisma.stream.findFirst({
      where: { id: streamId, tenantId },
      include: withCollection,
    });
    if (!stream) throw new NotFoundError('Stream', streamId);
    return stream;
  }

  /**
   * For the webhook, which authenticates by the stream's own secret (no tenant to scope by yet): the
   * stream and the secrets a signature may use now, the current one first, then the one a rotation
   * replaced while its overlap lasts. Throws when a stored secret cannot be decrypted (a key missing
   * from the configuration).
   */
  async findForWebhook(
    streamId: string,
  ): Promise<{ stream: StreamWithCollection; secrets: string[] } | null> {
    const stream = await this.prisma.stream.findUnique({
      where: { id: streamId },
      include: withCollection,
    });
    if (!stream) return null;
    const context = webhookSecretContext(stream.id);
    const secrets = [this.secrets.decrypt(stream.webhookSecret, context)];
    const until = stream.webhookSecretPreviousUntil;
    if (stream.webhookSecretPrevious && until && until.getTime() > Date.now()) {
      secrets.push(this.secrets.decrypt(stream.webhookSecretPrevious, context));
    }
    return { stream, secrets };
  }

  /**
   * Makes `secret` the stream's webhook secret. With an overlap, the one it replaces stays valid
   * until then (an older one still in its overlap is dropped: two at most); with 0, at once not.
   * Two rotations at the same moment: one wins, the other is a conflict (its secret was never valid).
   */
  async rotateWebhookSecret(
    tenantId: string,
    streamId: string,
    secret: string,
    overlapSeconds: number,
  ): Promise<{ previousUntil: Date | null }> {
    const stream = await this.prisma.stream.findFirst({
      where: { id: streamId, tenantId },
      select: { id: true, webhookSecret: true },
    });
    if (!stream) throw new NotFoundError('Stream', streamId);
    const previousUntil = overlapSeconds > 0 ? new Date(Date.now() + overlapSeconds * 1000) : null;
    const { count } = await this.prisma.stream.updateMany({
      where: { id: stream.id, tenantId, webhookSecret: stream.webhookSecret },
      data: {
        webhookSecret: this.secrets.encrypt(secret, webhookSecretContext(stream.id)),
        webhookSecretPrevious: previousUntil ? stream.webhookSecret : null,
        webhookSecretPreviousUntil: previousUntil,
      },
    });
    if (count === 0)
      throw new ConflictError('The webhook secret was rotated at the same moment; rotate again');
    return { previousUntil };
  }
}
