import { Injectable } from '@nestjs/common';
import { streamSettings, type StreamKind } from '@tributary/contracts';
import { SpaceRepository, type DerivedSpace } from '@tributary/db';
import { Metrics } from '@tributary/observability';
import { ConversationHandler } from './conversation/conversation.handler';
import { DocumentHandler } from './document/document.handler';
import type { KindHandler, StageStream, StageTarget } from './kind-handler';
import { TextHandler } from './text/text.handler';

/** How long the stage trusts a stream's kind and settings (both fixed once the stream exists). */
const STREAM_CACHE_MS = 60_000;

/**
 * The stream kinds' stage, between "vectors computed and written" and "done": the one place
 * stream semantics live. Every writer of item vectors by a version (the item embedder's own and
 * dual writes, a rollout's backfill) calls {@link afterChange} with what it wrote, and the API's
 * delete with what it deleted; each stream's items go to its kind's handler, which derives its
 * state from the stored vectors and indexes it.
 * `text` is the identity (`sensor` too, until its encoder lands: no handler). A new kind is a
 * folder here with its handler, listed in the constructor.
 */
@Injectable()
export class KindStage {
  private readonly handlers: Map<string, KindHandler>;
  private readonly streams = new Map<string, { stream: StageStream; expires: number }>();

  constructor(
    private readonly spaces: SpaceRepository,
    private readonly metrics: Metrics,
  ) {
    this.handlers = new Map(
      [new TextHandler(), new ConversationHandler(spaces, metrics), new DocumentHandler(spaces, metrics)].map(
        (h) => [h.kind, h],
      ),
    );
  }

  /**
   * After items' vectors by `target.version` were written and their points published, or after
   * items were deleted (from every version: call it once per live version).
   */
  async afterChange(target: StageTarget, items: { streamId: string; itemId: string }[]): Promise<void> {
    if (items.length === 0) return;
    const streams = await this.streamsOf(target.tenantId, [...new Set(items.map((i) => i.streamId))]);
    const byStream = new Map<string, { streamId: string; itemId: string }[]>();
    for (const item of items) {
      let group = byStream.get(item.streamId);
      if (!group) byStream.set(item.streamId, (group = []));
      group.push(item);
    }
    for (const [streamId, written] of byStream) {
      const stream = streams.get(streamId);
      if (!stream) continue;
      this.metrics.kindItems.inc({ kind: stream.kind }, written.length);
      const handler = this.handlers.get(stream.kind);
      // A kind that derives nothing (text) costs no query.
      if (!handler?.derives) continue;
      const memberships = await this.spaces.memberships(target.tenantId, written);
      await handler.afterChange(target, stream, memberships);
    }
  }

  /** The stream kind whose derived vectors a search space holds. */
  kindOf(space: DerivedSpace): string {
    const handler = [...this.handlers.values()].find((h) => h.space === space);
    if (!handler) throw new Error(`no stream kind derives the ${space} space`);
    return handler.kind;
  }

  /** Whether any of these items' streams derives state from its items (a kind with a handler that does). */
  async derivesFrom(tenantId: string, items: { streamId: string }[]): Promise<boolean> {
    const streams = await this.streamsOf(tenantId, [...new Set(items.map((i) => i.streamId))]);
    return [...streams.values()].some((s) => this.handlers.get(s.kind)?.derives === true);
  }

  private async streamsOf(tenantId: string, ids: string[]): Promise<Map<string, StageStream>> {
    const found = new Map<string, StageStream>();
    const missing: string[] = [];
    const now = Date.now();
    for (const id of ids) {
      const cached = this.streams.get(`${tenantId}\u0000${id}`);
      if (cached && cached.expires > now) found.set(id, cached.stream);
      else missing.push(id);
    }
    for (const row of await this.spaces.streamKinds(tenantId, missing)) {
      const stream: StageStream = {
        id: row.id,
        kind: row.kind,
        settings: streamSettings(row.kind as StreamKind, row.settings),
      };
      if (this.streams.size >= 10_000) this.streams.clear();
      this.streams.set(`${tenantId}\u0000${row.id}`, { stream, expires: now + STREAM_CACHE_MS });
      found.set(row.id, stream);
    }
    return found;
  }
}
