import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import { ItemStore, PrismaService } from '@tributary/db';
import { Metrics } from '@tributary/observability';
import { embedJobsFor, EmbedQueueProducers, type JobHandler } from '@tributary/queue';

const PAGE = 1000;

/**
 * Finds accepted items whose queue job is gone and enqueues them again. Redis acknowledges a job
 * before it reaches the disk (AOF `everysec`), and a failover to a replica that had not seen it
 * loses it; PostgreSQL still holds the item as queued. An item counts as orphaned only when its
 * model's queue is empty (no job waiting, delayed or active: a backlog is not a loss) and it
 * was put on the queue more than ORPHANED_AFTER_MS ago. Re-running an item is harmless: workers
 * write the same row and point and count it once.
 */
@Injectable()
export class RequeueOrphanedItemsHandler
  implements JobHandler<'RequeueOrphanedItems'>, OnApplicationShutdown
{
  readonly job = 'RequeueOrphanedItems' as const;
  private readonly logger = new Logger('RequeueOrphanedItems');
  private readonly items: ItemStore;
  private readonly queues: EmbedQueueProducers;

  constructor(
    prisma: PrismaService,
    private readonly metrics: Metrics,
    @Inject(CONFIG) private readonly config: Config,
  ) {
    this.items = new ItemStore(prisma.sql);
    this.queues = new EmbedQueueProducers(config, 'worker:requeue');
  }

  async handle(): Promise<{ requeued: number }> {
    const sweep = Date.now();
    const idle = new Map<string, boolean>();
    let requeued = 0;
    for (const stream of await this.items.streamsWithLag()) {
      if (!idle.has(stream.model)) idle.set(stream.model, (await this.queues.depth(stream.model)) === 0);
      if (!idle.get(stream.model)) continue;
      let after: string | undefined;
      for (;;) {
        const page = await this.items.queuedBefore(stream.id, this.config.ORPHANED_AFTER_MS, PAGE, after);
        if (page.length === 0) break;
        // A new job id: the lost job's id may still be known to BullMQ (kept as failed, say).
        const jobs = embedJobsFor(
          stream,
          page.map((item) => ({ ...item, acceptedAt: item.acceptedAt.getTime() })),
          `.r${sweep}`,
        );
        await this.queues.for(stream.model).addBulk(jobs);
        requeued += page.length;
        this.metrics.itemsRequeued.inc({ model: stream.model }, page.length);
        this.logger.warn(`stream ${stream.id}: enqueued again ${page.length} items whose job was lost`);
        if (page.length < PAGE) break;
        after = page[page.length - 1]!.id;
      }
    }
    return { requeued };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.queues.close();
  }
}
